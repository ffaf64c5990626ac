// The wiring of a process that runs payloads away from the scheduler (the
// runner, the Lambda runtime, the cluster launcher): Glacier's stores, so it
// can read a payload and stage its output before it knows the task. Once the
// task is loaded, its arguments decode with the storage of the task's own
// provider (`task.resource.storage`), as the user's module wired it.
import { STORES } from "../stores/mod.ts";
import { defineWiring, type Wiring } from "../src/wiring.ts";

/** The wiring of runners: Glacier's stores and the built-in formats, no executors. */
export const RUNNER_WIRING: Wiring = defineWiring({ stores: STORES });
