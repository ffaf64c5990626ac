/**
 * The polling schedule of the cluster executors: waits that grow by a factor
 * up to a ceiling, so a short run is noticed quickly and a long one costs
 * few API calls.
 *
 * @module
 */

/** Options for {@linkcode pollDelays}. */
export interface PollDelaysOptions {
  /** The first wait, in ms. @default {250} */
  readonly initial?: number;
  /** The longest wait, in ms. @default {10000} */
  readonly max?: number;
  /** How much each wait grows. @default {1.6} */
  readonly factor?: number;
}

/**
 * The waits between status polls, forever.
 *
 * @param options The first and longest wait and the growth.
 * @returns The waits in ms.
 *
 * @example
 * ```ts
 * import { pollDelays } from "./backoff.ts";
 * const waits = pollDelays({ initial: 100, max: 300, factor: 2 });
 * console.assert([waits.next().value, waits.next().value, waits.next().value].join() === "100,200,300");
 * ```
 */
export function* pollDelays(options: PollDelaysOptions = {}): Generator<number, never> {
  const max = options.max ?? 10_000;
  const factor = options.factor ?? 1.6;
  let wait = Math.min(options.initial ?? 250, max);
  for (;;) {
    yield wait;
    wait = Math.min(Math.round(wait * factor), max);
  }
}

/**
 * Waits, or rejects with the signal's reason when it aborts first.
 *
 * @param ms How long.
 * @param signal Ends the wait early.
 * @returns Resolves after the wait.
 * @throws {unknown} The signal's reason when it aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
