/**
 * Glacier's AWS adapters: the S3 object store behind `s3://` buckets, and the
 * Lambda executor of cloud runs with the builder of its artifact.
 * `mod.ts` already loads both lazily (an `s3://` bucket's first use, a cloud
 * run's first Lambda task); import this entry to build a store or an executor
 * yourself (custom retries, a client with middleware), to build Lambda
 * artifacts from code (`glacier build` does it from the command line), or to
 * close the shared clients' connections.
 *
 * @example Build a store for an S3-compatible server
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeS3Stores, createS3Store } from "./aws.ts";
 * import { AwsConfig } from "./mod.ts";
 *
 * const store = createS3Store(
 *   new AwsConfig({ region: "us-east-1", endpoint: "http://127.0.0.1:4568", forcePathStyle: true }),
 *   { maxAttempts: 2 },
 * );
 * assert.ok(store.uri("lake", "raw/x.csv") === "s3://lake/raw/x.csv");
 * closeS3Stores();
 * ```
 *
 * @module
 */

export { closeS3Stores, createS3Store, S3Store } from "./stores/s3.ts";
export type { S3StoreOptions } from "./stores/s3.ts";
export {
  codeSha256,
  createLambdaExecutor,
  LAMBDA_PAYLOAD_CAP,
  LAMBDA_ZIP_UPLOAD_CAP,
  LambdaExecutor,
} from "./executors/lambda/executor.ts";
export type { LambdaExecutorOptions, LambdaSender } from "./executors/lambda/executor.ts";
export { buildLambdaArtifacts } from "./executors/lambda/build.ts";
export type { BuildOptions, BuiltArtifact } from "./executors/lambda/build.ts";
