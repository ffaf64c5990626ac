/**
 * The `Executor` contract: what the scheduler hands a task call to. The
 * in-process executor lives here in the core; the worker pool, Lambda,
 * Databricks and VM executors live under `executors/` and implement this.
 *
 * @module
 */
import type { Task } from "../task.ts";
import type { LogSink } from "./task_log.ts";

/** One attempt of one task call, as the scheduler hands it to an executor. */
export interface TaskInvocation {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The run's id. */
  readonly runId: string;
  /** The call-site id of the DAG node. */
  readonly nodeId: string;
  /** The task. */
  readonly task: Task;
  /** The arguments, every ref already replaced by its value. */
  readonly args: readonly unknown[];
  /** The attempt, from 1. */
  readonly attempt: number;
  /**
   * The run's data root (`run({ dataRoot })`): the call's buckets are folders
   * under it. An executor sets it around the call (`withDataRoot()`), or sends
   * it in the payload to where the call runs.
   */
  readonly dataRoot?: string;
  /** Aborted when the attempt times out or the run is cancelled. */
  readonly signal: AbortSignal;
  /**
   * Whether the argument values may be lent away while the call runs: this
   * call is the only consumer of each upstream value and nothing awaits them.
   * Executors that move buffers use it to avoid a copy.
   */
  readonly lendable?: boolean;
  /**
   * Call when the task itself starts running (after loading it); an executor
   * with `reportsStart` must, since the task's timeout counts from here.
   */
  readonly onStart?: () => void;
  /**
   * Call when the call leaves the executor's queue for a worker, process or
   * service: the report keeps the time before it (`queuedMs`) apart from the
   * run time. An executor with `reportsDispatch` must.
   */
  readonly onDispatch?: () => void;
  /**
   * Where what the task prints through `console` goes, as it comes: an
   * executor sets it around the call (`withTaskLog()`) or relays it from
   * where the call runs. Unset, output goes where it would without Glacier.
   */
  readonly onLog?: LogSink;
  /**
   * Where the rows its `skipBadLines` scans dropped go, by object URI: an
   * executor that counts them (`withSkippedLines()` around the call, or a
   * relay from where it runs) calls it once the attempt succeeds, before
   * its value resolves, when any scan skipped lines.
   */
  readonly onSkippedLines?: (counts: Record<string, number>) => void;
  /**
   * The call's place in a queue, higher first: the longest chain of calls
   * that wait on it (so the critical path goes first, not the first ready).
   */
  readonly priority?: number;
}

/** Runs task invocations somewhere: in this process, on workers, or remotely. */
export interface Executor {
  /** Where it runs, for reports: `in-process`, `worker`, `lambda`, … */
  readonly name: string;
  /**
   * Whether the executor calls `onStart` when the task starts: then a task's
   * timeout does not count the time to load it (a worker importing a module).
   */
  readonly reportsStart?: boolean;
  /** Whether the executor calls `onDispatch` (it queues calls); otherwise a call runs as it is handed over. */
  readonly reportsDispatch?: boolean;
  /**
   * Runs one attempt and resolves to the task's value.
   * A `TaskError` it throws is kept as is; any other error is wrapped.
   */
  execute(invocation: TaskInvocation): Promise<unknown>;
  /** Releases what the executor holds (workers, connections). */
  close(): Promise<void>;
  /**
   * Told when a call of `task` is recorded, before it can run, so the
   * executor can get ready (a pool imports the task's module in every worker).
   */
  prepare?(task: Task): void;
  /**
   * Told as a run starts that its tasks come from `module` (the pipeline's
   * own module, when it defines tasks), before any call is recorded: a pool's
   * workers import it while the run sets up.
   */
  preload?(module: string): void;
  /**
   * Told once every call is recorded how many of its calls may run at once
   * (the widest level of the DAG), so it can start workers before calls
   * queue for them.
   */
  expect?(calls: number): void;
}

/** Makes the executors of one run. */
export interface ExecutorFactory {
  /** Builds an executor for a run with these options. */
  (options: { workers?: number; pipeline: string }): Executor;
}
