/**
 * The one service table: for each service Glacier knows, the config class
 * that describes its resources and the one cloud it belongs to (none for
 * Databricks and Spark, which run on any).
 *
 * @module
 */
import { EC2Config, EMRConfig, LambdaConfig } from "./aws.ts";
import { AzureFunctionConfig, AzureVMConfig } from "./azure.ts";
import type { Cloud } from "./base.ts";
import { DatabricksConfig } from "./databricks.ts";
import { CloudFunctionConfig, ComputeEngineConfig, DataprocConfig } from "./gcp.ts";
import { SparkConfig } from "./spark.ts";
import type { ExecutionConfig } from "./types.ts";

/** A config class, built from its options. */
export type ConfigClass = new (options: never) => ExecutionConfig;

// Keyed by each class's own `service` field; tests/src/dag_test.ts round-trips every one.
const SERVICES: Readonly<
  Record<string, { readonly config: ConfigClass; readonly cloud?: Exclude<Cloud, "local"> }>
> = {
  lambda: { config: LambdaConfig, cloud: "aws" },
  ec2: { config: EC2Config, cloud: "aws" },
  emr: { config: EMRConfig, cloud: "aws" },
  "cloud-function": { config: CloudFunctionConfig, cloud: "gcp" },
  "compute-engine": { config: ComputeEngineConfig, cloud: "gcp" },
  dataproc: { config: DataprocConfig, cloud: "gcp" },
  "azure-function": { config: AzureFunctionConfig, cloud: "azure" },
  "azure-vm": { config: AzureVMConfig, cloud: "azure" },
  databricks: { config: DatabricksConfig },
  spark: { config: SparkConfig },
};

/**
 * The one cloud a service belongs to, or undefined for services of any cloud
 * (local, Databricks, Spark).
 *
 * @param service The service, such as `lambda`.
 * @returns The cloud.
 */
export function serviceCloud(service: string): Exclude<Cloud, "local"> | undefined {
  return Object.hasOwn(SERVICES, service) ? SERVICES[service].cloud : undefined;
}

/**
 * The config class of a service's resources.
 *
 * @param service The service, such as `lambda`.
 * @returns The class, or undefined for `local` and unknown services.
 */
export function serviceConfig(service: string): ConfigClass | undefined {
  return Object.hasOwn(SERVICES, service) ? SERVICES[service].config : undefined;
}

/** Every service with a config class, in table order. */
export const CONFIG_SERVICES: readonly string[] = Object.freeze(Object.keys(SERVICES));
