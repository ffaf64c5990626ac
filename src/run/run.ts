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
import { join, relative } from "node:path";
import { glacierDir } from "../_project.ts";
import { GlacierError, TaskError } from "../errors.ts";
import { PipelineContext, withContext } from "../trace/context.ts";
import { isRef, resolveAll } from "../trace/ref.ts";
import { callsToDAG } from "../trace/to_dag.ts";
import { definesTasks } from "../task.ts";
import type { Wiring } from "../wiring.ts";
import { CloudExecutors } from "./cloud_executors.ts";
import type { Executor } from "./executor.ts";
import { resolveDataRoot, withDataRoot } from "./data_root.ts";
import { inProcess } from "./inprocess.ts";
import { createProgress } from "./progress.ts";
import {
  latestReport,
  newRunId,
  readReport,
  type RunReport,
  type TaskReport,
  writeReport,
} from "./report.ts";
import { TaskLogs } from "./task_log.ts";
import { HangWatch } from "./hang_watch.ts";
import { readJournal, RunJournal } from "./journal.ts";
import { type Restorable, Reuse } from "./_reuse.ts";
import { Scheduler } from "./scheduler.ts";
import { removeCheckpoints } from "./clean.ts";
import { onStopSignals, type StopSignal } from "./signals.ts";
import { isAlive, lockRun } from "./run_lock.ts";

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
  /** Continue the latest run that did not succeed (`true`), or the run of this id. */
  readonly resume?: boolean | string;
  /** Checkpoint each call's output as it finishes, for `resume` after a crash. @default {true} */
  readonly durable?: boolean;
  /** Run `cache: true` tasks again and rewrite their entries. @default {false} */
  readonly refresh?: boolean;
  /** Neither read nor write the output cache. @default {false} */
  readonly noCache?: boolean;
  /** Stop cleanly on SIGINT and SIGTERM, then exit 130 / 143. @default {true} */
  readonly signals?: boolean;
  /** Allow another run of this pipeline in this project at the same time (`run_lock.ts`). @default {false} */
  readonly concurrent?: boolean;
  /** Warn about a call with no timeout running longer than this (`hang_watch.ts`). @default {600000} */
  readonly hangWarningMs?: number;
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
 * @throws {GlacierError} `USER:NOTHING_TO_RESUME` when `resume` finds no run that did not succeed.
 * @throws {GlacierError} `USER:RUN_IN_PROGRESS` when the run to resume is still running in another process.
 * @throws {TypeError} When `dataRoot` is given to a cloud run, or is not a path.
 * @throws {GlacierError} `USER:DATA_ROOT_NOT_FOLDER` / `USER:DATA_ROOT_UNUSABLE` when the data root is a file or cannot be made.
 */
export async function runPipeline(
  target: RunTarget,
  options: ExecuteOptions,
): Promise<{ value: unknown; report: RunReport; error?: unknown }> {
  const name = target.name;
  // Workers import the pipeline's module (where its tasks usually are) while the run sets up;
  // a module without tasks is not imported there (its top level may do more than define a pipeline).
  if (options.mode === "local" && target.module && definesTasks(target.module)) {
    (options.pool ?? options.started)?.preload?.(target.module);
  }
  const glacier = glacierDir(target.module);
  const runs = join(glacier, "runs");
  let previous: RunReport | undefined;
  let params: Record<string, unknown>;
  let dataRoot: string | undefined;
  const runId = newRunId(name);
  let unlock: (() => Promise<void>) | undefined;
  try {
    if (options.mode === "cloud" && options.dataRoot !== undefined) {
      throw new TypeError(
        `Pipeline "${name}": "dataRoot" maps buckets to local folders, so it is for mode "local" only; a cloud run reads and writes the real buckets: drop "dataRoot", or run with mode "local"`,
      );
    }
    previous = options.resume ? await resumable(name, runs, options.resume) : undefined;
    params = options.checkParams(options.params ?? previous?.params);
    const root = options.dataRoot ?? (options.mode === "local" ? previous?.dataRoot : undefined);
    dataRoot = root === undefined ? undefined : await resolveDataRoot(name, root);
    if (!options.concurrent) unlock = await lockRun(runs, name, runId);
  } catch (error) {
    await options.started?.close();
    throw error;
  }
  // The lock goes however the run ends (a kill leaves it to be taken over as stale).
  try {
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
    const journal = new RunJournal(runs, runId);
    const logs = new TaskLogs(glacier, runId, (stream, text) => progress.output(stream, text));
    const hang = new HangWatch({
      pipeline: name,
      afterMs: options.hangWarningMs,
      warn: (message) => progress.output("stderr", message + "\n"),
    });
    const reuse = new Reuse({
      glacier,
      runId,
      journal,
      restorable: previous ? await restorable(runs, previous) : undefined,
      dataRoot,
      durable: options.durable,
      cache: options.noCache ? "off" : options.refresh ? "refresh" : "use",
    });
    const scheduler = new Scheduler({
      pipeline: name,
      runId,
      executorFor: (task) => cloud?.executorFor(task) ?? executor,
      dataRoot,
      onEvent: (event) => {
        if (!options.quiet) progress.event(event);
        hang.event(event);
        // Reuse notes restored and cached calls itself, with where their value is.
        if (event.type === "start") {
          journal.append({ node: event.id, status: "running", attempt: event.attempt });
        } else if (event.type === "failed" || event.type === "skipped" || event.type === "interrupted") {
          journal.append({ node: event.id, status: event.type, attempt: event.attempt });
        }
      },
      reuse: (call, args) => reuse.find(call, args),
      log: (nodeId, attempt) => logs.sink(nodeId, attempt),
      produced: (call, args, value) => reuse.keep(call, args, value),
    });
    // Written as the run starts, so a run killed outright is still found (and resumed).
    const noCalls = await callsToDAG(name, []);
    const snapshot = (status: RunReport["status"]): RunReport => ({
      runId,
      pipeline: name,
      ...(target.module ? { module: target.module } : {}),
      mode: options.mode,
      status,
      process: { pid: Deno.pid, hostname: Deno.hostname() },
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      params,
      ...(previous ? { resumedFrom: previous.runId } : {}),
      ...(dataRoot === undefined ? {} : { dataRoot }),
      dag: noCalls,
      tasks: scheduler.reports().map((t) =>
        withLogs(
          reuse.restored.has(t.id) ? { ...t, restoredFrom: reuse.restored.get(t.id) } : t,
          logs,
          glacier,
        )
      ),
    });
    await writeReport(snapshot("running"), runs);
    let stopped: StopSignal | undefined;
    const release = options.signals === false ? undefined : onStopSignals({
      stop(signal) {
        stopped = signal;
        console.error(
          `\nglacier: ${signal.name}: stopping "${name}"; finished calls are kept (${signal.name} again to exit now)`,
        );
        scheduler.cancel(
          new GlacierError(
            "USER:INTERRUPTED",
            `Pipeline "${name}" was stopped by ${signal.name} (run ${runId}); resume it with run({ resume: true }) or glacier run --resume`,
          ),
        );
        // Terminate workers and kill task processes now: a running call then ends at once.
        void executor.close().catch(() => {});
      },
    });
    // Released once the report is written, however the run ends: a process
    // whose runs are over dies of a signal as usual, and one stopped by a
    // signal exits once its last run has written its report.
    try {
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
        scheduler.closeRecording(returned);
        // Every call is recorded now: the running report gets the DAG (what a viewer draws live).
        await writeReport({ ...snapshot("running"), dag: await callsToDAG(name, context.calls) }, runs);
        value = await resolveAll(returned);
      } catch (error) {
        fnError = error;
        hasError = true;
      }
      await scheduler.settled();
      if (!options.pool || stopped) await executor.close();
      await cloud?.close(scheduler.failures().length === 0 && !hasError && !stopped);
      const failures = scheduler.failures();
      const failed = failures.length > 0 || hasError;
      if (failed && options.durable === false) {
        for (const { call, value } of scheduler.finished()) reuse.keep(call, [], value);
      }
      await reuse.flush();
      await journal.close();
      await logs.close();
      hang.close();
      const final: RunReport = {
        ...snapshot(stopped ? "interrupted" : failed ? "failed" : "succeeded"),
        finishedAt: new Date().toISOString(),
        dag: await callsToDAG(name, context.calls),
      };
      const path = await writeReport(final, runs);
      if (final.status === "succeeded") {
        // Checkpoints are for resuming: once a run of the chain succeeds, they go.
        const checkpoints = join(glacier, "checkpoints");
        for (const id of new Set([runId, ...reuse.restored.values()])) {
          await removeCheckpoints(id, checkpoints).catch(() => {});
        }
      }
      const counts = final.tasks.reduce(
        (acc, t) => (acc[t.status] = (acc[t.status] ?? 0) + 1, acc),
        {} as Record<string, number>,
      );
      progress.finish(
        `${
          final.status === "succeeded" ? "✓" : "✗"
        } pipeline "${name}" ${final.status} in ${final.durationMs} ms: ` +
          Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") + ` — report ${path}` +
          // Bucket URIs stay as written; under a data root the objects are folders there.
          (dataRoot === undefined ? "" : `; buckets are folders under ${dataRoot}`),
      );
      if (stopped) {
        const kept = final.tasks.filter((t) => t.status === "done" || t.status === "cached").length;
        console.error(
          `glacier: run ${runId} of "${name}" stopped by ${stopped.name}; ${kept} finished calls are kept. ` +
            `Resume it with run({ resume: true }), or: glacier run <file> --resume`,
        );
      }
      if (failures.length > 0) {
        for (const failure of failures) withTail(failure, logs);
        const [first, ...rest] = failures;
        if (rest.length === 0) return { value, report: final, error: first };
        return {
          value,
          report: final,
          error: new TaskError(
            `${
              first.message.replace(/^Task .*? failed on attempt \d+: /, "")
            } (and ${rest.length} more failed: ${rest.slice(0, 5).map((f) => `"${f.nodeId}"`).join(", ")}${
              rest.length > 5 ? ", …" : ""
            }; see pipeline.lastRun)`,
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
      return hasError ? { value, report: final, error: fnError } : { value, report: final };
    } finally {
      await unlock?.(); // before a signal's exit
      release?.();
    }
  } finally {
    await unlock?.();
  }
}

// A call's log files (relative to `.glacier/`), and a failed call's last printed lines.
function withLogs(report: TaskReport, logs: TaskLogs, glacier: string): TaskReport {
  const files: string[] = [];
  for (let attempt = 1; attempt <= report.attempts; attempt++) {
    const path = logs.path(report.id, attempt);
    if (path) files.push(relative(glacier, path));
  }
  if (files.length === 0) return report;
  const tail = logs.tail(report.id, report.attempts);
  return {
    ...report,
    logs: files,
    ...(report.error && tail.length ? { error: { ...report.error, logTail: [...tail] } } : {}),
  };
}

// The error a failed run throws ends with what the failed attempt printed last.
function withTail(error: TaskError, logs: TaskLogs): void {
  const tail = logs.tail(error.nodeId, error.attempt);
  const path = logs.path(error.nodeId, error.attempt);
  if (!path || tail.length === 0 || error.message.includes(path)) return;
  error.message += `\n  the last lines it printed (${path}):\n${
    tail.map((line) => `    ${line}`).join("\n")
  }`;
}

// The run `resume` continues: the one named, or the latest of this pipeline
// (never an older one past a newer success), when it did not succeed and is
// not still running in another process.
async function resumable(name: string, runs: string, resume: true | string): Promise<RunReport> {
  const previous = resume === true ? await latestReport(name, runs) : await readReport(resume, runs);
  if (!previous) {
    throw new GlacierError(
      "USER:NOTHING_TO_RESUME",
      resume === true
        ? `Pipeline "${name}" has no run in ${runs} to resume: run it without "resume" first`
        : `Pipeline "${name}" has no run ${
          JSON.stringify(resume)
        } in ${runs}: pass the id of one of its runs (the name of a report there, without .json), or resume: true for the latest`,
    );
  }
  if (previous.pipeline !== name) {
    throw new GlacierError(
      "USER:NOTHING_TO_RESUME",
      `Run ${previous.runId} is a run of pipeline "${previous.pipeline}", not of "${name}": resume it from that pipeline`,
    );
  }
  if (previous.status === "succeeded") {
    throw new GlacierError(
      "USER:NOTHING_TO_RESUME",
      `The ${
        resume === true ? "latest " : ""
      }run of pipeline "${name}" (${previous.runId}) succeeded, so there is nothing to resume: run it without "resume"`,
    );
  }
  if (previous.status === "running" && await isAlive(previous.process)) {
    throw new GlacierError(
      "USER:RUN_IN_PROGRESS",
      `Run ${previous.runId} of pipeline "${name}" is still running (process ${
        previous.process!.pid
      }): wait for it to end, or stop it (Ctrl-C, kill -TERM ${previous.process!.pid}) and resume then`,
    );
  }
  return previous;
}

// The calls a resumed run restores, and the run whose checkpoint holds each:
// the journal of the run it continues (which names, for calls it restored
// itself, the older run of the chain), or the finished calls of a report
// written before journals.
async function restorable(runs: string, previous: RunReport): Promise<Map<string, Restorable>> {
  const found = new Map<string, Restorable>();
  for (const [node, entry] of await readJournal(runs, previous.runId)) {
    if (entry.checkpoint !== undefined && (entry.status === "done" || entry.status === "cached")) {
      found.set(node, {
        run: entry.checkpoint,
        ...(entry.inline === undefined ? {} : { inline: entry.inline }),
      });
    }
  }
  if (found.size === 0) {
    for (const t of previous.tasks) {
      if (t.status === "done" || t.status === "cached") {
        found.set(t.id, { run: t.restoredFrom ?? previous.runId });
      }
    }
  }
  return found;
}
