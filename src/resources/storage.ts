/**
 * `Bucket`: a path in a bucket of the provider's storage. Tasks take buckets
 * as arguments; whether a task reads or writes one is read from how it uses
 * it (`scan`/`read` vs `write`/`put`), which gives the DAG its data sources
 * and sinks and generated IAM its least privilege.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { formatFor } from "../data/formats.ts";
import { checkKey, type ObjectStore, storeFor } from "./object_store.ts";

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
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/**
 * A path in a bucket. Its table format comes from the extension.
 *
 * @example
 * ```ts
 * import { Provider } from "../provider.ts";
 * import { LocalConfig } from "../config.ts";
 * import { tableFromArrays } from "apache-arrow";
 * const root = await Deno.makeTempDir();
 * const provider = new Provider({ config: new LocalConfig({ root }) });
 * const out = provider.bucket({ bucket: "lake", path: "out/x.csv" });
 * await out.write(tableFromArrays({ a: Int32Array.from([1, 2]) }));
 * console.assert((await out.scan()).numRows === 2);
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
   * @throws {RangeError} When the bucket name is invalid or the path climbs out of the bucket.
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

  /** A bucket for another path in the same bucket. */
  at(path: string): Bucket {
    return new Bucket(this.#location, this.bucket, path);
  }

  async #store(): Promise<ObjectStore> {
    return this.#location.store ?? await storeFor(this.#location.scheme, this.#location.config, this.uri);
  }

  /**
   * Reads the object as an Arrow table, in the format of its extension.
   *
   * @returns The table.
   * @throws {GlacierError} When the object is missing, corrupt or of an unknown format.
   */
  async scan(): Promise<Table> {
    const format = formatFor(this.path, this.uri);
    const bytes = await (await this.#store()).get(this.bucket, this.path);
    return await format.decode(bytes, this.uri);
  }

  /**
   * Writes a table in the format of the path's extension, atomically.
   *
   * @param table The table.
   * @throws {GlacierError} When the format is unknown or the store fails.
   */
  async write(table: Table): Promise<void> {
    const format = formatFor(this.path, this.uri);
    const bytes = await format.encode(table, this.uri);
    await (await this.#store()).put(this.bucket, this.path, bytes);
  }

  /** The raw bytes of the object. @throws {GlacierError} When it is missing. */
  async read(): Promise<Uint8Array> {
    return await (await this.#store()).get(this.bucket, this.path);
  }

  /** Writes raw bytes or text, atomically. */
  async put(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await (await this.#store()).put(this.bucket, this.path, bytes);
  }

  /** The keys under this path, sorted. */
  async list(): Promise<string[]> {
    return await (await this.#store()).list(this.bucket, this.path);
  }

  /** Whether the object exists. */
  async exists(): Promise<boolean> {
    return await (await this.#store()).exists(this.bucket, this.path);
  }

  /** Removes the object; a missing one is not an error. */
  async delete(): Promise<void> {
    await (await this.#store()).delete(this.bucket, this.path);
  }

  /** The URI, so a bucket prints and serializes as where it points. */
  toJSON(): { uri: string } {
    return { uri: this.uri };
  }

  /** The URI. */
  toString(): string {
    return this.uri;
  }
}
