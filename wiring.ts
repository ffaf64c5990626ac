/**
 * Glacier's wiring: the one place that says which store serves which scheme,
 * which executor runs which service, which pool runs local tasks and which
 * applier deploys to which orchestrator. `Provider` and `pipeline` from
 * `mod.ts` are wired with it; build a variant with `defineWiring(parts,
 * GLACIER_WIRING)` from `./extend`. Cloud stores, executors and appliers are
 * loaded on first use, so a local run never loads a cloud SDK.
 *
 * @module
 */
import type { VMConfigBase } from "./src/config/vm.ts";
import { createWorkerPool } from "./executors/local/pool.ts";
import { STORES } from "./stores/mod.ts";
import { defineWiring, type Wiring } from "./src/wiring.ts";
import type { RemoteExecutorFactory } from "./src/run/remote_executors.ts";

const ssh: RemoteExecutorFactory = async ({ resource }) => {
  const { SshExecutor } = await import("./executors/vm/ssh.ts");
  return new SshExecutor(resource.name, resource.config as VMConfigBase);
};

/** The wiring of `Provider` and `pipeline` from `mod.ts`. */
export const GLACIER_WIRING: Wiring = defineWiring({
  stores: STORES,
  localExecutor: createWorkerPool,
  executors: {
    lambda: async (options) => (await import("./executors/lambda/executor.ts")).createLambdaExecutor(options),
    databricks: async (options) =>
      (await import("./executors/databricks/executor.ts")).createDatabricksExecutor(options),
    emr: async (options) => (await import("./executors/emr/executor.ts")).createEmrExecutor(options),
    dataproc: async (options) =>
      (await import("./executors/dataproc/executor.ts")).createDataprocExecutor(options),
    "cloud-function": async (options) =>
      (await import("./executors/cloud_function/executor.ts")).createCloudFunctionExecutor(options),
    "azure-function": async (options) =>
      (await import("./executors/azure_function/executor.ts")).createAzureFunctionExecutor(options),
    ec2: ssh,
    "compute-engine": ssh,
    "azure-vm": ssh,
  },
  appliers: {
    step_functions: async () => (await import("./deploy/aws_apply.ts")).applyStepFunctions,
  },
});
