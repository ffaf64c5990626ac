// Rebuilds an ExecutionResource from its plain data (`resource.info()`): for
// DAGs that arrive as JSON (the sandboxed trace) or are written as data (tests).
// The config is built with Glacier's own class, so its checks and defaults
// apply exactly as in the user's module.
import type { ExecutionConfig } from "../config/types.ts";
import { isService, SERVICE_NAMES, serviceCloud } from "../config/services.ts";
import { serviceConfig } from "../config/service_configs.ts";
import type { ResourceInfo } from "./execution.ts";
import { ExecutionResource } from "./execution.ts";

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
  if (!isService(info.service)) {
    throw new TypeError(
      `Cannot rebuild resource "${info.name}": service "${info.service}" is none of ${
        SERVICE_NAMES.join(", ")
      }`,
    );
  }
  // Every service but this machine has a config class.
  const Config = serviceConfig(info.service);
  const config: ExecutionConfig | undefined = Config ? new Config(info.config as never) : undefined;
  return new ExecutionResource({
    kind: config?.kind ?? info.kind,
    service: info.service,
    name: info.name,
    cloud: cloud ?? serviceCloud(info.service) ?? "local",
    ...(config ? { config } : {}),
  });
}
