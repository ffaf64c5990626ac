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
import { SERVICE_EXECUTORS } from "./executors/adapters.ts";
import { createWorkerPool } from "./executors/local/pool.ts";
import { STORES } from "./stores/mod.ts";
import { defineWiring, type Wiring } from "./src/wiring.ts";

/** The wiring of `Provider` and `pipeline` from `mod.ts`. */
export const GLACIER_WIRING: Wiring = defineWiring({
  stores: STORES,
  localExecutor: createWorkerPool,
  // Each service of the service table on the adapter its record names (executors/adapters.ts).
  executors: SERVICE_EXECUTORS,
  appliers: {
    step_functions: async () => (await import("./deploy/aws_apply.ts")).applyStepFunctions,
  },
});
