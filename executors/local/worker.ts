/**
 * The entry of Glacier's pool workers. A worker imports the module that
 * defined a task, finds the task by name, runs it and sends the result back
 * with its Arrow buffers transferred, along with the input buffers it was lent.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { suppressRuns } from "../../src/run/_guard.ts";
import { withDataRoot } from "../../src/run/data_root.ts";
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../../src/data/payload.ts";
import { checkPayload, loadTask, type TaskPayload } from "../payload.ts";
import { importQuietly } from "../_stdin_payload.ts";
import type { Task } from "../../src/task.ts";

suppressRuns(); // a module imported here must not start its own run

// `Deno.exit` in a worker ends it with no event: say so first.
const exit = Deno.exit;
Deno.exit = ((code?: number) => {
  self.postMessage({ type: "exit", code: code ?? 0 });
  return exit(code);
}) as typeof Deno.exit;
const close = self.close.bind(self);
self.close = () => {
  self.postMessage({ type: "exit", code: 0 });
  close();
};

interface RunMessage {
  type: "run";
  id: number;
  payload: TaskPayload;
  lent: ArrayBuffer[];
  /** Say when the task starts (it has a timeout, which counts from then). */
  reportStart: boolean;
}

// Found tasks by module and name: a repeated dynamic import still costs a
// trip through the module loader on every call.
const tasks = new Map<string, Task>();

async function find(module: string, name: string): Promise<Task> {
  const key = `${module}#${name}`;
  let task = tasks.get(key);
  if (!task) {
    await importQuietly(module);
    tasks.set(key, task = await loadTask(module, name));
  }
  return task;
}

self.onmessage = async (event: MessageEvent<RunMessage>) => {
  const { id, payload, lent, reportStart } = event.data;
  if ((event.data as { type: string }).type === "load") {
    await importQuietly((event.data as unknown as { module: string }).module).catch(() => {}); // errors surface on run
    return;
  }
  try {
    checkPayload(payload);
    const task = await find(payload.module, payload.task);
    if (needsLibraries(payload.args)) await loadLibraries(payload.args); // apache-arrow loads only for tables
    const args = decodeValue(payload.args, task.resource.storage) as unknown[];
    if (reportStart) self.postMessage({ type: "started", id }); // the task's timeout counts from here
    const value = await withDataRoot(payload.dataRoot, () => task.fn(...args));
    assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
    if (needsLibraries(value)) await loadLibraries(value);
    const encoded = encodeValue(value, "transfer");
    const transfer = [...new Set([...encoded.transfer, ...lent.filter((b) => b.byteLength > 0)])];
    self.postMessage({ type: "result", id, value: encoded.value, lent }, transfer);
  } catch (error) {
    const e = error as Error & { code?: string };
    self.postMessage(
      {
        type: "error",
        id,
        error: {
          name: e?.name ?? "Error",
          message: e?.message ?? String(error),
          stack: e?.stack,
          code: e?.code,
        },
        lent,
      },
      lent.filter((b) => b.byteLength > 0),
    );
  }
};

self.postMessage({ type: "ready" });
