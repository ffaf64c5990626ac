/**
 * Provider configs (which cloud) and execution configs (which resource in it).
 * Fields follow each cloud's own names in camelCase and are checked against the
 * cloud's real limits when the config is built. Durations use the cloud's unit
 * (seconds for Lambda); a task's own `timeout` is milliseconds.
 *
 * @module
 */

export type { Cloud, ExecutionConfigBase, ResourceKind } from "./base.ts";
export type { ClusterConfig, ExecutionConfig, ProviderConfig, ServerlessConfig, VMConfig } from "./types.ts";

export { LocalConfig } from "./local.ts";
export type { LocalConfigOptions } from "./local.ts";

export { AwsConfig, EC2Config, EMRConfig, LambdaConfig } from "./aws.ts";
export type { AwsConfigOptions, EC2ConfigOptions, EMRConfigOptions, LambdaConfigOptions } from "./aws.ts";

export { CloudFunctionConfig, ComputeEngineConfig, DataprocConfig, GcpConfig } from "./gcp.ts";
export type {
  CloudFunctionConfigOptions,
  ComputeEngineConfigOptions,
  DataprocConfigOptions,
  GcpConfigOptions,
} from "./gcp.ts";

export { AzureConfig, AzureFunctionConfig, AzureVMConfig } from "./azure.ts";
export type { AzureConfigOptions, AzureFunctionConfigOptions, AzureVMConfigOptions } from "./azure.ts";

export { DatabricksConfig } from "./databricks.ts";
export type { DatabricksConfigOptions, DatabricksNewCluster } from "./databricks.ts";

export { SparkConfig } from "./spark.ts";
export type { SparkConfigOptions } from "./spark.ts";

export { VMConfigBase } from "./vm.ts";
export type { VMConfigOptions } from "./vm.ts";

export { serviceCloud } from "./services.ts";
