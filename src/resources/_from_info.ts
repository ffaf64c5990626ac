// Rebuilds an ExecutionResource from its plain data (`resource.info()`): for
// DAGs that arrive as JSON (the sandboxed trace) or are written as data (tests).
// The config is built with Glacier's own class, so its checks and defaults
// apply exactly as in the user's module.
import {
  AzureFunctionConfig,
  AzureVMConfig,
  CloudFunctionConfig,
  ComputeEngineConfig,
  DatabricksConfig,
  DataprocConfig,
  EC2Config,
  EMRConfig,
  type ExecutionConfig,
  LambdaConfig,
  serviceCloud,
  SparkConfig,
} from "../config/mod.ts";
import type { ResourceInfo } from "../dag.ts";
import { ExecutionResource } from "./execution.ts";

// Keyed by each class's own `service` field; tests/src/dag_test.ts round-trips every one.
const CONFIG_BY_SERVICE: Readonly<Record<string, new (options: never) => ExecutionConfig>> = {
  lambda: LambdaConfig,
  "cloud-function": CloudFunctionConfig,
  "azure-function": AzureFunctionConfig,
  ec2: EC2Config,
  "compute-engine": ComputeEngineConfig,
  "azure-vm": AzureVMConfig,
  databricks: DatabricksConfig,
  spark: SparkConfig,
  dataproc: DataprocConfig,
  emr: EMRConfig,
};

/**
 * The execution resource that `info` describes.
 *
 * @param info Kind, service, name and config fields, as `ExecutionResource.info()` gives them.
 * @param cloud The cloud of the provider that made it. @default {the service's cloud, else "local"}
 * @returns A new resource (no provider config: the plain form does not carry one).
 * @throws {TypeError} When the service is none of Glacier's.
 * @throws {RangeError} When a config field is out of the service's range.
 */
export function resourceFromInfo(info: ResourceInfo, cloud?: string): ExecutionResource {
  let config: ExecutionConfig | undefined;
  if (info.service !== "local") {
    const Config = CONFIG_BY_SERVICE[info.service];
    if (!Config) {
      throw new TypeError(
        `Cannot rebuild resource "${info.name}": service "${info.service}" is none of ${
          ["local", ...Object.keys(CONFIG_BY_SERVICE)].join(", ")
        }`,
      );
    }
    config = new Config(info.config as never);
  }
  return new ExecutionResource({
    kind: config?.kind ?? info.kind,
    service: info.service,
    name: info.name,
    cloud: cloud ?? serviceCloud(info.service) ?? "local",
    ...(config ? { config } : {}),
  });
}
