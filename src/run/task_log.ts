/**
 * Task logs: what a task call prints with `console` is kept per call and
 * attempt, wherever the call runs. Where a task runs (this process, a pool
 * worker, a narrowed subprocess) its console calls go to the scope's sink
 * ({@linkcode withTaskLog}); the run's {@linkcode TaskLogs} writes them to
 * `.glacier/logs/<runId>/<call>.<attempt>.log` as they come, echoes them to
 * this process's stdout or stderr (above the live table on a terminal), and
 * keeps the last lines of each call for the error of a failed one.
 *
 * Only `console` output is captured: bytes a task writes with
 * `Deno.stdout.write` go straight to the stream.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";
import { join } from "node:path";

/** Which stream a line was printed on: `console.log/info/debug` or `console.warn/error`. */
export type LogStream = "stdout" | "stderr";

/** Receives what a task call prints, as text with its line ends. */
export type LogSink = (stream: LogStream, text: string) => void;

const scope = new AsyncLocalStorage<LogSink>();
let patched = false;

// Console methods and where they print; each is routed to the scope's sink
// inside a task call and left as it was outside one.
const METHODS: Record<string, LogStream> = {
  log: "stdout",
  info: "stdout",
  debug: "stdout",
  warn: "stderr",
  error: "stderr",
};

function patchConsole(): void {
  if (patched) return;
  patched = true;
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const [method, stream] of Object.entries(METHODS)) {
    const original = target[method].bind(console);
    target[method] = (...args: unknown[]) => {
      const sink = scope.getStore();
      if (sink) sink(stream, format(...args) + "\n");
      else original(...args);
    };
  }
}

/**
 * Calls `fn` with what it prints through `console` (also in what it awaits)
 * sent to `sink`; with no sink, calls it as is.
 *
 * @param sink Where the call's output goes, or undefined.
 * @param fn What to call.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withTaskLog } from "./task_log.ts";
 * const lines: string[] = [];
 * withTaskLog((stream, text) => lines.push(`${stream}: ${text}`), () => console.warn("rows: %d", 3));
 * assert.deepEqual(lines, ["stderr: rows: 3\n"]);
 * ```
 */
export function withTaskLog<T>(sink: LogSink | undefined, fn: () => T): T {
  if (!sink) return fn();
  patchConsole();
  return scope.run(sink, fn);
}

/** The lines of a failed call's log its error shows. */
export const TAIL_LINES = 20;

interface CallLog {
  readonly path: string;
  pending: string;
  /** The last {@linkcode TAIL_LINES} lines. */
  tail: string[];
}

/**
 * The logs of one run: one file per call attempt, under
 * `<glacier>/logs/<runId>/`, written as lines come (batched once per
 * event-loop turn; appends, so a killed run keeps what was printed).
 */
export class TaskLogs {
  readonly #dir: string;
  readonly #echo: LogSink;
  readonly #calls = new Map<string, CallLog>();
  #flushing?: Promise<void>;
  #made?: Promise<void>;
  #writes: Promise<void> = Promise.resolve();

  /**
   * @param glacier The project's `.glacier` folder.
   * @param runId The run's id.
   * @param echo Where lines are shown as they come (the run's progress display).
   */
  constructor(glacier: string, runId: string, echo: LogSink) {
    this.#dir = join(glacier, "logs", runId);
    this.#echo = echo;
  }

  /** The folder of this run's logs. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * The sink of one call attempt.
   *
   * @param nodeId The call's id.
   * @param attempt The attempt, from 1.
   * @returns Receives what the attempt prints.
   */
  sink(nodeId: string, attempt: number): LogSink {
    return (stream, text) => {
      this.#echo(stream, text);
      const log = this.#call(nodeId, attempt);
      log.pending += text;
      const lines = text.replace(/\n$/, "").split("\n");
      log.tail.push(...lines);
      if (log.tail.length > TAIL_LINES) log.tail.splice(0, log.tail.length - TAIL_LINES);
      this.#flushing ??= Promise.resolve().then(() => this.#flush());
    };
  }

  /**
   * The file of a call attempt's log, if it printed anything.
   *
   * @param nodeId The call's id.
   * @param attempt The attempt.
   * @returns The file's path, or undefined.
   */
  path(nodeId: string, attempt: number): string | undefined {
    return this.#calls.get(logName(nodeId, attempt))?.path;
  }

  /**
   * The last lines a call attempt printed.
   *
   * @param nodeId The call's id.
   * @param attempt The attempt.
   * @returns Up to {@linkcode TAIL_LINES} lines, oldest first.
   */
  tail(nodeId: string, attempt: number): readonly string[] {
    return this.#calls.get(logName(nodeId, attempt))?.tail ?? [];
  }

  /** Writes what is still pending; resolves once every line is on disk. */
  async close(): Promise<void> {
    await this.#flushing;
    await this.#writes;
  }

  #call(nodeId: string, attempt: number): CallLog {
    const name = logName(nodeId, attempt);
    let log = this.#calls.get(name);
    if (!log) this.#calls.set(name, log = { path: join(this.#dir, name), pending: "", tail: [] });
    return log;
  }

  #flush(): Promise<void> {
    this.#flushing = undefined;
    const batch = [...this.#calls.values()].filter((log) => log.pending !== "");
    const texts = batch.map((log) => [log.path, log.pending] as const);
    for (const log of batch) log.pending = "";
    this.#made ??= Deno.mkdir(this.#dir, { recursive: true });
    const made = this.#made;
    this.#writes = this.#writes.then(async () => {
      try {
        await made;
        for (const [path, text] of texts) await Deno.writeTextFile(path, text, { append: true });
      } catch (error) {
        console.warn(`glacier: task logs could not be written to ${this.#dir}: ${(error as Error).message}`);
      }
    });
    return this.#writes;
  }
}

/**
 * The file name of a call attempt's log: the call's id made safe for a file
 * name (percent-encoded, so two ids never share a file), and the attempt
 * (`clean.1.log`, `load%232.1.log` for `load#2`).
 *
 * @param nodeId The call's id.
 * @param attempt The attempt.
 * @returns The file name.
 */
export function logName(nodeId: string, attempt: number): string {
  const safe = encodeURIComponent(nodeId).replace(
    /[!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${safe}.${attempt}.log`;
}
