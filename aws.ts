/**
 * Glacier's AWS storage adapter: the S3 object store behind `s3://` buckets.
 * `mod.ts` already loads it lazily when an `s3://` bucket is first used; import
 * this entry to build a store yourself (custom retries, multipart sizes) or to
 * close the shared clients' connections.
 *
 * @example Build a store for an S3-compatible server
 * ```ts
 * import { closeS3Stores, createS3Store } from "./aws.ts";
 * import { AwsConfig } from "./mod.ts";
 *
 * const store = createS3Store(
 *   new AwsConfig({ region: "us-east-1", endpoint: "http://127.0.0.1:4568", forcePathStyle: true }),
 *   { maxAttempts: 2 },
 * );
 * console.assert(store.uri("lake", "raw/x.csv") === "s3://lake/raw/x.csv");
 * closeS3Stores();
 * ```
 *
 * @module
 */

export { closeS3Stores, createS3Store, S3Store } from "./stores/s3.ts";
export type { S3StoreOptions } from "./stores/s3.ts";
