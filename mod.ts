/**
 * Glacier: data pipelines from plain TypeScript functions. A task is a
 * function bound to an execution resource (this machine, AWS Lambda, a
 * Databricks cluster, a VM); a pipeline is a function that calls tasks. The
 * same pipeline runs locally, runs in the cloud, and becomes analysis,
 * pictures, infrastructure code and orchestrator definitions.
 *
 * @example A two-task pipeline on the embedded local default
 * ```ts
 * import assert from "node:assert/strict";
 * import { pipeline, Provider } from "./mod.ts";
 *
 * const local = new Provider().local();
 * const numbers = local.task(function numbers(n: number) { return Array.from({ length: n }, (_, i) => i); });
 * const total = local.task(function total(xs: number[]) { return xs.reduce((a, b) => a + b, 0); });
 *
 * const sum = pipeline({ name: "sum" }, () => total(numbers(10)));
 * assert.ok((await sum.run({ workers: 0, quiet: true })) === 45);
 * ```
 *
 * @module
 */

import { GLACIER_WIRING } from "./wiring.ts";
import {
  type AnyParams,
  type Pipeline,
  pipeline as definePipeline,
  type PipelineOptions,
} from "./src/pipeline.ts";
import { Provider as CoreProvider, type ProviderOptions } from "./src/provider.ts";

/**
 * One cloud's resources and storage, wired with Glacier's stores and
 * executors (`wiring.ts`): `s3://` and `gs://` buckets, Lambda, Databricks,
 * EMR, Dataproc and VM resources in cloud runs. Its config decides the cloud.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AwsConfig, Provider } from "./mod.ts";
 * const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
 * assert.equal(aws.bucket({ bucket: "lake", path: "raw/x.parquet" }).uri, "s3://lake/raw/x.parquet");
 * assert.ok(Object.hasOwn(aws.wiring.stores, "s3"));
 * ```
 */
export class Provider extends CoreProvider {
  /**
   * Builds it.
   * @param options The cloud config, and a wiring when not Glacier's.
   * @throws {TypeError} When the config is not one of Glacier's provider configs.
   */
  constructor(options: ProviderOptions = {}) {
    super({ ...options, wiring: options?.wiring ?? GLACIER_WIRING });
  }
}

/**
 * Defines a pipeline: a function (sync or async, taking one params object)
 * whose task calls make the DAG. Its runs use Glacier's wiring (the warm
 * worker pool, the cloud executors) unless `options.wiring` says otherwise.
 *
 * @param options The name, description and settings.
 * @param fn The pipeline function.
 * @returns The pipeline.
 * @throws {TypeError} When the name is missing or malformed, or `fn` is not a function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pipeline, Provider } from "./mod.ts";
 * const local = new Provider().local();
 * const add = local.task(function add(a: number, b: number) { return a + b; });
 * const sum = pipeline({ name: "sum" }, () => add(add(1, 2), 3));
 * assert.equal(await sum.run({ workers: 0, quiet: true }), 6);
 * ```
 */
export function pipeline<P = AnyParams, R = unknown>(
  options: PipelineOptions,
  fn: (params: P) => R | Promise<R>,
): Pipeline<P, R> {
  return definePipeline<P, R>({ ...options, wiring: options?.wiring ?? GLACIER_WIRING }, fn);
}

export { Pipeline, RUN_MODES } from "./src/pipeline.ts";
export type {
  AnalyzeOptions,
  AnalyzeRunOptions,
  AnyParams,
  CloudRunOptions,
  DeployRunOptions,
  GenerateRunOptions,
  LocalRunOptions,
  PipelineConfig,
  PipelineOptions,
  RunMode,
  RunOptions,
} from "./src/pipeline.ts";
export type { BucketOptions, ProviderOptions, ResourceOptions } from "./src/provider.ts";

export {
  AwsConfig,
  AzureConfig,
  AzureFunctionConfig,
  AzureVMConfig,
  CloudFunctionConfig,
  ComputeEngineConfig,
  DatabricksConfig,
  DataprocConfig,
  EC2Config,
  EMRConfig,
  GcpConfig,
  LambdaConfig,
  LocalConfig,
  SparkConfig,
  VMConfigBase,
} from "./src/config/mod.ts";
export type {
  AwsConfigOptions,
  AzureConfigOptions,
  AzureFunctionConfigOptions,
  AzureVMConfigOptions,
  Cloud,
  CloudFunctionConfigOptions,
  ClusterConfig,
  ComputeEngineConfigOptions,
  DatabricksConfigOptions,
  DatabricksNewCluster,
  DataprocConfigOptions,
  EC2ConfigOptions,
  EMRConfigOptions,
  ExecutionConfig,
  ExecutionConfigBase,
  GcpConfigOptions,
  LambdaConfigOptions,
  LocalConfigOptions,
  ProviderConfig,
  ResourceKind,
  ServerlessConfig,
  SparkConfigOptions,
  VMConfig,
  VMConfigOptions,
} from "./src/config/mod.ts";

export { ExecutionResource } from "./src/resources/execution.ts";
export { Bucket } from "./src/resources/storage.ts";
export type { BucketData, BucketLocation, ScanOptions, WriteOptions } from "./src/resources/storage.ts";
export type { ParquetCompression } from "./src/data/parquet.ts";

export { isTask } from "./src/task.ts";
export type {
  AnyArgs,
  ResolvedTaskOptions,
  Task,
  TaskEstimate,
  TaskInfo,
  TaskOptions,
  TaskPermissions,
} from "./src/task.ts";

export { isRef } from "./src/trace/ref.ts";
export type {
  Input,
  Inputs,
  PathKey,
  Ref,
  RefArray,
  RefBase,
  RefFields,
  RefSource,
  refType,
  Resolved,
} from "./src/trace/ref.ts";

export { PipelineDAG } from "./src/dag.ts";
export type { DAGNode, DataLocation, ResourceInfo } from "./src/dag.ts";
export type {
  AnalysisMethod,
  ExecutorRequirements,
  ExecutorUse,
  NodeFacts,
  PipelineAnalysis,
} from "./src/analyze/analysis.ts";
export type { CostEstimate, CostLine, CostOptions } from "./src/analyze/cost.ts";
export type { GenerateFormat, GenerateOptions, GenerateResult } from "./src/codegen/generate.ts";
export type { GeneratedFiles } from "./src/codegen/write_files.ts";
export type { DeployOptions, DeployResult, Orchestrator } from "./src/codegen/deploy.ts";
export type { RunReport, TaskReport, TaskStatus } from "./src/run/report.ts";

export { openWorkerPool, WorkerPool } from "./executors/local/pool.ts";
export type { WorkerPoolOptions } from "./executors/local/pool.ts";

export { GlacierError, TaskError } from "./src/errors.ts";
export type { GlacierErrorOptions, TaskErrorOptions } from "./src/errors.ts";
