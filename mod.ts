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

import type { AwsConfig, GcpConfig, VMConfigBase } from "./src/config.ts";
import { registerStore } from "./src/resources/object_store.ts";
import { setLocalExecutorFactory } from "./src/run/local_executor.ts";
import { registerRemoteExecutor } from "./src/run/remote_executors.ts";
import { createWorkerPool } from "./executors/local/pool.ts";
import { registerApplier } from "./src/codegen/appliers.ts";

// Wiring, not registration by side effect of a user's import: local runs use
// the warm worker pool unless `workers: 0` asks for in-process execution, and
// cloud stores and executors are loaded on first use, so a local run never loads a cloud SDK.
setLocalExecutorFactory(createWorkerPool);
registerStore("s3", async (config) => (await import("./stores/s3.ts")).createS3Store(config as AwsConfig));
registerStore("gs", async (config) => (await import("./stores/gcs.ts")).createGcsStore(config as GcpConfig));
registerApplier("step_functions", async () => (await import("./deploy/aws_apply.ts")).applyStepFunctions);
registerRemoteExecutor(
  "lambda",
  async (options) => (await import("./executors/lambda/executor.ts")).createLambdaExecutor(options),
);
registerRemoteExecutor(
  "databricks",
  async (options) => (await import("./executors/databricks/executor.ts")).createDatabricksExecutor(options),
);
registerRemoteExecutor(
  "emr",
  async (options) => (await import("./executors/emr/executor.ts")).createEmrExecutor(options),
);
registerRemoteExecutor(
  "dataproc",
  async (options) => (await import("./executors/dataproc/executor.ts")).createDataprocExecutor(options),
);
for (const service of ["ec2", "compute-engine", "azure-vm"]) {
  registerRemoteExecutor(service, async ({ resource }) => {
    const { SshExecutor } = await import("./executors/vm/ssh.ts");
    return new SshExecutor(resource.name, resource.config as VMConfigBase);
  });
}

export { openWorkerPool, WorkerPool } from "./executors/local/pool.ts";
export type { WorkerPoolOptions } from "./executors/local/pool.ts";
export { Provider } from "./src/provider.ts";
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
} from "./src/config.ts";
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
} from "./src/config.ts";

export { ExecutionResource } from "./src/resources/execution.ts";
export { Bucket } from "./src/resources/storage.ts";
export type { BucketData, BucketLocation, WriteOptions } from "./src/resources/storage.ts";
export { registerStore } from "./src/resources/object_store.ts";
export type { ObjectStore, StoreFactory } from "./src/resources/object_store.ts";
export { registerFormat } from "./src/data/formats.ts";
export type { EncodeOptions, TableFormat } from "./src/data/formats.ts";
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

export { Pipeline, pipeline, RUN_MODES } from "./src/pipeline.ts";
export type {
  AnalyzeOptions,
  AnyParams,
  PipelineConfig,
  PipelineOptions,
  RunMode,
  RunOptions,
} from "./src/pipeline.ts";

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
export type { RecordedCall } from "./src/trace/context.ts";
export { SiteIds } from "./src/trace/site.ts";
export type { CallSite, SitedNode } from "./src/trace/site.ts";

export { KIND_COLORS, PipelineDAG } from "./src/dag.ts";
export type { DAGNode, DAGNodeInit, DataLocation, ResourceInfo } from "./src/dag.ts";

export { PipelineAnalysis } from "./src/analyze/analysis.ts";
export type {
  AnalysisMethod,
  ExecutorRequirements,
  ExecutorUse,
  NodeFacts,
  PipelineAnalysisOptions,
} from "./src/analyze/analysis.ts";
export { analyzeStatic } from "./src/analyze/static.ts";
export type { StaticResult, StaticTarget } from "./src/analyze/static.ts";
export { COST_DEFAULTS } from "./src/analyze/cost.ts";
export type { CostEstimate, CostLine, CostOptions, TaskFigures } from "./src/analyze/cost.ts";
export { PRICES } from "./src/analyze/pricing.ts";
export type { PriceTable } from "./src/analyze/pricing.ts";
export { toSvg } from "./src/analyze/svg.ts";

export { checkFormat, GENERATE_FORMATS, generateInfrastructure } from "./src/codegen/generate.ts";
export type {
  CodegenInput,
  GenerateFormat,
  GenerateOptions,
  GenerateResult,
} from "./src/codegen/generate.ts";
export { writeFilesAtomically } from "./src/codegen/write_files.ts";
export type { GeneratedFiles } from "./src/codegen/write_files.ts";
export { artifactPath, functionName, stagingPrefix } from "./src/codegen/naming.ts";
export { checkOrchestrator, ORCHESTRATORS, planDeployment } from "./src/codegen/deploy.ts";
export type { DeployOptions, DeployPlan, DeployResult, Orchestrator } from "./src/codegen/deploy.ts";
export { parseSchedule, runsPerMonth, toEventBridgeCron } from "./src/schedule.ts";
export type { Schedule } from "./src/schedule.ts";
export { applierFor, registerApplier } from "./src/codegen/appliers.ts";
export type { Applier, ApplyRequest, ApplyResult } from "./src/codegen/appliers.ts";

export type { RunReport, TaskReport, TaskStatus } from "./src/run/report.ts";
export type { Executor, TaskInvocation } from "./src/run/executor.ts";
export { registerRemoteExecutor } from "./src/run/remote_executors.ts";
export type { RemoteExecutorFactory, RemoteExecutorOptions } from "./src/run/remote_executors.ts";
export { Staging } from "./src/run/staging.ts";
export type { StagedRef, StageOptions } from "./src/run/staging.ts";

export { GlacierError, TaskError } from "./src/errors.ts";
export type { GlacierErrorOptions, TaskErrorOptions } from "./src/errors.ts";
