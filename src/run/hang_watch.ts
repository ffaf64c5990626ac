/**
 * Hung calls: a call of a task with no `timeout` that never settles would
 * hold its run forever without a word. The watch warns once per call when it
 * has run longer than {@linkcode HANG_WARNING_MS} (or the run's
 * `hangWarningMs`), naming the call, how long it has run and what to do.
 * It only warns: a long call may be right (a big join), and a `timeout` is
 * what stops one.
 *
 * @module
 */
import type { RunEvent } from "./scheduler.ts";

/** How long a call with no timeout runs before the warning: 10 minutes. */
export const HANG_WARNING_MS = 600_000;

/** Watches one run's calls; feed it the run's events, close it when the run ends. */
export class HangWatch {
  readonly #afterMs: number;
  readonly #warn: (message: string) => void;
  readonly #pipeline: string;
  readonly #running = new Map<string, { startedAt: number; task: string }>();
  readonly #warned = new Set<string>();
  #timer?: ReturnType<typeof setInterval>;

  /**
   * @param options `pipeline` for messages; `afterMs` the threshold; `warn` where the warning goes.
   */
  constructor(options: { pipeline: string; afterMs?: number; warn: (message: string) => void }) {
    const afterMs = options.afterMs ?? HANG_WARNING_MS;
    if (typeof afterMs !== "number" || !(afterMs > 0)) {
      throw new RangeError(
        `Pipeline "${options.pipeline}": "hangWarningMs" is ${afterMs}; give a number of milliseconds above 0`,
      );
    }
    this.#afterMs = afterMs;
    this.#warn = options.warn;
    this.#pipeline = options.pipeline;
  }

  /** A call changed state; a call whose task has a timeout is not watched. */
  event(event: RunEvent): void {
    if (event.type === "start") {
      if (event.timeout !== undefined) return;
      this.#running.set(event.id, { startedAt: performance.now(), task: event.task });
      if (this.#timer === undefined) {
        this.#timer = setInterval(() => this.#check(), Math.min(this.#afterMs, 5_000));
        Deno.unrefTimer(this.#timer);
      }
    } else if (event.type !== "queued" && event.type !== "retry") {
      this.#running.delete(event.id);
    }
  }

  /** Stops watching. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#running.clear();
  }

  #check(): void {
    const now = performance.now();
    for (const [id, call] of this.#running) {
      if (this.#warned.has(id) || now - call.startedAt < this.#afterMs) continue;
      this.#warned.add(id);
      this.#warn(
        `glacier: call "${id}" of pipeline "${this.#pipeline}" has run ${
          Math.round((now - call.startedAt) / 1000)
        } s and task "${call.task}" has no timeout: if it hangs, the run waits for it forever. ` +
          `Give the task a timeout (task({ timeout: ms }, fn)), or stop the run (Ctrl-C) and resume it`,
      );
    }
  }
}
