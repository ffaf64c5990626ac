/**
 * The entry of Glacier's pool workers (Deno Web Workers). A
 * worker imports the module that defined a task, finds the task by name,
 * runs it and sends the result back with its Arrow buffers transferred,
 * along with the input buffers it was lent.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Script } from "node:vm";
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
import { type LogSink, type LogStream, withTaskLog } from "../../src/run/task_log.ts";
import { SkippedLineCounter, withSkippedLines } from "../../src/run/skipped_lines.ts";
import type { Task } from "../../src/task.ts";

suppressRuns(); // a module imported here must not start its own run

const port = self;

// `Deno.exit` or `close()` in a worker ends it with no event: say so first.
const exit = Deno.exit;
Deno.exit = ((code?: number) => {
  port.postMessage({ type: "exit", code: code ?? 0 });
  return exit(code);
}) as typeof Deno.exit;
const close = self.close.bind(self);
self.close = () => {
  port.postMessage({ type: "exit", code: 0 });
  close();
};

interface RunMessage {
  type: "run";
  id: number;
  payload: TaskPayload;
  lent: ArrayBuffer[];
  /** The task's timeout in ms, if it has one: say when the task starts (the timeout counts from then). */
  timeout?: number;
  /** Send what the task prints through `console` to the pool (its run keeps task logs). */
  log?: boolean;
}

// What a call prints, sent to the pool once the task's synchronous part
// yields (one message for a loop of prints), and before its result.
function logRelay(id: number): { sink: LogSink; flush(): void } {
  let entries: [LogStream, string][] = [];
  const flush = () => {
    if (entries.length === 0) return;
    port.postMessage({ type: "log", id, entries });
    entries = [];
  };
  return {
    sink: (stream, text) => {
      if (entries.length === 0) queueMicrotask(flush);
      entries.push([stream, text]);
    },
    flush,
  };
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

// Deno 2.9's Worker.terminate() does not interrupt a thread that never
// yields, so the task's own synchronous run is guarded here: node:vm's
// watchdog stops it when its timeout passes (V8 terminates the script, no
// catch or finally in the task runs), and the thread goes idle before the
// pool terminates it. What runs after the task's first await is not covered.
const CALL = Symbol.for("glacier.worker.call");
// Made when the first task with a timeout comes: loading node:vm costs ~6 ms
// of every worker's start, and calls without a timeout never need it.
let guarded: Promise<Script> | undefined;
function guardedScript(): Promise<Script> {
  return guarded ??= import("node:vm").then((vm) =>
    new vm.Script("globalThis[Symbol.for('glacier.worker.call')]()")
  );
}
/** Thrown in place of the watchdog's error: the pool's own timer reports the timeout. */
class Stopped {}

function callGuarded(timeout: number | undefined, script: Script | undefined, fn: () => unknown): unknown {
  if (timeout === undefined || !script) return fn();
  const global = globalThis as unknown as Record<symbol, unknown>;
  global[CALL] = fn;
  const startedAt = performance.now();
  try {
    return script.runInThisContext({ timeout });
  } catch (error) {
    // The watchdog's error, not one the task threw (it cannot catch a termination).
    if (
      performance.now() - startedAt >= timeout &&
      (error as { code?: string })?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT"
    ) {
      throw new Stopped();
    }
    throw error;
  } finally {
    delete global[CALL];
  }
}

port.onmessage = async (event: MessageEvent<RunMessage | { type: "load"; module: string }>) => {
  const message = event.data;
  if (message.type === "load") {
    await importQuietly(message.module).catch(() => {}); // errors surface on run
    return;
  }
  const { id, payload, lent, timeout } = message;
  const relay = message.log ? logRelay(id) : undefined;
  try {
    checkPayload(payload);
    const task = await find(payload.module, payload.task);
    if (needsLibraries(payload.args)) await loadLibraries(payload.args); // apache-arrow loads only for tables
    const args = decodeValue(payload.args, task.resource.storage) as unknown[];
    const script = timeout === undefined ? undefined : await guardedScript();
    if (timeout !== undefined) port.postMessage({ type: "started", id }); // the task's timeout counts from here
    const counter = new SkippedLineCounter();
    const value = await withTaskLog(
      relay?.sink,
      () =>
        withSkippedLines(
          counter,
          () => withDataRoot(payload.dataRoot, () => callGuarded(timeout, script, () => task.fn(...args))),
        ),
    );
    relay?.flush();
    const skippedLines = counter.empty ? undefined : await counter.settle();
    assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
    if (needsLibraries(value)) await loadLibraries(value);
    const encoded = encodeValue(value, "transfer", { keepFrames: true });
    const transfer = [...new Set([...encoded.transfer, ...lent.filter((b) => b.byteLength > 0)])];
    port.postMessage({ type: "result", id, value: encoded.value, lent, skippedLines }, transfer);
  } catch (error) {
    relay?.flush();
    if (error instanceof Stopped) return; // the pool times the call out and terminates this thread
    port.postMessage(
      { type: "error", id, error: toRemote(error), lent },
      lent.filter((b) => b.byteLength > 0),
    );
  }
};

// What the pool rebuilds the error from (`remoteError()` in `_subprocess.ts`):
// the class name, and a GlacierError's code and retryable flag.
function toRemote(error: unknown): Record<string, unknown> {
  const e = error as Error & { code?: unknown; retryable?: unknown };
  return {
    name: e?.name ?? "Error",
    message: e?.message ?? String(error),
    stack: e?.stack,
    code: typeof e?.code === "string" ? e.code : undefined,
    retryable: typeof e?.retryable === "boolean" ? e.retryable : undefined,
  };
}

port.postMessage({ type: "ready" });
