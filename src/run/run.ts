/**
 * The run loop of `pipeline.run()` in modes `local` and `cloud`: it picks the
 * executors from the run's wiring, calls the pipeline function with a
 * scheduler recording (and starting) its task calls, waits for every branch,
 * and writes the run report. From here a task reaches a worker in two hops:
 * `Scheduler` (when its inputs are ready) → the executor the wiring gives its
 * resource (`Wiring.localExecutor`, the worker pool; `Wiring.executors` by
 * service in cloud runs) → `executors/runner.ts` in the worker. A local run
 * with a data root hands it to every call, which runs inside it wherever it
 * runs (`data_root.ts`), so every bucket is a folder under it.
 *
 * @module
 */
import { join } from "node:path";
import { glacierDir } from "../_project.ts";
import { GlacierError, TaskError } from "../errors.ts";
import { PipelineContext, withContext } from "../trace/context.ts";
import { isRef, resolveAll } from "../trace/ref.ts";
import { callsToDAG } from "../trace/to_dag.ts";
import type { Wiring } from "../wiring.ts";
import { CloudExecutors } from "./cloud_executors.ts";
import type { Executor } from "./executor.ts";
import { resolveDataRoot, withDataRoot } from "./data_root.ts";
import { inProcess } from "./inprocess.ts";
import { createProgress } from "./progress.ts";
import { latestReport, newRunId, type RunReport, writeReport } from "./report.ts";
import { checkpoint, Reuse } from "./_reuse.ts";
import { Scheduler } from "./scheduler.ts";

/** What the run loop needs of a pipeline. */
export interface RunTarget {
  /** The pipeline's name. */
  readonly name: string;
  /** The pipeline function. */
  readonly fn: (params: never) => unknown;
  /** The module that defined it: its project holds the run's `.glacier/`. */
  readonly module?: string;
}

/** Settings of a local or cloud run, as {@linkcode runPipeline} takes them. */
export interface ExecuteOptions {
  /** `local` or `cloud`. */
  readonly mode: "local" | "cloud";
  /** The params, already checked; absent on resume means the resumed run's. */
  readonly params?: Record<string, unknown>;
  /** An open pool for the local tasks, left open after the run. */
  readonly pool?: Executor;
  /** The pool the caller started for this run (`localPool()`), closed after it. */
  readonly started?: Executor;
  /** Show no progress. */
  readonly quiet?: boolean;
  /** Continue the last failed run. */
  readonly resume?: boolean;
  /**
   * Local: map every bucket to a folder under this one (checked and made here);
   * absent on resume means the resumed run's.
   */
  readonly dataRoot?: string;
  /** Cloud: upload locally built artifacts when deployed code differs. */
  readonly syncCode?: boolean;
  /** Cloud: keep staged data after success. */
  readonly keepStaging?: boolean;
  /** Which pool runs local tasks and which executor each service's. */
  readonly wiring: Wiring;
  /** Checks params (a plain object) and names the pipeline when they are not. */
  readonly checkParams: (params: unknown) => Record<string, unknown>;
}

/**
 * Runs a pipeline locally or in the cloud.
 *
 * @param target The pipeline.
 * @param options The run settings and wiring.
 * @returns The pipeline's value with every ref replaced, and the run's report.
 * @throws {TaskError} When a task fails, after every independent branch has finished.
 * @throws {GlacierError} `USER:NOTHING_TO_RESUME` when `resume` finds no failed run.
 * @throws {TypeError} When `dataRoot` is given to a cloud run, or is not a path.
 * @throws {GlacierError} `USER:DATA_ROOT_NOT_FOLDER` / `USER:DATA_ROOT_UNUSABLE` when the data root is a file or cannot be made.
 */
export async function runPipeline(
  target: RunTarget,
  options: ExecuteOptions,
): Promise<{ value: unknown; report: RunReport; error?: unknown }> {
  const name = target.name;
  const glacier = glacierDir(target.module);
  const runs = join(glacier, "runs");
  let previous: RunReport | undefined;
  let params: Record<string, unknown>;
  let dataRoot: string | undefined;
  try {
    if (options.mode === "cloud" && options.dataRoot !== undefined) {
      throw new TypeError(
        `Pipeline "${name}": "dataRoot" maps buckets to local folders, so it is for mode "local" only; a cloud run reads and writes the real buckets: drop "dataRoot", or run with mode "local"`,
      );
    }
    previous = options.resume ? await resumable(name, runs) : undefined;
    params = options.checkParams(options.params ?? previous?.params);
    const root = options.dataRoot ?? (options.mode === "local" ? previous?.dataRoot : undefined);
    dataRoot = root === undefined ? undefined : await resolveDataRoot(name, root);
  } catch (error) {
    await options.started?.close();
    throw error;
  }
  const runId = newRunId(name);
  const startedAt = new Date();
  const started = performance.now();
  const executor: Executor = options.pool ?? options.started ?? inProcess;
  // Cloud mode: local-bound tasks stay on `executor`, the rest go to their service's executor.
  const cloud = options.mode === "cloud"
    ? new CloudExecutors({
      pipeline: name,
      runId,
      local: executor,
      executors: options.wiring.executors,
      storage: options.wiring,
      syncCode: options.syncCode,
      keepStaging: options.keepStaging,
    })
    : undefined;
  const progress = createProgress({ quiet: options.quiet, pipeline: name });
  const reuse = new Reuse(previous, glacier, dataRoot);
  const scheduler = new Scheduler({
    pipeline: name,
    runId,
    executorFor: (task) => cloud?.executorFor(task) ?? executor,
    dataRoot,
    onEvent: options.quiet ? undefined : (event) => progress.event(event),
    reuse: (call, args) => reuse.find(call, args),
    produced: (call, args, value) => reuse.keep(call, args, value),
  });
  const context = new PipelineContext(name, scheduler);
  let value: unknown;
  let fnError: unknown;
  let hasError = false;
  try {
    // The scope also covers what the pipeline function itself does with buckets.
    const result = withDataRoot(
      dataRoot,
      () => withContext(context, () => (target.fn as (p: unknown) => unknown)(params)),
    );
    // A ref returned by a sync function is not awaited here: `await` would
    // wait for its value, and recording is over as soon as the function returns.
    const returned = isRef(result) ? result : await result;
    scheduler.closeRecording();
    value = await resolveAll(returned);
  } catch (error) {
    fnError = error;
    hasError = true;
  }
  await scheduler.settled();
  if (!options.pool) await executor.close();
  await cloud?.close(scheduler.failures().length === 0 && !hasError);
  const failures = scheduler.failures();
  const failed = failures.length > 0 || hasError;
  if (failed) await checkpoint(runId, scheduler.finished(), glacier);
  const report: RunReport = {
    runId,
    pipeline: name,
    mode: options.mode,
    status: failed ? "failed" : "succeeded",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    params,
    ...(previous ? { resumedFrom: previous.runId } : {}),
    ...(dataRoot === undefined ? {} : { dataRoot }),
    dag: await callsToDAG(name, context.calls),
    tasks: scheduler.reports(),
  };
  const path = await writeReport(report, runs);
  const counts = report.tasks.reduce(
    (acc, t) => (acc[t.status] = (acc[t.status] ?? 0) + 1, acc),
    {} as Record<string, number>,
  );
  progress.finish(
    `${failed ? "✗" : "✓"} pipeline "${name}" ${report.status} in ${report.durationMs} ms: ` +
      Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") + ` — report ${path}`,
  );
  if (failures.length > 0) {
    const [first, ...rest] = failures;
    if (rest.length === 0) return { value, report, error: first };
    return {
      value,
      report,
      error: new TaskError(
        `${first.message.replace(/^Task .*? failed on attempt \d+: /, "")} (and ${rest.length} more failed: ${
          rest.slice(0, 5).map((f) => `"${f.nodeId}"`).join(", ")
        }${rest.length > 5 ? ", …" : ""}; see pipeline.lastRun)`,
        {
          pipeline: name,
          task: first.task,
          nodeId: first.nodeId,
          attempt: first.attempt,
          cause: first.cause,
        },
      ),
    };
  }
  return hasError ? { value, report, error: fnError } : { value, report };
}

// The latest run of this pipeline, when it failed: what `resume` continues.
async function resumable(name: string, runs: string): Promise<RunReport> {
  const previous = await latestReport(name, runs);
  if (!previous) {
    throw new GlacierError(
      "USER:NOTHING_TO_RESUME",
      `Pipeline "${name}" has no run in ${runs} to resume: run it without "resume" first`,
    );
  }
  if (previous.status !== "failed") {
    throw new GlacierError(
      "USER:NOTHING_TO_RESUME",
      `The latest run of pipeline "${name}" (${previous.runId}) succeeded, so there is nothing to resume: run it without "resume"`,
    );
  }
  return previous;
}
