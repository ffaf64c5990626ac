/**
 * The in-process executor: calls the task's function in this process. It is
 * what `run({ workers: 0 })` and direct task calls use.
 *
 * @module
 */
import type { Executor, TaskInvocation } from "./executor.ts";

/** Runs every task in the calling process. */
export const inProcess: Executor = {
  name: "in-process",
  execute(invocation: TaskInvocation): Promise<unknown> {
    try {
      return Promise.resolve(invocation.task.fn(...invocation.args));
    } catch (error) {
      return Promise.reject(error);
    }
  },
  close(): Promise<void> {
    return Promise.resolve();
  },
};
