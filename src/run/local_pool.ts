/**
 * The worker pool of a run, started the moment a run is asked for (before
 * the run loop itself loads), so its first worker boots meanwhile.
 *
 * @module
 */
import type { Wiring } from "../wiring.ts";
import type { Executor } from "./executor.ts";

/**
 * The pool of one run from the wiring, or undefined to run in-process
 * (`workers: 0`, or a wiring without a pool).
 *
 * @param pipeline The pipeline's name.
 * @param workers The worker count. @default {navigator.hardwareConcurrency}
 * @param wiring The run's wiring.
 * @returns The pool, or undefined.
 * @throws {RangeError} When `workers` is not a whole number of at least 0.
 */
export function localPool(
  pipeline: string,
  workers: number | undefined,
  wiring: Wiring,
): Executor | undefined {
  const count = workers ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(
      `Pipeline "${pipeline}": "workers" is ${count}, it must be a whole number, 0 for in-process`,
    );
  }
  return count === 0 || !wiring.localExecutor
    ? undefined
    : wiring.localExecutor({ workers: count, pipeline });
}
