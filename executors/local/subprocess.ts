/**
 * The entry of a narrowed task's subprocess: the pool starts
 * `deno run --no-prompt <the task's permission flags> subprocess.ts` for
 * each call of a task with its own `permissions`, writes one v8-serialized
 * task payload on stdin, and reads the framed result from stdout (the
 * framing of `executors/vm/_frame.ts`). Permission flags are stable Deno,
 * unlike a worker's `deno.permissions`, so a user's plain `deno run -A`
 * needs no unstable flag.
 *
 * @module
 */
import { deserialize } from "node:v8";
import { suppressRuns } from "../../src/run/_guard.ts";
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  ensureArrow,
  needsArrow,
} from "../../src/data/payload.ts";
import { checkPayload, loadTask, type TaskPayload } from "../payload.ts";
import { frame } from "../vm/_frame.ts";
// Not the other way round: the task's module imports the pool, so a pool
// module that imported this entry would wait on it forever.
import { STARTED } from "./_subprocess.ts";

// A module's top level runs once per call here; what it prints there (a
// script's `console.log(await p.run())`) would repeat on every call.
const CONSOLE = ["log", "info", "warn", "error", "debug", "trace", "table", "dir"] as const;

async function importQuietly(module: string): Promise<void> {
  const saved = CONSOLE.map((m) => [m, console[m]] as const);
  for (const m of CONSOLE) console[m] = () => {};
  try {
    await import(module);
  } finally {
    for (const [m, fn] of saved) (console as unknown as Record<string, unknown>)[m] = fn;
  }
}

async function write(bytes: Uint8Array): Promise<void> {
  const writer = Deno.stdout.writable.getWriter();
  await writer.write(bytes);
  writer.releaseLock();
}

async function main(): Promise<void> {
  try {
    const payload = deserialize(
      new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
    ) as TaskPayload;
    checkPayload(payload);
    await importQuietly(payload.module);
    const task = await loadTask(payload.module, payload.task);
    if (needsArrow(payload.args)) await ensureArrow(); // apache-arrow loads only for tables
    const args = decodeValue(payload.args, task.resource.storage) as unknown[];
    await write(new TextEncoder().encode(STARTED));
    const value = await task.fn(...args);
    assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
    if (needsArrow(value)) await ensureArrow();
    await write(frame({ ok: true, value: encodeValue(value, "ipc").value }));
  } catch (error) {
    const e = error as Error & { code?: string };
    await write(
      frame({
        ok: false,
        error: {
          name: e?.name ?? "Error",
          message: e?.message ?? String(error),
          stack: e?.stack,
          code: e?.code,
        },
      }),
    );
  }
}

if (import.meta.main) {
  suppressRuns(); // a module imported here must not start its own run
  await main();
}
