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
import { SkippedLineCounter, withSkippedLines } from "./skipped_lines.ts";
import type { Executor, TaskInvocation } from "./executor.ts";

/** Runs every task in the calling process. */
export const inProcess: Executor = {
  name: "in-process",
  async execute(invocation: TaskInvocation): Promise<unknown> {
    assertArgsCrossable(invocation);
    const counter = invocation.onSkippedLines ? new SkippedLineCounter() : undefined;
    const value = await withTaskLog(
      invocation.onLog,
      () =>
        withSkippedLines(
          counter,
          () => withDataRoot(invocation.dataRoot, () => invocation.task.fn(...invocation.args)),
        ),
    );
    const skipped = counter && !counter.empty ? await counter.settle() : undefined;
    if (skipped) invocation.onSkippedLines!(skipped);
    return value;
  },
  close(): Promise<void> {
    return Promise.resolve();
  },
};
