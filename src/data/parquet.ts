/**
 * Parquet to and from Arrow tables through `parquet-wasm` (the Rust
 * `parquet` crate compiled to WebAssembly). The module is loaded on first
 * use, so importing Glacier stays fast for pipelines that never touch
 * Parquet.
 *
 * @module
 */
import { type Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";
import { ipcWritable, loadArrow } from "./_arrow.ts";

/** The compression codecs Glacier writes Parquet with. */
export type ParquetCompression =
  | "uncompressed"
  | "snappy"
  | "gzip"
  | "brotli"
  | "lz4_raw"
  | "zstd";

/** The codecs {@linkcode ParquetCompression} allows, in a stable order. */
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = [
  "uncompressed",
  "snappy",
  "gzip",
  "brotli",
  "lz4_raw",
  "zstd",
];

/** Options for {@linkcode writeParquet}. */
export interface WriteParquetOptions {
  /** The compression codec of every column. @default {"zstd"} */
  compression?: ParquetCompression;
  /** The most rows in one row group. @default {1048576} */
  rowGroupSize?: number;
}

type ParquetWasm = typeof import("parquet-wasm");

let loading: Promise<ParquetWasm> | undefined;

/** Loads `parquet-wasm` once; the wasm instance is shared by every call. */
function parquetWasm(): Promise<ParquetWasm> {
  loading ??= import("parquet-wasm").catch((error) => {
    loading = undefined;
    throw new GlacierError(
      "SYSTEM:PARQUET_UNAVAILABLE",
      `Cannot load "parquet-wasm": ${errorMessage(error)}; check that the npm package is installed`,
      { cause: error, retryable: true },
    );
  });
  return loading;
}

/**
 * Reads Parquet bytes into an Arrow table.
 *
 * @param bytes The Parquet file.
 * @param uri Where it came from, for errors.
 * @returns The table, with the Arrow schema the file was written with, but
 *   for Utf8View and BinaryView columns, which parquet-wasm reads back as
 *   Utf8 and Binary (the same values).
 * @throws {GlacierError} `USER:FILE_CORRUPT` when the bytes are not a readable Parquet file, naming the URI.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readParquet, writeParquet } from "./parquet.ts";
 * import { tableFromArrays } from "apache-arrow";
 * const bytes = await writeParquet(tableFromArrays({ a: Int32Array.from([1, 2]) }), "mem://a.parquet");
 * assert.ok((await readParquet(bytes, "mem://a.parquet")).numRows === 2);
 * ```
 */
export async function readParquet(bytes: Uint8Array, uri: string): Promise<Table> {
  const pw = await parquetWasm();
  try {
    const table = pw.readParquet(bytes);
    return tableFromIPC(table.intoIPCStream());
  } catch (error) {
    // A Rust panic surfaces as a WebAssembly.RuntimeError ("unreachable");
    // it and every parser error become one error that names the file.
    const panic = error instanceof WebAssembly.RuntimeError ? " (the Parquet reader panicked)" : "";
    throw new GlacierError(
      "USER:FILE_CORRUPT",
      `Cannot read Parquet ${uri}${panic}: ${
        errorMessage(error)
      }; check that the object is a complete Parquet file`,
      { cause: error },
    );
  }
}

/**
 * Writes an Arrow table as Parquet bytes.
 *
 * @param table The table.
 * @param uri Where it goes, for errors.
 * @param options The compression codec and row group size.
 * @returns The Parquet file.
 * @throws {RangeError} When the compression codec or row group size is invalid.
 * @throws {GlacierError} `USER:PARQUET_WRITE` when parquet-wasm cannot encode the table, naming the URI.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeParquet } from "./parquet.ts";
 * import { tableFromArrays } from "apache-arrow";
 * const bytes = await writeParquet(tableFromArrays({ a: [1.5] }), "mem://a.parquet", { compression: "snappy" });
 * assert.ok(new TextDecoder().decode(bytes.subarray(0, 4)) === "PAR1");
 * ```
 */
export async function writeParquet(
  table: Table,
  uri: string,
  options: WriteParquetOptions = {},
): Promise<Uint8Array> {
  const compression = options.compression ?? "zstd";
  if (!PARQUET_COMPRESSIONS.includes(compression)) {
    throw new RangeError(
      `Cannot write Parquet ${uri}: compression ${JSON.stringify(compression)} is unknown; use one of ${
        PARQUET_COMPRESSIONS.map((c) => `"${c}"`).join(", ")
      }`,
    );
  }
  const rowGroupSize = options.rowGroupSize ?? 1024 * 1024;
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new RangeError(
      `Cannot write Parquet ${uri}: rowGroupSize ${rowGroupSize} must be a positive whole number`,
    );
  }
  const pw = await parquetWasm();
  let wasmTable;
  try {
    wasmTable = pw.Table.fromIPCStream(tableToIPC(ipcWritable(await loadArrow(), table), "stream"));
    const properties = new pw.WriterPropertiesBuilder()
      .setCompression(CODECS[compression](pw))
      .setMaxRowGroupSize(rowGroupSize)
      .setCreatedBy("glacier")
      .build();
    return pw.writeParquet(wasmTable, properties);
  } catch (error) {
    throw new GlacierError(
      "USER:PARQUET_WRITE",
      `Cannot write Parquet ${uri}: ${
        errorMessage(error)
      }; write it as Arrow (".arrow") if Parquet cannot hold these column types`,
      { cause: error },
    );
  }
}

const CODECS: Record<ParquetCompression, (pw: ParquetWasm) => number> = {
  uncompressed: (pw) => pw.Compression.UNCOMPRESSED,
  snappy: (pw) => pw.Compression.SNAPPY,
  gzip: (pw) => pw.Compression.GZIP,
  brotli: (pw) => pw.Compression.BROTLI,
  lz4_raw: (pw) => pw.Compression.LZ4_RAW,
  zstd: (pw) => pw.Compression.ZSTD,
};
