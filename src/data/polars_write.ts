/**
 * polars DataFrames to the bytes of a table file, for `Bucket.write()`:
 * polars' own writers for the built-in formats, Arrow for a format only the
 * wiring knows. The bytes then go through the store's atomic `put`.
 *
 * Loaded with `import()` by `Bucket.write()` when it is given a polars frame.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import { errorMessage, GlacierError } from "../errors.ts";
import { loadArrow } from "./_arrow.ts";
import type { EncodeOptions, TableFormat } from "./formats.ts";
import type { ParquetCompression } from "./parquet.ts";

type PolarsParquetCodec = "uncompressed" | "snappy" | "gzip" | "brotli" | "lz4" | "zstd";

// Glacier's codec names to polars'; polars' "lz4" in Parquet is LZ4_RAW.
const PARQUET_CODECS: Readonly<Record<ParquetCompression, PolarsParquetCodec>> = {
  uncompressed: "uncompressed",
  snappy: "snappy",
  gzip: "gzip",
  brotli: "brotli",
  lz4_raw: "lz4",
  zstd: "zstd",
};

const NAMES: Readonly<Record<string, string>> = {
  parquet: "Parquet",
  arrow: "Arrow IPC",
  csv: "CSV",
  json: "JSON",
  ndjson: "NDJSON",
};

/**
 * The bytes of a DataFrame in a table format.
 *
 * @param frame The DataFrame.
 * @param format A built-in format's name (`parquet`, `arrow`, `csv`, `json`, `ndjson`), or a wiring's format.
 * @param uri Where it goes, for errors.
 * @param options Parquet's compression codec.
 * @returns The file's bytes.
 * @throws {RangeError} When the compression codec is unknown.
 * @throws {GlacierError} `USER:WRITE_FAILED` when the format cannot hold the frame, naming the URI.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { frameBytes } from "./polars_write.ts";
 * const bytes = await frameBytes(pl.DataFrame({ a: [1, 2] }), "csv", "mem://a.csv");
 * assert.equal(new TextDecoder().decode(bytes), "a\n1.0\n2.0\n");
 * ```
 */
export async function frameBytes(
  frame: DataFrame,
  format: string | TableFormat,
  uri: string,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  const compression = options.compression ?? "zstd";
  if (!Object.hasOwn(PARQUET_CODECS, compression)) {
    throw new RangeError(
      `Cannot write ${uri}: compression ${JSON.stringify(compression)} is unknown; use one of ${
        Object.keys(PARQUET_CODECS).map((c) => `"${c}"`).join(", ")
      }`,
    );
  }
  const name = typeof format === "string" ? NAMES[format] ?? format : format.name;
  try {
    switch (format) {
      case "parquet":
        return bytesOf(frame.writeParquet({ compression: PARQUET_CODECS[compression] }));
      case "arrow":
        return bytesOf(frame.writeIPC());
      case "csv":
        return bytesOf(frame.writeCSV());
      case "json":
        return bytesOf(frame.writeJSON({ format: "json" }));
      case "ndjson":
        return bytesOf(frame.writeJSON({ format: "lines" }));
    }
  } catch (error) {
    throw writeFailed(uri, name, error);
  }
  if (typeof format === "string") {
    throw new RangeError(`No polars writer for the format "${format}" of ${uri}`);
  }
  let table;
  try {
    table = (await loadArrow()).tableFromIPC(frame.writeIPC());
  } catch (error) {
    throw writeFailed(uri, "Arrow", error);
  }
  return await format.encode(table, uri, options);
}

function bytesOf(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function writeFailed(uri: string, name: string, error: unknown): GlacierError {
  return new GlacierError(
    "USER:WRITE_FAILED",
    `Cannot write ${uri} as ${name}: ${
      errorMessage(error)
    }; write it as Parquet (".parquet") or Arrow (".arrow") if ${name} cannot hold these column types`,
    { cause: error },
  );
}
