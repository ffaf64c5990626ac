/**
 * Table file formats, chosen by a path's extension: Parquet (`.parquet`,
 * `.pq`), Arrow IPC (`.arrow`, `.feather`, `.ipc`), CSV (`.csv`), JSON
 * (`.json`, an array of rows) and NDJSON (`.ndjson`, `.jsonl`).
 *
 * Each format loads its codec (and apache-arrow) with `import()` on first
 * use, so a run that reads no table file never evaluates them.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";
import { ipcWritable, loadArrow } from "./_arrow.ts";
import type { ParquetCompression } from "./parquet.ts";

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

/**
 * The table formats Glacier ships, in lookup order. A wiring's `formats`
 * (`defineWiring()` in `./extend`) starts from these; a format listed later
 * serves an extension in place of an earlier one.
 */
export const TABLE_FORMATS: readonly TableFormat[] = Object.freeze([
  {
    name: "parquet",
    extensions: ["parquet", "pq"],
    decode: async (bytes, uri) => (await import("./parquet.ts")).readParquet(bytes, uri),
    encode: async (table, uri, options) =>
      (await import("./parquet.ts")).writeParquet(table, uri, { compression: options?.compression }),
  },
  {
    name: "arrow",
    extensions: ["arrow", "feather", "ipc"],
    async decode(bytes, uri) {
      const { tableFromIPC } = await loadArrow();
      try {
        return tableFromIPC(bytes);
      } catch (error) {
        throw new GlacierError("USER:FILE_CORRUPT", `Cannot read Arrow IPC ${uri}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    },
    async encode(table) {
      const arrow = await loadArrow();
      return arrow.tableToIPC(ipcWritable(arrow, table, { file: true }), "file");
    },
  },
  {
    name: "csv",
    extensions: ["csv"],
    decode: async (bytes, uri) => (await import("./csv.ts")).parseCsv(textOf(bytes, uri, "CSV"), uri),
    encode: async (table) => new TextEncoder().encode((await import("./csv.ts")).formatCsv(table)),
  },
  {
    name: "json",
    extensions: ["json"],
    decode: async (bytes, uri) => (await import("./json.ts")).parseJson(textOf(bytes, uri, "JSON"), uri),
    encode: async (table) => new TextEncoder().encode((await import("./json.ts")).formatJson(table)),
  },
  {
    name: "ndjson",
    extensions: ["ndjson", "jsonl"],
    decode: async (bytes, uri) => (await import("./json.ts")).parseNdjson(textOf(bytes, uri, "NDJSON"), uri),
    encode: async (table) => new TextEncoder().encode((await import("./json.ts")).formatNdjson(table)),
  },
]);

/** The longest text V8 holds in one string (2^29 - 24 UTF-16 units): the text formats' `scanArrow()` limit. */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

// A text file as one string, or advice when it is too large to be one.
function textOf(bytes: Uint8Array, uri: string, format: string): string {
  if (bytes.byteLength > MAX_TEXT_BYTES) {
    throw new GlacierError(
      "USER:FILE_TOO_LARGE",
      `Cannot read ${format} ${uri} as an Arrow table: it is ${
        (bytes.byteLength / 2 ** 20).toFixed(0)
      } MiB, and scanArrow() reads a text file as one string of at most 512 MiB; use scan(), which polars streams (then .collect(), or select and filter first), or split the file`,
    );
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Whether a path's extension names a table format.
 *
 * @param path A key or file name.
 * @param formats The formats to choose from. @default {TABLE_FORMATS}
 * @returns `true` when {@linkcode formatFor} would find a format.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasFormat } from "./formats.ts";
 * assert.ok(hasFormat("a/b.parquet") && !hasFormat("a/_SUCCESS"));
 * ```
 */
export function hasFormat(path: string, formats: readonly TableFormat[] = TABLE_FORMATS): boolean {
  return byExtension(path, formats) !== undefined;
}

// The last format listed for the path's extension, so a later format replaces an earlier one.
function byExtension(path: string, formats: readonly TableFormat[]): TableFormat | undefined {
  const ext = extension(path);
  return ext === undefined ? undefined : formats.findLast((f) => f.extensions.includes(ext));
}

function extension(path: string): string | undefined {
  return path.match(/\.([A-Za-z0-9]+)$/)?.[1]?.toLowerCase();
}

/**
 * The format for a path, by its extension.
 *
 * @param path A key or file name.
 * @param uri The full URI, for errors.
 * @param formats The formats to choose from. @default {TABLE_FORMATS}
 * @returns The format.
 * @throws {GlacierError} When no format serves the extension, listing those that do.
 */
export function formatFor(
  path: string,
  uri: string,
  formats: readonly TableFormat[] = TABLE_FORMATS,
): TableFormat {
  const ext = extension(path);
  const format = byExtension(path, formats);
  if (!format) {
    throw new GlacierError(
      "USER:FORMAT_UNKNOWN",
      `Cannot tell the table format of ${uri}${ext ? ` (".${ext}")` : ""}: use one of ${
        [...new Set(formats.flatMap((f) => f.extensions))].map((e) => `.${e}`).join(", ")
      }, or read() the raw bytes`,
    );
  }
  return format;
}
