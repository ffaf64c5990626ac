/**
 * The VM side of a task: reads one v8-serialized task payload on stdin, runs
 * it through the runner, and writes the framed result on stdout. Started over
 * SSH by the VM executor as `deno run -A executors/vm/remote.ts`.
 *
 * @module
 */
import { deserialize } from "node:v8";
import { decodeValue, encodeValue, ensureArrow, needsArrow } from "../../src/data/payload.ts";
import { suppressRuns } from "../../src/run/_guard.ts";
import { checkPayload, loadTask, type TaskPayload } from "../payload.ts";
import { frame } from "./_frame.ts";

suppressRuns();

async function main(): Promise<void> {
  try {
    const payload = deserialize(
      new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
    ) as TaskPayload;
    checkPayload(payload);
    const task = await loadTask(payload.module, payload.task);
    if (needsArrow(payload.args)) await ensureArrow();
    const args = decodeValue(payload.args, task.resource.storage) as unknown[];
    const value = await task.fn(...args);
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

async function write(bytes: Uint8Array): Promise<void> {
  const writer = Deno.stdout.writable.getWriter();
  await writer.write(bytes);
  writer.releaseLock();
}

if (import.meta.main) await main();
