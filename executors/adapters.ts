/**
 * The executor adapters of cloud runs, by the key the service table names them
 * with (`SERVICES[service].adapter`), each loaded on first use so a local run
 * never loads a cloud SDK. {@linkcode SERVICE_EXECUTORS} gives every service
 * of the table its adapter; `wiring.ts` beside `mod.ts` wires it in.
 *
 * Kept apart from `executors/wiring.ts`: the runner imports that, and the
 * adapters import the runner's payload code, so one file would be a cycle.
 *
 * @module
 */
import type { VMConfigBase } from "../src/config/vm.ts";
import { type AdapterKey, SERVICE_NAMES, SERVICES } from "../src/config/services.ts";
import type { RemoteExecutorFactory } from "../src/run/remote_executors.ts";

/** Each adapter the service table names, loaded lazily. */
export const ADAPTERS: { readonly [K in AdapterKey]: RemoteExecutorFactory } = Object.freeze({
  lambda: async (options) => (await import("./lambda/executor.ts")).createLambdaExecutor(options),
  "cloud-function": async (options) =>
    (await import("./cloud_function/executor.ts")).createCloudFunctionExecutor(options),
  "azure-function": async (options) =>
    (await import("./azure_function/executor.ts")).createAzureFunctionExecutor(options),
  databricks: async (options) => (await import("./databricks/executor.ts")).createDatabricksExecutor(options),
  emr: async (options) => (await import("./emr/executor.ts")).createEmrExecutor(options),
  dataproc: async (options) => (await import("./dataproc/executor.ts")).createDataprocExecutor(options),
  ssh: async ({ resource }) => {
    const [{ checkAdapter }, { SshExecutor }] = await Promise.all([
      import("./_remote.ts"),
      import("./vm/ssh.ts"),
    ]);
    checkAdapter(resource, "ssh", "SshExecutor");
    return new SshExecutor(resource.name, resource.config as VMConfigBase);
  },
});

/** The executor of each service the table gives an adapter, by service (the shape of `Wiring.executors`). */
export const SERVICE_EXECUTORS: Readonly<Record<string, RemoteExecutorFactory>> = Object.freeze(
  Object.fromEntries(
    SERVICE_NAMES.flatMap((service) => {
      const adapter = SERVICES[service].adapter;
      return adapter === null ? [] : [[service, ADAPTERS[adapter]]];
    }),
  ),
);
