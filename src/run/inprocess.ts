/**
 * The in-process executor: calls the task's function in this process. It is
 * what `run({ workers: 0 })` and direct task calls use. Arguments are passed
 * as they are, not copied; they are checked as the pool checks them, so a
 * pipeline that runs here runs on workers and executors too.
 *
 * @module
 */
import { assertArgsCrossable } from "../data/payload.ts";
import { withDataRoot } from "./data_root.ts";
import { withTaskLog } from "./task_log.ts";
import type { Executor, TaskInvocation } from "./executor.ts";

/** Runs every task in the calling process. */
export const inProcess: Executor = {
  name: "in-process",
  execute(invocation: TaskInvocation): Promise<unknown> {
    try {
      assertArgsCrossable(invocation);
      return Promise.resolve(
        withTaskLog(
          invocation.onLog,
          () => withDataRoot(invocation.dataRoot, () => invocation.task.fn(...invocation.args)),
        ),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  },
  close(): Promise<void> {
    return Promise.resolve();
  },
};
