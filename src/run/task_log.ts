/**
 * Task logs: what a call writes with `console.log`, `console.info`,
 * `console.debug` (stdout) and `console.warn`, `console.error` (stderr),
 * captured per call. `console` is patched once per thread; while a call runs
 * inside {@linkcode withTaskLog} (an `AsyncLocalStorage` scope, so calls that
 * interleave in one thread keep their own lines), each line goes to that
 * call's sink instead of straight to the terminal, which would tear a live
 * progress table. Outside a call, `console` behaves as always.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";

/** One captured line. */
export interface LogLine {
  /** `stdout` (log, info, debug) or `stderr` (warn, error). */
  readonly stream: "stdout" | "stderr";
  /** The text, as `console` would print it, without the line break. */
  readonly text: string;
}

/** Where a call's lines go. */
export type LogSink = (line: LogLine) => void;

const scope = new AsyncLocalStorage<LogSink>();
let patched = false;

const STREAMS = { log: "stdout", info: "stdout", debug: "stdout", warn: "stderr", error: "stderr" } as const;

// Routes console output of a call to its sink; everything else as before.
function patchConsole(): void {
  if (patched) return;
  patched = true;
  for (const [method, stream] of Object.entries(STREAMS) as [keyof typeof STREAMS, LogLine["stream"]][]) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const sink = scope.getStore();
      if (sink) sink({ stream, text: format(...args) });
      else original(...args);
    };
  }
}

/**
 * Runs `fn` with its `console` output sent to `sink`, line by line.
 *
 * @param sink Gets each line as it is written.
 * @param fn The call.
 * @returns What `fn` returns.
 */
export function withTaskLog<T>(sink: LogSink, fn: () => T): T {
  patchConsole();
  return scope.run(sink, fn);
}

/** At most this many bytes of one call's log are kept in memory and written; the rest is counted. */
export const TASK_LOG_LIMIT = 4 << 20;

/** One call's captured lines, bounded by {@linkcode TASK_LOG_LIMIT}. */
export class TaskLog {
  readonly #lines: string[] = [];
  #bytes = 0;
  #dropped = 0;

  /**
   * Keeps a line.
   *
   * @param line The line.
   * @param attempt The attempt it came from.
   */
  add(line: LogLine, attempt: number): void {
    const text = `${attempt > 1 ? `[attempt ${attempt}] ` : ""}${
      line.stream === "stderr" ? "! " : ""
    }${line.text}`;
    if (this.#bytes + text.length > TASK_LOG_LIMIT) {
      this.#dropped++;
      return;
    }
    this.#bytes += text.length + 1;
    this.#lines.push(text);
  }

  /** Whether nothing was written. */
  get empty(): boolean {
    return this.#lines.length === 0 && this.#dropped === 0;
  }

  /** The whole log, `! ` marking stderr lines. */
  text(): string {
    const dropped = this.#dropped
      ? `… ${this.#dropped} more lines not kept (over ${TASK_LOG_LIMIT} bytes)\n`
      : "";
    return this.#lines.map((l) => `${l}\n`).join("") + dropped;
  }

  /**
   * The last lines, for a failure's report.
   *
   * @param n How many.
   * @returns Them, joined by line breaks.
   */
  tail(n = 20): string {
    return this.#lines.slice(-n).join("\n");
  }
}
