/**
 * `Bucket`: a path in a bucket of the provider's storage. Tasks take buckets
 * as arguments; whether a task reads or writes one is read from how it uses
 * it (`scan`/`read` vs `write`/`put`), which gives the DAG its data sources
 * and sinks and generated IAM its least privilege.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import type * as polars from "nodejs-polars";
import { formatFor, hasFormat, TABLE_FORMATS, type TableFormat } from "../data/formats.ts";
import { loadPolars } from "../data/_polars.ts";
import type { ParquetCompression } from "../data/parquet.ts";
import { GlacierError } from "../errors.ts";
import { isHidden, isMany, keyMatcher, listPrefix } from "./_glob.ts";
import { LocalStore } from "./_local_store.ts";
import { localPath as pathOnThisMachine } from "./_local_path.ts";
import { checkKey, type ObjectStore, type StorageWiring } from "./object_store.ts";
import { bucketStore } from "./bucket_store.ts";
import { BUCKET_NAME } from "../_validate.ts";
import { currentSkippedLines } from "../run/skipped_lines.ts";

// nodejs-polars' own types, named here under their own names: deno doc
// cannot follow polars' `export *` chain to them and would call them private.
/** @ignore */
type LazyDataFrame = polars.LazyDataFrame;
/** @ignore */
type DataFrame = polars.DataFrame;
/** @ignore */
type DataType = polars.DataType;

/**
 * A bucket as plain, structured-clonable data: what a worker or a remote
 * runner rebuilds it from with {@linkcode Bucket.fromData}.
 */
export interface BucketData {
  /** `file`, `s3`, `gs` or `az`. */
  scheme: string;
  /** The provider config as plain data (a local one needs its `root`). */
  config: unknown;
  /** The bucket's name. */
  bucket: string;
  /** The key, prefix or glob. */
  path: string;
}

/** Options for {@linkcode Bucket.write}. */
export interface WriteOptions {
  /** Parquet's compression codec; other formats ignore it. @default {"zstd"} */
  compression?: ParquetCompression;
}

/**
 * Options for {@linkcode Bucket.scan}. The CSV options (`delimiter`, `header`,
 * `nullValues`, `skipBadLines`, `encoding`) apply to `.csv` objects; other
 * formats ignore them.
 */
export interface ScanOptions {
  /** The CSV field delimiter: one ASCII character. @default {","} */
  delimiter?: string;
  /** Whether a CSV's first line names the columns; without one they are `column_1`, `column_2`, …. @default {true} */
  header?: boolean;
  /**
   * polars data types by column name, in place of the inferred ones: a CSV
   * column is parsed as that type, a column of another format is cast to it.
   * A name the object does not have is a RangeError.
   * @default {{}}
   */
  schema?: Record<string, DataType>;
  /** CSV fields read as null besides the empty one, such as `["NA", "-"]`. @default {[]} */
  nullValues?: string[];
  /**
   * Drop CSV rows that do not parse (a field that is not of its column's
   * type, more fields than the header) instead of failing. Every column is
   * then read as text and converted after the read, so a filter is applied
   * after it rather than inside it. In a task call of a run, the rows dropped
   * are counted (one more read of the file, started by the scan and run
   * beside the task) and the call's run report lists them per object, in
   * `skippedLines`.
   * @default {false}
   */
  skipBadLines?: boolean;
  /** `"utf8"` refuses a CSV that is not UTF-8; `"utf8-lossy"` reads it with bad bytes as U+FFFD. @default {"utf8"} */
  encoding?: "utf8" | "utf8-lossy";
}

/** How many objects a prefix or glob scan reads at once. */
const SCAN_CONCURRENCY = 4;

/** Where a bucket lives: the scheme and the provider config its store needs. */
export interface BucketLocation {
  /** `file`, `s3`, `gs` or `az`. */
  readonly scheme: string;
  /** The provider config (or a local root) the store is built from. */
  readonly config: unknown;
  /** Builds the URI of a key without touching the store. */
  readonly uri: (bucket: string, key: string) => string;
  /** A ready store, when the scheme's store is built in (local folders). */
  readonly store?: ObjectStore;
  /** The stores and table formats of the provider's wiring. */
  readonly storage: StorageWiring;
}

/**
 * A path in a bucket. Its table format comes from the extension: Parquet,
 * Arrow IPC / Feather, CSV, JSON or NDJSON. A path ending in `/`, or holding
 * a glob (`events/*.parquet`; `**` spans folders, `?` one character,
 * `{a,b}` either), names many
 * objects: `scan()` (a polars `LazyFrame`) and `scanArrow()` (an Arrow
 * `Table`) read them all as one, and `list()` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider } from "../provider.ts";
 * import { LocalConfig } from "../config/local.ts";
 * import { tableFromArrays } from "apache-arrow";
 * const root = await Deno.makeTempDir();
 * const provider = new Provider({ config: new LocalConfig({ root }) });
 * const out = provider.bucket({ bucket: "lake", path: "out/x.csv" });
 * await out.write(tableFromArrays({ a: Int32Array.from([1, 2]) }));
 * assert.equal((await out.scanArrow()).numRows, 2);
 * assert.equal((await (await out.scan()).collect()).height, 2);
 * ```
 */
export class Bucket {
  /** The bucket's name. */
  readonly bucket: string;
  /** The key or prefix inside the bucket. */
  readonly path: string;
  /** The full URI, such as `s3://lake/raw/x.parquet` or `file:///…/data/lake/raw/x.csv`. */
  readonly uri: string;
  readonly #location: BucketLocation;

  /**
   * Use `provider.bucket({ bucket, path })`, which builds this.
   *
   * @param location Where the bucket lives.
   * @param bucket The bucket's name.
   * @param path The key, prefix or glob inside it.
   * @throws {RangeError} When the bucket name is invalid, the path climbs out of the bucket or the glob is malformed.
   */
  constructor(location: BucketLocation, bucket: string, path: string) {
    if (typeof bucket !== "string" || !BUCKET_NAME.test(bucket)) {
      throw new RangeError(
        `Bucket name ${
          JSON.stringify(bucket)
        } is invalid: use 3-63 lower-case letters, digits, ".", "_" or "-"`,
      );
    }
    checkKey(bucket, path);
    if (isMany(path)) keyMatcher(path);
    this.bucket = bucket;
    this.path = path;
    this.#location = location;
    this.uri = location.uri(bucket, path);
  }

  /** The scheme of the URI: `file`, `s3`, `gs`, `az`. */
  get scheme(): string {
    return this.#location.scheme;
  }

  /** Where the bucket lives; workers and remote runners rebuild it from this. */
  get location(): BucketLocation {
    return this.#location;
  }

  /** Whether the path names many objects (a prefix ending in `/`, or a glob) rather than one. */
  get isPattern(): boolean {
    return isMany(this.path);
  }

  /**
   * A bucket for another path in the same bucket.
   *
   * @param path The key, prefix or glob.
   * @returns The bucket.
   * @throws {RangeError} When the path climbs out of the bucket.
   */
  at(path: string): Bucket {
    return new Bucket(this.#location, this.bucket, path);
  }

  // Which store: decided in one place (a run's data root, the local root, or the wiring's store).
  #store(): Promise<ObjectStore> {
    return bucketStore(this.#location, this.uri);
  }

  /**
   * Scans the object as a polars `LazyFrame`, in the format of its
   * extension; nothing is read beyond what the format needs to know its
   * columns until the frame is collected. A prefix or glob path scans every
   * matching object (files named `_…` or `.…` and those of no table format
   * are skipped under a prefix), concatenated lazily in key order.
   *
   * A local object (`file://`, or any bucket in a run with a data root) is
   * scanned where it lies, so polars reads only the columns and, for
   * Parquet, the row groups a query needs. An object of another store (S3,
   * GCS, a wiring's store) is scanned by download: it is copied to a
   * temporary file of this process (removed when the process exits) and
   * that copy is scanned. A format that only the wiring knows (a custom
   * `TableFormat`) is decoded to Arrow by it and handed to polars whole.
   *
   * CSV column types follow the same rules as {@linkcode Bucket.scanArrow},
   * inferred from the first 10 000 rows: whole numbers are Int32, or Int64
   * beyond int32 (beyond int64, and with a leading zero such as `00123`,
   * they stay strings); decimals, `NaN` and `inf` are Float64; `true` /
   * `false` Bool; ISO dates Date; ISO timestamps `Datetime("ms")` holding UTC
   * with no zone attached, like the Arrow reader's `TimestampMillisecond` (one
   * with an offset is converted to UTC); an empty field is null. A later row
   * that does not fit its column fails `collect()`, unless `skipBadLines`
   * drops it.
   *
   * @param options CSV reading options and column types.
   * @returns The lazy frame.
   * @throws {TypeError} When an option has the wrong type, or is unknown.
   * @throws {RangeError} When `delimiter` or `encoding` is invalid, or `schema` names a column the object does not have.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when the object is missing or nothing matches the pattern, naming the URI.
   * @throws {GlacierError} `USER:FILE_CORRUPT` when an object cannot be read, naming its URI; for a CSV that is not UTF-8, suggesting `encoding: "utf8-lossy"`.
   * @throws {GlacierError} `USER:DUPLICATE_COLUMN` when a CSV header names a column twice, naming it and the URI.
   * @throws {GlacierError} `USER:CSV_MALFORMED` when one of the first CSV rows has more fields than the header.
   * @throws {GlacierError} `USER:SCHEMA_MISMATCH` when matched objects disagree on their schema, naming both.
   * @throws {GlacierError} `USER:FORMAT_UNKNOWN` when the extension names no table format.
   * @throws {GlacierError} `SYSTEM:POLARS_UNAVAILABLE` when nodejs-polars cannot be loaded.
   *
   * @example Filter a local CSV lazily
   * ```ts
   * import assert from "node:assert/strict";
   * import pl from "nodejs-polars";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const sales = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "sales.csv" });
   * await sales.put("id,region,amount\n00123,eu,10\n00124,us,25\n");
   * const frame = await sales.scan();
   * const big = await frame.filter(pl.col("amount").gt(20)).select("id").collect();
   * assert.deepEqual(big.getColumn("id").toArray(), ["00124"]); // a leading zero keeps an id a string
   * ```
   *
   * @example Options: a delimiter, null markers and a column type
   * ```ts
   * import assert from "node:assert/strict";
   * import pl from "nodejs-polars";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const file = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "x.csv" });
   * await file.put("a;b\n1;NA\n2;3\n");
   * const df = await (await file.scan({ delimiter: ";", nullValues: ["NA"], schema: { a: pl.Float64 } })).collect();
   * assert.deepEqual(df.toRecords(), [{ a: 1, b: null }, { a: 2, b: 3 }]);
   * assert.ok(df.getColumn("a").dtype.equals(pl.Float64));
   * ```
   */
  async scan(options?: ScanOptions): Promise<LazyDataFrame> {
    const [pl, read] = await Promise.all([loadPolars(), import("../data/polars_read.ts")]);
    const checked = read.checkScanOptions(pl, options);
    const store = await this.#store();
    const keys = await this.#dataKeys(store, "scan");
    const frames = await eachAtOnce(keys, async (key) => {
      const uri = store.uri(this.bucket, key);
      const format = formatFor(key, uri, this.#location.storage.formats);
      const builtIn = builtInName(format);
      if (builtIn === undefined) {
        const table = await format.decode(await store.get(this.bucket, key), uri);
        return await read.frameFromTable(pl, table, uri, checked);
      }
      return await read.scanFile(pl, await pathOnThisMachine(store, this.bucket, key), uri, builtIn, checked);
    });
    const counter = currentSkippedLines();
    if (counter) {
      for (const { uri, skipped } of frames) {
        if (skipped) {
          counter.note(
            uri,
            skipped.collect().then((df) => Number(df.getColumn("skipped").get(0))),
          );
        }
      }
    }
    return read.concatFrames(pl, frames, this.uri);
  }

  /**
   * Reads the object as an Arrow table, in the format of its extension. A
   * prefix or glob path reads every matching object (files named `_…` or
   * `.…` and those of no table format are skipped under a prefix) into one
   * table, in key order. CSV column types are inferred from every row (see
   * `src/data/csv.ts`); {@linkcode Bucket.scan} infers them by the same rules.
   *
   * @returns The table.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when the object is missing or nothing matches the pattern, naming the URI.
   * @throws {GlacierError} `USER:FILE_CORRUPT` (or the format's own code) when an object cannot be decoded, naming its URI.
   * @throws {GlacierError} `USER:SCHEMA_MISMATCH` when matched objects disagree on their schema, naming both.
   * @throws {GlacierError} `USER:FORMAT_UNKNOWN` when the extension names no table format.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { tableFromArrays } from "apache-arrow";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const lake = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "parts/" });
   * await lake.at("parts/0.parquet").write(tableFromArrays({ a: Int32Array.from([1, 2]) }));
   * await lake.at("parts/1.parquet").write(tableFromArrays({ a: Int32Array.from([3]) }));
   * const table = await lake.scanArrow();
   * assert.deepEqual([...table.getChild("a")!], [1, 2, 3]);
   * ```
   */
  async scanArrow(): Promise<Table> {
    const store = await this.#store();
    const keys = await this.#dataKeys(store, "scan");
    const tables = await eachAtOnce(keys, (key) => this.#decode(store, key));
    return this.isPattern ? this.#concat(store, keys, tables) : tables[0];
  }

  /**
   * A path on this machine holding the object, for readers that open files
   * themselves (DuckDB, a native library). For a local bucket it is the
   * object's real file: do not write to it. For any other store the object
   * is downloaded to a temporary file of this process, removed when the
   * process exits; each call downloads again.
   *
   * @returns The absolute path.
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when the object is missing, naming the URI.
   * @throws {GlacierError} When the store fails, naming the URI.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const notes = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "notes.txt" });
   * await notes.put("hello");
   * assert.equal(await Deno.readTextFile(await notes.localPath()), "hello");
   * ```
   */
  async localPath(): Promise<string> {
    this.#single("get a local path for");
    const store = await this.#store();
    return await pathOnThisMachine(store, this.bucket, this.path);
  }

  // The keys a scan reads: the path itself, or every data object a pattern matches.
  async #dataKeys(store: ObjectStore, action: string): Promise<string[]> {
    if (!this.isPattern) return [this.path];
    const keys = await this.#matching(store, true);
    if (keys.length === 0) {
      await this.#refuseMissingFolder(store, action);
      throw new GlacierError(
        "USER:OBJECT_NOT_FOUND",
        `No objects match ${this.uri}: check the bucket and path, or write the data first`,
      );
    }
    return keys;
  }

  async #decode(store: ObjectStore, key: string): Promise<Table> {
    const uri = store.uri(this.bucket, key);
    const format = formatFor(key, uri, this.#location.storage.formats);
    return await format.decode(await store.get(this.bucket, key), uri);
  }

  #concat(store: ObjectStore, keys: readonly string[], tables: Table[]): Table {
    // A file with no columns at all (an empty CSV) adds nothing and has no schema to agree with.
    const kept = tables.map((table, i) => ({ table, key: keys[i] })).filter(({ table }) =>
      table.schema.fields.length > 0
    );
    if (kept.length === 0) return tables[0];
    const first = kept[0];
    const expected = schemaText(first.table);
    for (const other of kept.slice(1)) {
      const actual = schemaText(other.table);
      if (actual !== expected) {
        throw new GlacierError(
          "USER:SCHEMA_MISMATCH",
          `Cannot scan ${this.uri} into one table: ${
            store.uri(this.bucket, first.key)
          } has schema {${expected}} but ${
            store.uri(this.bucket, other.key)
          } has {${actual}}; give them the same columns and types, or scan them separately`,
        );
      }
    }
    return kept.length === 1 ? first.table : first.table.concat(...kept.slice(1).map(({ table }) => table));
  }

  async #matching(store: ObjectStore, dataOnly: boolean): Promise<string[]> {
    const matches = keyMatcher(this.path);
    const keys = await store.list(this.bucket, listPrefix(this.path));
    return keys.filter((key) =>
      matches(key) && (!dataOnly || (hasFormat(key, this.#location.storage.formats) && !isHidden(key)))
    );
  }

  #single(action: string): void {
    if (this.isPattern) {
      throw new GlacierError(
        "USER:OBJECT_IS_PREFIX",
        `Cannot ${action} ${this.uri}: the path names many objects; name one object, such as "${
          listPrefix(this.path)
        }part-0.parquet"`,
      );
    }
  }

  /**
   * Writes a table or a polars frame in the format of the path's extension,
   * atomically: a reader sees the old object or the whole new one, and a
   * failed write leaves no partial object. A polars `DataFrame` is written
   * with polars' own writers (a `LazyFrame` is collected first); an Arrow
   * `Table` with Glacier's. A format only the wiring knows gets the frame as
   * an Arrow table.
   *
   * @param data An Arrow `Table`, a polars `DataFrame` or a polars `LazyFrame`.
   * @param options Parquet's compression codec.
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   * @throws {GlacierError} `USER:FORMAT_UNKNOWN` when the extension names no table format.
   * @throws {TypeError} When `data` is neither a table nor a polars frame.
   * @throws {RangeError} When the compression codec is unknown.
   * @throws {GlacierError} `USER:WRITE_FAILED` (`USER:PARQUET_WRITE` for an Arrow table) when the format cannot hold the data, naming the URI.
   * @throws {GlacierError} When the store fails, naming the URI.
   *
   * @example Write a polars frame and scan it back
   * ```ts
   * import assert from "node:assert/strict";
   * import pl from "nodejs-polars";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const out = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "out/x.parquet" });
   * await out.write(pl.DataFrame({ id: [1, 2, 3] }).lazy().filter(pl.col("id").gt(1)));
   * assert.deepEqual((await (await out.scan()).collect()).getColumn("id").toArray(), [2, 3]);
   * assert.equal((await out.scanArrow()).numRows, 2);
   * ```
   */
  async write(data: Table | DataFrame | LazyDataFrame, options: WriteOptions = {}): Promise<void> {
    this.#single("write a table to");
    const format = formatFor(this.path, this.uri, this.#location.storage.formats);
    let bytes: Uint8Array;
    // Told apart without loading polars; imported here to keep mod.ts's static graph small.
    const { isPolarsDataFrame, isPolarsLazyFrame } = await import("../data/polars_frames.ts");
    if (isPolarsDataFrame(data) || isPolarsLazyFrame(data)) {
      const { frameBytes } = await import("../data/polars_write.ts");
      const frame = isPolarsLazyFrame(data) ? await data.collect() : data;
      bytes = await frameBytes(frame, builtInName(format) ?? format, this.uri, options);
    } else {
      if (typeof data !== "object" || data === null || !("schema" in data) || !("batches" in data)) {
        throw new TypeError(
          `Cannot write ${this.uri}: expected an Arrow Table, a polars DataFrame or a LazyFrame, got ${
            data === null ? "null" : typeof data
          }`,
        );
      }
      bytes = await format.encode(data, this.uri, options);
    }
    await (await this.#store()).put(this.bucket, this.path, bytes);
  }

  /**
   * The raw bytes of the object.
   *
   * @returns The bytes.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when it is missing, naming the URI.
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   */
  async read(): Promise<Uint8Array> {
    this.#single("read");
    return await (await this.#store()).get(this.bucket, this.path);
  }

  /**
   * Writes raw bytes or text (as UTF-8), atomically.
   *
   * @param data The bytes or text.
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   * @throws {GlacierError} When the store fails, naming the URI.
   */
  async put(data: Uint8Array | string): Promise<void> {
    this.#single("put");
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await (await this.#store()).put(this.bucket, this.path, bytes);
  }

  /**
   * The keys under this path, sorted: for an object path, the keys it
   * prefixes; for a glob, the keys it matches.
   *
   * @returns The keys, relative to the bucket.
   * @throws {GlacierError} When the store fails.
   */
  async list(): Promise<string[]> {
    const store = await this.#store();
    const keys = GLOB.test(this.path)
      ? await this.#matching(store, false)
      : await store.list(this.bucket, this.path);
    if (keys.length === 0) await this.#refuseMissingFolder(store, "list");
    return keys;
  }

  // A local prefix whose folder does not exist is a mistake (a typo, another
  // working directory), not an empty listing; an empty existing folder is one.
  async #refuseMissingFolder(store: ObjectStore, action: string): Promise<void> {
    const folder = await store.missingFolder?.(this.bucket, listPrefix(this.path));
    if (folder !== undefined) {
      throw new GlacierError(
        "USER:FOLDER_NOT_FOUND",
        `Cannot ${action} ${this.uri}: the folder ${folder} does not exist; check the path and the provider's root`,
      );
    }
  }

  /**
   * Whether the object exists; for a prefix or glob, whether any object matches.
   *
   * @returns `true` when it exists.
   * @throws {GlacierError} When the store fails.
   */
  async exists(): Promise<boolean> {
    const store = await this.#store();
    if (this.isPattern) return (await this.#matching(store, false)).length > 0;
    return await store.exists(this.bucket, this.path);
  }

  /**
   * Removes the object; a missing one is not an error.
   *
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   * @throws {GlacierError} When the store fails.
   */
  async delete(): Promise<void> {
    this.#single("delete");
    await (await this.#store()).delete(this.bucket, this.path);
  }

  /**
   * The bucket as plain data that survives `structuredClone` and JSON.
   *
   * @returns The scheme, config, bucket and path.
   */
  toData(): BucketData {
    return { scheme: this.scheme, config: this.#location.config, bucket: this.bucket, path: this.path };
  }

  /**
   * Rebuilds a bucket from {@linkcode Bucket.toData}, such as inside a worker.
   *
   * @param data The scheme, config, bucket and path.
   * @param storage The stores and formats it is read and written with.
   * @returns The bucket.
   * @throws {TypeError} When a `file` bucket's config has no `root`.
   * @throws {RangeError} When the bucket name or path is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Bucket } from "./storage.ts";
   * import { Provider } from "../provider.ts";
   * import { LocalConfig } from "../config/local.ts";
   * const root = await Deno.makeTempDir();
   * const out = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "x.txt" });
   * await out.put("hi");
   * const copy = Bucket.fromData(structuredClone(out.toData()), out.location.storage);
   * assert.ok(copy.uri === out.uri && new TextDecoder().decode(await copy.read()) === "hi");
   * ```
   */
  static fromData(data: BucketData, storage: StorageWiring): Bucket {
    return new Bucket(bucketLocation(data.scheme, data.config, storage), data.bucket, data.path);
  }

  /**
   * The URI, so a bucket prints and serializes as where it points.
   *
   * @returns `{ uri }`.
   */
  toJSON(): { uri: string } {
    return { uri: this.uri };
  }

  /**
   * The URI.
   *
   * @returns The URI.
   */
  toString(): string {
    return this.uri;
  }
}

const GLOB = /[*?{]/;

// The name of a format Glacier ships, which polars reads and writes itself;
// undefined for a format only the wiring knows. A wiring holds copies of the
// built-in formats, so they are told by their codec functions.
function builtInName(format: TableFormat): string | undefined {
  return TABLE_FORMATS.find((f) => f.decode === format.decode && f.encode === format.encode)?.name;
}

// `fn` over every item, SCAN_CONCURRENCY at a time, the results in order.
async function eachAtOnce<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, items.length) }, worker));
  return results;
}

function schemaText(table: Table): string {
  return table.schema.fields.map((f) => `${f.name}: ${f.type}`).join(", ");
}

/**
 * Where a bucket of a scheme lives, from the provider config as data: the one
 * place that turns a scheme and config into URIs and, for local folders, a store.
 *
 * @param scheme `file`, `s3`, `gs` or `az`.
 * @param config The provider config (a local one needs its `root`).
 * @param storage The stores and formats its buckets use.
 * @returns The location.
 * @throws {TypeError} When a `file` config has no `root`.
 */
export function bucketLocation(scheme: string, config: unknown, storage: StorageWiring): BucketLocation {
  if (scheme !== "file") return { scheme, config, uri: (b, k) => `${scheme}://${b}/${k}`, storage };
  const root = (config as { root?: unknown } | undefined)?.root;
  if (typeof root !== "string") {
    throw new TypeError(
      `Cannot rebuild a "file" bucket: its config needs a "root" folder, got ${JSON.stringify(config)}`,
    );
  }
  const store = new LocalStore(root);
  return { scheme, config, uri: (b, k) => store.uri(b, k), store, storage };
}
