/**
 * `Bucket`: a path in a bucket of the provider's storage. Tasks take buckets
 * as arguments; whether a task reads or writes one is read from how it uses
 * it (`scan`/`read` vs `write`/`put`), which gives the DAG its data sources
 * and sinks and generated IAM its least privilege.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { formatFor, hasFormat } from "../data/formats.ts";
import type { ParquetCompression } from "../data/parquet.ts";
import { GlacierError } from "../errors.ts";
import { isHidden, isMany, keyMatcher, listPrefix } from "./_glob.ts";
import { LocalStore } from "./_local_store.ts";
import { checkKey, type ObjectStore, openStore, type StorageWiring } from "./object_store.ts";
import { BUCKET_NAME } from "../_validate.ts";

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
 * objects: `scan()` reads them all into one table and `list()` lists them.
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
 * assert.ok((await out.scan()).numRows === 2);
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

  async #store(): Promise<ObjectStore> {
    return this.#location.store ??
      await openStore(this.#location.storage.stores, this.#location.scheme, this.#location.config, this.uri);
  }

  /**
   * Reads the object as an Arrow table, in the format of its extension. A
   * prefix or glob path reads every matching object (files named `_…` or
   * `.…` and those of no table format are skipped under a prefix) into one
   * table, in key order.
   *
   * @returns The table.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when the object is missing or nothing matches the pattern, naming the URI.
   * @throws {GlacierError} `USER:FILE_CORRUPT` (or the format's own code) when an object cannot be decoded, naming its URI.
   * @throws {GlacierError} `USER:SCHEMA_MISMATCH` when matched objects disagree on their schema, naming both.
   * @throws {GlacierError} `USER:FORMAT_UNKNOWN` when the extension names no table format.
   */
  async scan(): Promise<Table> {
    const store = await this.#store();
    if (!this.isPattern) return await this.#decode(store, this.path);
    const keys = await this.#matching(store, true);
    if (keys.length === 0) {
      await this.#refuseMissingFolder(store, "scan");
      throw new GlacierError(
        "USER:OBJECT_NOT_FOUND",
        `No objects match ${this.uri}: check the bucket and path, or write the data first`,
      );
    }
    const tables = new Array<Table>(keys.length);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const i = next++;
        tables[i] = await this.#decode(store, keys[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, keys.length) }, worker));
    return this.#concat(store, keys, tables);
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
   * Writes a table in the format of the path's extension, atomically: a
   * reader sees the old object or the whole new one, and a failed write
   * leaves no partial object.
   *
   * @param table The table.
   * @param options Parquet's compression codec.
   * @throws {GlacierError} `USER:OBJECT_IS_PREFIX` when the path is a prefix or glob.
   * @throws {GlacierError} `USER:FORMAT_UNKNOWN` when the extension names no table format.
   * @throws {RangeError} When the compression codec is unknown.
   * @throws {GlacierError} When the store fails, naming the URI.
   */
  async write(table: Table, options: WriteOptions = {}): Promise<void> {
    this.#single("write a table to");
    const format = formatFor(this.path, this.uri, this.#location.storage.formats);
    const bytes = await format.encode(table, this.uri, options);
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
