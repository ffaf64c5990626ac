// The child side of a task run over a pipe: one v8-serialized task payload
// on stdin, the framed result (executors/vm/_frame.ts) on stdout. A VM runs
// it over SSH (executors/vm/remote.ts), a narrowed task's subprocess on this
// machine (executors/local/subprocess.ts).
import { deserialize } from "node:v8";
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../src/data/payload.ts";
import { withDataRoot } from "../src/run/data_root.ts";
import { SkippedLineCounter, withSkippedLines } from "../src/run/skipped_lines.ts";
import { checkPayload, loadTask, type TaskPayload } from "./payload.ts";
import { frame } from "./_frame.ts";

// A module's top level runs once when imported here; what it prints there (a
// script's `console.log(await p.run())`, whose run is a no-op here) would
// repeat once per worker or call, so it prints nothing. Task calls print as usual.
const CONSOLE = ["log", "info", "warn", "error", "debug", "trace", "table", "dir"] as const;
// What console was when the silence began (task logs may have wrapped it since this module loaded).
let saved: Record<string, unknown> = {};
let quiet = 0;

/** Imports a task's module with its top-level output silenced (concurrent imports share the silence). */
export async function importQuietly(module: string): Promise<void> {
  if (quiet++ === 0) {
    saved = Object.fromEntries(CONSOLE.map((m) => [m, console[m]]));
    for (const m of CONSOLE) console[m] = () => {};
  }
  try {
    await import(module);
  } finally {
    if (--quiet === 0) {
      for (const m of CONSOLE) (console as unknown as Record<string, unknown>)[m] = saved[m];
    }
  }
}

/**
 * Runs the payload on stdin and writes its framed result (or error) on stdout.
 */
export async function runStdinPayload(): Promise<void> {
  await write(await runPayloadBytes(new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())));
}

/**
 * Serves payloads until stdin ends, one at a time: each comes as a 4-byte
 * big-endian length and that many v8-serialized bytes, and each answer is
 * `started` (when the task itself starts) then its framed result. A warm
 * child keeps its imported modules between calls, as a worker does.
 *
 * @param started Written on stdout when a task itself starts (its timeout counts from there).
 */
export async function servePayloads(started: string): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  let buffered = new Uint8Array(0);
  const read = async (n: number): Promise<Uint8Array | undefined> => {
    while (buffered.length < n) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      const next = new Uint8Array(buffered.length + value.length);
      next.set(buffered);
      next.set(value, buffered.length);
      buffered = next;
    }
    const out = buffered.slice(0, n);
    buffered = buffered.slice(n);
    return out;
  };
  for (;;) {
    const head = await read(4);
    if (!head) return;
    const body = await read(new DataView(head.buffer).getUint32(0));
    if (!body) return;
    await write(await runPayloadBytes(body, () => write(new TextEncoder().encode(started))));
  }
}

async function runPayloadBytes(bytes: Uint8Array, onStart?: () => Promise<void>): Promise<Uint8Array> {
  try {
    const payload = deserialize(bytes) as TaskPayload;
    checkPayload(payload);
    await importQuietly(payload.module);
    const task = await loadTask(payload.module, payload.task);
    if (needsLibraries(payload.args)) await loadLibraries(payload.args); // apache-arrow loads only for tables
    const args = decodeValue(payload.args, task.resource.storage) as unknown[];
    await onStart?.();
    const counter = new SkippedLineCounter();
    const value = await withSkippedLines(
      counter,
      () => withDataRoot(payload.dataRoot, () => task.fn(...args)),
    );
    const skippedLines = counter.empty ? undefined : await counter.settle();
    assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
    if (needsLibraries(value)) await loadLibraries(value);
    return frame({
      ok: true,
      value: encodeValue(value, "ipc").value,
      ...(skippedLines ? { skippedLines } : {}),
    });
  } catch (error) {
    const e = error as Error & { code?: string };
    return frame({
      ok: false,
      error: {
        name: e?.name ?? "Error",
        message: e?.message ?? String(error),
        stack: e?.stack,
        code: e?.code,
      },
    });
  }
}

async function write(bytes: Uint8Array): Promise<void> {
  const writer = Deno.stdout.writable.getWriter();
  await writer.write(bytes);
  writer.releaseLock();
}
