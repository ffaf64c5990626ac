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
 * import assert from "node:assert/strict";
 * import { pollDelays } from "./backoff.ts";
 * const waits = pollDelays({ initial: 100, max: 300, factor: 2 });
 * assert.ok([waits.next().value, waits.next().value, waits.next().value].join() === "100,200,300");
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

/** Options for {@linkcode pollUntil}. */
export interface PollOptions<T> extends PollDelaysOptions {
  /** The attempt's signal: its abort (a timeout) ends the polling. */
  readonly signal: AbortSignal;
  /** One status request. */
  readonly get: () => Promise<T>;
  /** Whether a status is final. */
  readonly done: (status: T) => boolean;
  /** Cancels the remote work; called when polling ends without a final status. */
  readonly cancel: () => Promise<void>;
}

/**
 * Polls a remote run at growing intervals until its status is final. When
 * the attempt aborts or a status request fails, the run is cancelled first:
 * a run nobody waits for is never left going (the retry submits a new one).
 *
 * @param options The schedule, the request, the end test and the cancel.
 * @returns The final status.
 * @throws {unknown} The signal's reason when the attempt aborts, else the failed request's error.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<T> {
  const delays = pollDelays(options);
  try {
    for (;;) {
      await sleep(delays.next().value, options.signal);
      const status = await options.get();
      if (options.done(status)) return status;
    }
  } catch (error) {
    await options.cancel();
    throw options.signal.aborted ? options.signal.reason : error;
  }
}
