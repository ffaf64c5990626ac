/**
 * The entry of a narrowed task's subprocess: the pool starts
 * `deno run --no-prompt <the task's permission flags> subprocess.ts` for a
 * permission set and keeps it warm: it serves that set's calls one at a time,
 * each a length-prefixed v8-serialized task payload on stdin, each answered
 * with the framed result on stdout (`executors/_frame.ts`). Permission flags
 * are stable Deno, unlike a worker's `deno.permissions`, so a user's plain
 * `deno run -A` needs no unstable flag.
 *
 * @module
 */
import { suppressRuns } from "../../src/run/_guard.ts";
import { servePayloads } from "../_stdin_payload.ts";
// Not the other way round: the task's module imports the pool, so a pool
// module that imported this entry would wait on it forever.
import { STARTED } from "./_subprocess.ts";

if (import.meta.main) {
  suppressRuns(); // a module imported here must not start its own run
  await servePayloads(STARTED);
}
