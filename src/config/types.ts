/**
 * The unions over the configs: which provider, which kind of execution resource.
 *
 * @module
 */
import type { AwsConfig, EC2Config, EMRConfig, LambdaConfig } from "./aws.ts";
import type { AzureConfig, AzureFunctionConfig, AzureVMConfig } from "./azure.ts";
import type { DatabricksConfig } from "./databricks.ts";
import type { CloudFunctionConfig, ComputeEngineConfig, DataprocConfig, GcpConfig } from "./gcp.ts";
import type { LocalConfig } from "./local.ts";
import type { SparkConfig } from "./spark.ts";

/** The config a {@linkcode Provider} is built from. */
export type ProviderConfig = LocalConfig | AwsConfig | GcpConfig | AzureConfig;

/** A serverless function config. */
export type ServerlessConfig = LambdaConfig | CloudFunctionConfig | AzureFunctionConfig;
/** A virtual machine config. */
export type VMConfig = EC2Config | ComputeEngineConfig | AzureVMConfig;
/** A cluster config. */
export type ClusterConfig = DatabricksConfig | SparkConfig | DataprocConfig | EMRConfig;
/** Any execution config. */
export type ExecutionConfig = ServerlessConfig | VMConfig | ClusterConfig;
