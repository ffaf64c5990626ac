/**
 * Which store a `Bucket` reads and writes: the one place that
 * decides it, asked on every access (`scan`, `write`, `read`, `put`, `list`,
 * `exists`, `delete`), so a bucket built at a module's top level follows the
 * run that uses it.
 *
 * 1. In a task call of a run with a data root (`run({ dataRoot })`, see
 *    `src/run/data_root.ts`), the folder `<dataRoot>/<bucket>/<key>`,
 *    whatever the bucket's scheme (`s3`, `gs`, `az` or `file`). The bucket's
 *    `uri` still names where it lives outside such a run.
 * 2. A local bucket (`file`), the folder under its provider's root.
 * 3. Otherwise the store the wiring gives its scheme (`s3`, `gs`).
 *
 * @module
 */
import { currentDataRoot } from "../run/data_root.ts";
import { LocalStore } from "./_local_store.ts";
import { type ObjectStore, openStore, type StorageWiring } from "./object_store.ts";

/** What a bucket's store is chosen from: the fields of its `BucketLocation`. */
export interface StoreChoice {
  /** `file`, `s3`, `gs` or `az`. */
  readonly scheme: string;
  /** The provider config the scheme's store is built from. */
  readonly config: unknown;
  /** The built-in store of a local bucket. */
  readonly store?: ObjectStore;
  /** The wiring's stores by scheme. */
  readonly storage: StorageWiring;
}

// One store per data root, kept: it remembers each bucket folder's real path.
const dataRootStores = new Map<string, LocalStore>();

/**
 * The store a bucket at `location` uses now.
 *
 * @param location The bucket's location.
 * @param uri The bucket's URI, for errors.
 * @returns The store.
 * @throws {GlacierError} `USER:STORE_UNSUPPORTED` when no store serves the scheme and no data root maps it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider } from "../provider.ts";
 * import { AwsConfig } from "../config/aws.ts";
 * import { withDataRoot } from "../run/data_root.ts";
 * const root = await Deno.makeTempDir();
 * const out = new Provider({ config: new AwsConfig({ region: "us-east-1" }) })
 *   .bucket({ bucket: "data-lake", path: "raw/x.txt" });
 * await withDataRoot(root, () => out.put("hi")); // no S3 request: a file under root
 * assert.equal(await Deno.readTextFile(`${root}/data-lake/raw/x.txt`), "hi");
 * ```
 */
export async function bucketStore(location: StoreChoice, uri: string): Promise<ObjectStore> {
  const root = currentDataRoot();
  if (root !== undefined) {
    let store = dataRootStores.get(root);
    if (!store) dataRootStores.set(root, store = new LocalStore(root));
    return store;
  }
  return location.store ?? await openStore(location.storage.stores, location.scheme, location.config, uri);
}
