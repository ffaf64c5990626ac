/**
 * Table file formats, chosen by a path's extension: Parquet (`.parquet`,
 * `.pq`), Arrow IPC (`.arrow`, `.feather`, `.ipc`), CSV (`.csv`), JSON
 * (`.json`, an array of rows) and NDJSON (`.ndjson`, `.jsonl`).
 *
 * @module
 */
import { type Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";
import { formatCsv, parseCsv } from "./csv.ts";
import { formatJson, formatNdjson, parseJson, parseNdjson } from "./json.ts";
import { type ParquetCompression, readParquet, writeParquet } from "./parquet.ts";

/** Options for writing a table; a format uses those that apply to it. */
export interface EncodeOptions {
  /** Parquet's compression codec. @default {"zstd"} */
  compression?: ParquetCompression;
}

/** Turns bytes into a table and back for one format. */
export interface TableFormat {
  /** The format's name. */
  readonly name: string;
  /** File extensions, lower-case, without the dot. */
  readonly extensions: readonly string[];
  /** Bytes to a table; throws a GlacierError naming `uri` on bad input. */
  decode(bytes: Uint8Array, uri: string): Table | Promise<Table>;
  /** A table to bytes. */
  encode(table: Table, uri: string, options?: EncodeOptions): Uint8Array | Promise<Uint8Array>;
}

const formats = new Map<string, TableFormat>();

/**
 * Makes a format available by its extensions, replacing any format that
 * served them before.
 *
 * @param format The format.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatFor, registerFormat } from "./formats.ts";
 * import { Table } from "apache-arrow";
 * registerFormat({ name: "nothing", extensions: ["nothing"], decode: () => new Table(), encode: () => new Uint8Array() });
 * assert.ok(formatFor("x.nothing", "mem://x.nothing").name === "nothing");
 * ```
 */
export function registerFormat(format: TableFormat): void {
  for (const ext of format.extensions) formats.set(ext, format);
}

registerFormat({
  name: "parquet",
  extensions: ["parquet", "pq"],
  decode: (bytes, uri) => readParquet(bytes, uri),
  encode: (table, uri, options) => writeParquet(table, uri, { compression: options?.compression }),
});

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

registerFormat({
  name: "json",
  extensions: ["json"],
  decode: (bytes, uri) => parseJson(new TextDecoder().decode(bytes), uri),
  encode: (table) => new TextEncoder().encode(formatJson(table)),
});

registerFormat({
  name: "ndjson",
  extensions: ["ndjson", "jsonl"],
  decode: (bytes, uri) => parseNdjson(new TextDecoder().decode(bytes), uri),
  encode: (table) => new TextEncoder().encode(formatNdjson(table)),
});

/**
 * Whether a path's extension names a table format.
 *
 * @param path A key or file name.
 * @returns `true` when {@linkcode formatFor} would find a format.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasFormat } from "./formats.ts";
 * assert.ok(hasFormat("a/b.parquet") && !hasFormat("a/_SUCCESS"));
 * ```
 */
export function hasFormat(path: string): boolean {
  const ext = extension(path);
  return ext !== undefined && formats.has(ext);
}

function extension(path: string): string | undefined {
  return path.match(/\.([A-Za-z0-9]+)$/)?.[1]?.toLowerCase();
}

/**
 * The format for a path, by its extension.
 *
 * @param path A key or file name.
 * @param uri The full URI, for errors.
 * @returns The format.
 * @throws {GlacierError} When no format serves the extension, listing those that do.
 */
export function formatFor(path: string, uri: string): TableFormat {
  const ext = extension(path);
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
