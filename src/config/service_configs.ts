/**
 * The config class of each service in the service table (`services.ts` names
 * it; this maps the name to the class, outside the table because the classes
 * read their defaults and limits from it). Typed over every configured
 * service, so a table entry without its class does not compile.
 *
 * @module
 */
import { EC2Config, EMRConfig, LambdaConfig } from "./aws.ts";
import { AzureFunctionConfig, AzureVMConfig } from "./azure.ts";
import { DatabricksConfig } from "./databricks.ts";
import { CloudFunctionConfig, ComputeEngineConfig, DataprocConfig } from "./gcp.ts";
import { type ConfiguredService, SERVICE_NAMES } from "./services.ts";
import { SparkConfig } from "./spark.ts";
import type { ExecutionConfig } from "./types.ts";

/** A config class, built from its options. */
export type ConfigClass = new (options: never) => ExecutionConfig;

/** Each configured service's config class; the compiler checks each class's `service` is its key. */
export const SERVICE_CONFIGS: {
  readonly [S in ConfiguredService]: new (options: never) => ExecutionConfig & { readonly service: S };
} = Object.freeze({
  lambda: LambdaConfig,
  ec2: EC2Config,
  emr: EMRConfig,
  "cloud-function": CloudFunctionConfig,
  "compute-engine": ComputeEngineConfig,
  dataproc: DataprocConfig,
  "azure-function": AzureFunctionConfig,
  "azure-vm": AzureVMConfig,
  databricks: DatabricksConfig,
  spark: SparkConfig,
});

/**
 * The config class of a service's resources.
 *
 * @param service The service, such as `lambda`.
 * @returns The class, or undefined for `local` and unknown services.
 */
export function serviceConfig(service: string): ConfigClass | undefined {
  return Object.hasOwn(SERVICE_CONFIGS, service) ? SERVICE_CONFIGS[service as ConfiguredService] : undefined;
}

/** Every service with a config class, in table order. */
export const CONFIG_SERVICES: readonly ConfiguredService[] = Object.freeze(
  SERVICE_NAMES.filter((s): s is ConfiguredService => Object.hasOwn(SERVICE_CONFIGS, s)),
);
