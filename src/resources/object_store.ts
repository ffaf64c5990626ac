/**
 * `ObjectStore`: the byte-level backend behind a {@linkcode Bucket}. The core
 * ships the local folder store; cloud stores (S3, …) implement the same
 * contract outside `src/` and are registered by scheme.
 *
 * @module
 */
import { GlacierError } from "../errors.ts";

/** Reads and writes whole objects by bucket and key. */
export interface ObjectStore {
  /** The URI scheme, such as `file` or `s3`. */
  readonly scheme: string;
  /** The URI of an object or prefix. */
  uri(bucket: string, key: string): string;
  /** The object's bytes. Throws a GlacierError naming the URI when it is missing. */
  get(bucket: string, key: string): Promise<Uint8Array>;
  /** Writes an object whole and atomically. */
  put(bucket: string, key: string, data: Uint8Array): Promise<void>;
  /** Keys under a prefix, sorted. */
  list(bucket: string, prefix: string): Promise<string[]>;
  /** Whether an object exists. */
  exists(bucket: string, key: string): Promise<boolean>;
  /** Removes an object; removing a missing one is not an error. */
  delete(bucket: string, key: string): Promise<void>;
}

/** Builds the store for a scheme, given the provider's config. */
export type StoreFactory = (config: unknown) => ObjectStore | Promise<ObjectStore>;

const factories = new Map<string, StoreFactory>();

/**
 * Wires a store in for a scheme. `mod.ts` does this for the stores Glacier
 * ships; nothing registers itself on import.
 *
 * @param scheme The URI scheme, such as `s3`.
 * @param factory Builds the store.
 */
export function registerStore(scheme: string, factory: StoreFactory): void {
  factories.set(scheme, factory);
}

/**
 * The store for a scheme.
 *
 * @throws {GlacierError} When no store serves that scheme at run time.
 */
export async function storeFor(scheme: string, config: unknown, uri: string): Promise<ObjectStore> {
  const factory = factories.get(scheme);
  if (!factory) {
    throw new GlacierError(
      "USER:STORE_UNSUPPORTED",
      `Cannot access ${
        JSON.stringify(uri)
      }: "${scheme}://" storage is not supported at run time yet; analysis and code generation still accept it`,
    );
  }
  return await factory(config);
}

/**
 * Checks an object key: relative, no `..` or empty segments, so no key can
 * climb out of its bucket.
 *
 * @throws {RangeError} When the key could escape the bucket.
 */
export function checkKey(bucket: string, key: string): void {
  if (typeof key !== "string") {
    throw new TypeError(`Bucket "${bucket}": path must be a string, got ${typeof key}`);
  }
  const parts = key.split("/");
  if (key.startsWith("/") || key.includes("\\") || parts.some((p) => p === ".." || p === ".")) {
    throw new RangeError(
      `Bucket "${bucket}": path ${
        JSON.stringify(key)
      } climbs out of the bucket; use a relative path without "..", "." or a leading "/"`,
    );
  }
}
