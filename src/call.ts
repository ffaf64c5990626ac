/**
 * Where a task call is dispatched: every call of a task made by a
 * provider's resources goes through {@linkcode callTask}, which
 * belongs to neither tracing nor running. A call is in one of three modes.
 *
 * | mode   | when                                   | the call …                                           | `await ref` …                                |
 * | ------ | -------------------------------------- | ---------------------------------------------------- | -------------------------------------------- |
 * | direct | outside any pipeline                   | runs at once in this process, with retries/timeout   | gives the value                              |
 * | trace  | `analyze({ trace: true })`, `graph`    | is recorded as a DAG node; nothing runs              | marks later calls dynamic, gives a stand-in  |
 * | run    | `pipeline.run()` (local or cloud)      | is recorded and scheduled as soon as inputs are ready | runs what the value needs, gives the value   |
 *
 * In trace and run mode the pipeline context comes from the async context
 * of the pipeline function, so concurrent runs never see each other's calls.
 *
 * @module
 */
import type { Task } from "./task.ts";
import { runAttempts } from "./run/attempt.ts";
import { inProcess } from "./run/inprocess.ts";
import { currentContext, withContext } from "./trace/context.ts";
import { followPath, makeRef, type PathKey, type Ref, resolveAll } from "./trace/ref.ts";

let directCalls = 0;

/**
 * Handles one task call in whichever mode it is (see the module doc).
 *
 * @param task The task called.
 * @param args Its arguments, possibly holding refs.
 * @returns A ref to the call's value.
 */
export function callTask(task: Task, args: readonly unknown[]): Ref<unknown> {
  const context = currentContext();
  if (context) return context.record(task, args);
  const nodeId = `${task.name}@direct${++directCalls}`;
  const value = resolveAll(args).then((resolved) =>
    runAttempts(
      { pipeline: "(direct call)", nodeId: task.name, task },
      (attempt, signal) =>
        withContext(undefined, () =>
          inProcess.execute({
            pipeline: "(direct call)",
            runId: "direct",
            nodeId,
            task,
            args: resolved as unknown[],
            attempt,
            signal,
          })),
    ).then((result) => result.value)
  );
  return makeRef({
    nodeId,
    taskName: task.name,
    resolve: (path: readonly PathKey[]) => value.then((v) => followPath(v, path)),
  });
}
