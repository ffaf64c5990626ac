/**
 * The VM side of a task: reads one v8-serialized task payload on stdin, runs
 * it, and writes the framed result on stdout. Started over SSH by the VM
 * executor as `deno run -A executors/vm/remote.ts`.
 *
 * @module
 */
import { suppressRuns } from "../../src/run/_guard.ts";
import { runStdinPayload } from "../_stdin_payload.ts";

if (import.meta.main) {
  suppressRuns(); // a module imported here must not start its own run
  await runStdinPayload();
}
