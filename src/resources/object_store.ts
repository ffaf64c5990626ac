/**
 * `ObjectStore`: the byte-level backend behind a {@linkcode Bucket}. The core
 * ships the local folder store; cloud stores (S3, …) implement the same
 * contract outside `src/` and are wired in by scheme (`Wiring.stores`).
 * Which store a bucket uses (a run's data root, its local root, or the
 * wiring's store for its scheme) is decided in `bucket_store.ts`.
 *
 * @module
 */
import { TABLE_FORMATS, type TableFormat } from "../data/formats.ts";
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
  /**
   * For stores with real folders (local ones): the folder a prefix lists
   * from, when it does not exist, so listing it can say so instead of
   * giving an empty list. Object stores have no folders and leave it out.
   */
  missingFolder?(bucket: string, prefix: string): Promise<string | undefined>;
}

/** Builds the store for a scheme, given the provider's config. */
export type StoreFactory = (config: unknown) => ObjectStore | Promise<ObjectStore>;

/**
 * The storage part of a wiring (`Wiring` in `src/wiring.ts`): what a bucket
 * and a task's payloads are read and written with, wherever they run.
 */
export interface StorageWiring {
  /** Object stores by URI scheme (`s3`, `gs`); local folders (`file`) are built in. */
  readonly stores: Readonly<Record<string, StoreFactory>>;
  /** Table formats in lookup order; a later one serves an extension in place of an earlier one. */
  readonly formats: readonly TableFormat[];
}

/** The core's storage: local folders and the built-in table formats. */
export const CORE_STORAGE: StorageWiring = Object.freeze({
  stores: Object.freeze({}),
  formats: TABLE_FORMATS,
});

/**
 * Opens the store of a scheme from a wiring's store table.
 *
 * @param stores The wiring's stores by scheme.
 * @param scheme The URI scheme, such as `s3`.
 * @param config The provider config the store is built from.
 * @param uri The URI being accessed, for errors.
 * @returns The store.
 * @throws {GlacierError} When no store serves that scheme at run time.
 */
export async function openStore(
  stores: Readonly<Record<string, StoreFactory>>,
  scheme: string,
  config: unknown,
  uri: string,
): Promise<ObjectStore> {
  const factory = Object.hasOwn(stores, scheme) ? stores[scheme] : undefined;
  if (!factory) {
    throw new GlacierError(
      "USER:STORE_UNSUPPORTED",
      `Cannot access ${JSON.stringify(uri)}: no store serves "${scheme}://" in this wiring${
        Object.keys(stores).length
          ? ` (it has ${Object.keys(stores).map((s) => `"${s}://"`).join(", ")})`
          : ""
      }; import Provider from Glacier's mod.ts, which wires s3:// and gs://, or give the Provider a wiring with a "${scheme}" store (defineWiring() in ./extend); analysis and code generation accept any scheme`,
    );
  }
  return await factory(config);
}

/**
 * Checks an object key: relative, no `..` or empty segments, so no key can
 * climb out of its bucket.
 *
 * @throws {RangeError} When the key could escape the bucket, or is not in Unicode normal form C.
 */
export function checkKey(bucket: string, key: string): void {
  if (typeof key !== "string") {
    throw new TypeError(`Bucket "${bucket}": path must be a string, got ${typeof key}`);
  }
  // Terraform (HCL) and other tools rewrite text to NFC, so a grant on an
  // un-normalized key would name another object than the one written.
  if (key.toWellFormed() !== key.toWellFormed().normalize("NFC")) {
    throw new RangeError(
      `Bucket "${bucket}": path ${
        JSON.stringify(key)
      } is not in Unicode normal form C; Terraform and many tools rewrite it to ${
        JSON.stringify(key.normalize("NFC"))
      }, so generated grants would name another object: use that form`,
    );
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
