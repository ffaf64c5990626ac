/**
 * Which executor a local run uses. The core only knows the in-process
 * executor; `mod.ts` wires in the worker pool from `executors/local/`.
 *
 * @module
 */
import type { ExecutorFactory } from "./executor.ts";

let poolFactory: ExecutorFactory | undefined;

/** Sets the factory of the worker pool that local runs use by default. */
export function setLocalExecutorFactory(factory: ExecutorFactory | undefined): void {
  poolFactory = factory;
}

/** The worker pool factory, when one is wired in. */
export function localExecutorFactory(): ExecutorFactory | undefined {
  return poolFactory;
}
