/**
 * Table file formats, chosen by a path's extension: Arrow IPC (`.arrow`,
 * `.feather`) and CSV (`.csv`). Other formats are registered by the storage
 * layer that brings them.
 *
 * @module
 */
import { type Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";
import { formatCsv, parseCsv } from "./csv.ts";

/** Turns bytes into a table and back for one format. */
export interface TableFormat {
  /** The format's name. */
  readonly name: string;
  /** File extensions, lower-case, without the dot. */
  readonly extensions: readonly string[];
  /** Bytes to a table; throws a GlacierError naming `uri` on bad input. */
  decode(bytes: Uint8Array, uri: string): Table | Promise<Table>;
  /** A table to bytes. */
  encode(table: Table, uri: string): Uint8Array | Promise<Uint8Array>;
}

const formats = new Map<string, TableFormat>();

/** Makes a format available by its extensions. */
export function registerFormat(format: TableFormat): void {
  for (const ext of format.extensions) formats.set(ext, format);
}

registerFormat({
  name: "arrow",
  extensions: ["arrow", "feather", "ipc"],
  decode(bytes, uri) {
    try {
      return tableFromIPC(bytes);
    } catch (error) {
      throw new GlacierError("USER:FILE_CORRUPT", `Cannot read Arrow IPC ${uri}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  },
  encode: (table) => tableToIPC(table, "file"),
});

registerFormat({
  name: "csv",
  extensions: ["csv"],
  decode: (bytes, uri) => parseCsv(new TextDecoder().decode(bytes), uri),
  encode: (table) => new TextEncoder().encode(formatCsv(table)),
});

/**
 * The format for a path, by its extension.
 *
 * @throws {GlacierError} When no format serves the extension, listing those that do.
 */
export function formatFor(path: string, uri: string): TableFormat {
  const ext = path.match(/\.([A-Za-z0-9]+)$/)?.[1]?.toLowerCase();
  const format = ext ? formats.get(ext) : undefined;
  if (!format) {
    throw new GlacierError(
      "USER:FORMAT_UNKNOWN",
      `Cannot tell the table format of ${uri}${ext ? ` (".${ext}")` : ""}: use one of ${
        [...formats.keys()].map((e) => `.${e}`).join(", ")
      }, or read() the raw bytes`,
    );
  }
  return format;
}
