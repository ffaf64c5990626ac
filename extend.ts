/**
 * For authors of executors, stores and table formats: the shape of each
 * extension point, and the wiring that plugs one in. Nothing here is global:
 * build a wiring with {@linkcode defineWiring} from Glacier's
 * ({@linkcode GLACIER_WIRING}) and give it to a `Provider` (its buckets'
 * stores and formats) or a `pipeline` / `run()` (its pool, cloud executors
 * and appliers).
 *
 * @example An in-memory store serving one provider's `s3://` buckets
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineWiring, GLACIER_WIRING, type ObjectStore } from "./extend.ts";
 * import { AwsConfig, Provider } from "./mod.ts";
 *
 * const objects = new Map<string, Uint8Array>();
 * const at = (bucket: string, key: string) => `${bucket}/${key}`;
 * const memory: ObjectStore = {
 *   scheme: "s3",
 *   uri: (bucket, key) => `s3://${bucket}/${key}`,
 *   get: (bucket, key) => Promise.resolve(objects.get(at(bucket, key))!),
 *   put: (bucket, key, data) => Promise.resolve(void objects.set(at(bucket, key), data)),
 *   list: (bucket, prefix) =>
 *     Promise.resolve(
 *       [...objects.keys()].filter((k) => k.startsWith(at(bucket, prefix))).map((k) => k.slice(bucket.length + 1)),
 *     ),
 *   exists: (bucket, key) => Promise.resolve(objects.has(at(bucket, key))),
 *   delete: (bucket, key) => Promise.resolve(void objects.delete(at(bucket, key))),
 * };
 * const wiring = defineWiring({ stores: { s3: () => memory } }, GLACIER_WIRING);
 * const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }), wiring });
 * await aws.bucket({ bucket: "lake", path: "hello.txt" }).put("hi");
 * assert.equal(new TextDecoder().decode(objects.get("lake/hello.txt")), "hi");
 * assert.equal(wiring.executors.lambda, GLACIER_WIRING.executors.lambda, "the rest is Glacier's");
 * ```
 *
 * @module
 */

export { GLACIER_WIRING } from "./wiring.ts";
export { CORE_WIRING, defineWiring } from "./src/wiring.ts";
export type { ApplierLoader, Wiring, WiringParts } from "./src/wiring.ts";

export { TABLE_FORMATS } from "./src/data/formats.ts";
export type { EncodeOptions, TableFormat } from "./src/data/formats.ts";
export type { ObjectStore, StorageWiring, StoreFactory } from "./src/resources/object_store.ts";

export type { Executor, ExecutorFactory, TaskInvocation } from "./src/run/executor.ts";
export { type LogSink, type LogStream, withTaskLog } from "./src/run/task_log.ts";
export type { RemoteExecutorFactory, RemoteExecutorOptions } from "./src/run/remote_executors.ts";
export { Staging } from "./src/run/staging.ts";
export type { StagedRef, StageOptions } from "./src/run/staging.ts";
export type { Applier, ApplyRequest, ApplyResult } from "./src/codegen/appliers.ts";
export type { TaskCall } from "./src/resources/execution.ts";
