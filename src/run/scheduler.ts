/**
 * The scheduler: the run-mode observer of a pipeline context. A call runs as
 * soon as its inputs are ready (stages are for pictures and generated
 * orchestrators, not barriers); independent branches interleave; a failed
 * call skips its dependents while every other branch finishes.
 *
 * @module
 */
import { readRoutedFrames } from "../data/payload.ts";
import { GlacierError, type TaskError } from "../errors.ts";
import type { Task } from "../task.ts";
import type { CallObserver, RecordedCall } from "../trace/context.ts";
import { followPath, forEachRef, type PathKey, substitute } from "../trace/ref.ts";
import { runAttempts, toTaskError } from "./attempt.ts";
import type { Executor } from "./executor.ts";
import type { TaskReport, TaskStatus } from "./report.ts";
import type { LogSink } from "./task_log.ts";
import type { SkippedLines } from "./skipped_lines.ts";

/** Something that happened to a call, for progress displays. */
export interface RunEvent {
  /** What happened. */
  type: "queued" | "start" | "retry" | "done" | "cached" | "failed" | "skipped" | "interrupted";
  /** The call-site id. */
  id: string;
  /** The task's name. */
  task: string;
  /** The resource the task is bound to. */
  executor: string;
  /** The attempt, from 1. */
  attempt: number;
  /** For `failed` and `retry`: the error. */
  error?: TaskError;
  /** The task's `timeout` in ms, when it has one. */
  timeout?: number;
  /** For `cached`: where the value came from, `cache` or `checkpoint` (a resumed run's restored call). */
  from?: string;
}

/** A call's value found without running it (cache or checkpoint). */
export interface Reuse {
  /** The value. */
  value: unknown;
  /** Where it came from, for the report: `cache`, `checkpoint`. */
  from: string;
}

/** Options for {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /** The pipeline's name. */
  pipeline: string;
  /** The run's id. */
  runId: string;
  /** The executor for a task (by its resource and the run's mode). */
  executorFor(task: Task): Executor;
  /** The run's data root, handed to every call (`TaskInvocation.dataRoot`). @default {undefined} */
  dataRoot?: string;
  /** Told of every state change. @default {undefined} */
  onEvent?(event: RunEvent): void;
  /** Looks up a value to reuse instead of running the call; undefined when there is nothing to look up. @default {undefined} */
  reuse?(call: RecordedCall, args: readonly unknown[]): Promise<Reuse | undefined> | undefined;
  /** Where each call attempt's `console` output goes (`TaskInvocation.onLog`). @default {undefined} */
  log?(nodeId: string, attempt: number): LogSink;
  /** Told of every value a call produced by running; undefined when there is nothing to wait for. @default {undefined} */
  produced?(call: RecordedCall, args: readonly unknown[], value: unknown): Promise<void> | undefined;
}

interface NodeRun {
  readonly call: RecordedCall;
  status: TaskStatus;
  waiting: number;
  readonly dependents: NodeRun[];
  attempts: number;
  /** Calls that take this call's value. */
  consumers: number;
  /** How many of them have taken it (started with it as an argument). */
  taken: number;
  /** Whether the pipeline's own code needs the value: it awaited it, or returned it. */
  kept: boolean;
  /** The value was let go once its last consumer took it (it lives on in its checkpoint). */
  released?: boolean;
  value?: unknown;
  error?: TaskError;
  skippedBecause?: string;
  /** What the successful attempt's `skipBadLines` scans dropped. */
  skippedLines?: SkippedLines;
  ranOn?: string;
  startedAt?: number;
  startedWall?: string;
  /** When the executor took it from its queue (a worker was free). */
  dispatchedAt?: number;
  /** The longest chain of recorded calls waiting on this one, itself included (at most {@linkcode MAX_HEIGHT}). */
  height: number;
  endedAt?: number;
  waiters?: { resolve(value: unknown): void; reject(error: unknown): void }[];
}

const ms = (t: number) => Math.round(t * 1000) / 1000;

// How many groups the calls fall into when calls that share an upstream call are one group.
function independentGroups(calls: readonly NodeRun[]): number {
  const group = new Map<string, number>(); // upstream call → its group
  const parent: number[] = [];
  const root = (g: number): number => (parent[g] === g ? g : (parent[g] = root(parent[g])));
  for (const [i, node] of calls.entries()) {
    parent.push(i);
    for (const dep of node.call.deps) {
      const other = group.get(dep);
      if (other === undefined) group.set(dep, i);
      else parent[root(other)] = root(i);
    }
  }
  return new Set(parent.map((_, i) => root(i))).size;
}

// How far a call's priority looks down the DAG: enough to put a long chain
// first, and recording stays linear for a pipeline of thousands of calls.
const MAX_HEIGHT = 64;

/** Runs recorded calls as their inputs become ready. */
export class Scheduler implements CallObserver {
  readonly #options: SchedulerOptions;
  readonly #nodes = new Map<string, NodeRun>();
  #unsettled = 0;
  #closed = false;
  #idle: (() => void)[] = [];
  /** Aborted by {@linkcode Scheduler.cancel}: every running attempt's signal follows it. */
  readonly #cancel = new AbortController();

  /**
   * Builds it.
   * @param options The pipeline, run and executors.
   */
  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** Takes a new call: starts it now if its inputs are ready. */
  onCall(call: RecordedCall): void {
    const node: NodeRun = {
      call,
      status: "waiting",
      waiting: 0,
      dependents: [],
      attempts: 0,
      consumers: 0,
      taken: 0,
      kept: false,
      height: 1,
    };
    this.#nodes.set(call.nodeId, node);
    this.#unsettled++;
    this.#emit(node, "queued");
    this.#options.executorFor(call.task).prepare?.(call.task);
    this.#raise(call, 2);
    let failedDep: NodeRun | undefined;
    for (const id of call.deps) {
      const dep = this.#nodes.get(id)!;
      dep.consumers++;
      if (dep.status === "failed" || dep.status === "skipped") failedDep ??= dep;
      else if (dep.status !== "done" && dep.status !== "cached") {
        dep.dependents.push(node);
        node.waiting++;
      }
    }
    if (this.#cancel.signal.aborted) this.#interrupt(node);
    else if (failedDep) this.#skip(node, failedDep);
    else if (node.waiting === 0) queueMicrotask(() => this.#start(node));
  }

  // A new call makes the chains above it longer: raise its ancestors' heights.
  #raise(call: RecordedCall, height: number): void {
    if (height > MAX_HEIGHT) return;
    for (const id of call.deps) {
      const dep = this.#nodes.get(id)!;
      if (dep.height >= height) continue;
      dep.height = height;
      this.#raise(dep.call, height + 1);
    }
  }

  /**
   * Stops the run: no call starts any more, and every running attempt's
   * signal is aborted with `reason` (the executors stop the task: a worker is
   * terminated, a process killed). Calls that were running or waiting end
   * `interrupted`; those that finished keep their values.
   *
   * @param reason Why, as the running calls' error.
   */
  cancel(reason: Error): void {
    if (this.#cancel.signal.aborted) return;
    this.#cancel.abort(reason);
    for (const node of this.#nodes.values()) if (node.status === "waiting") this.#interrupt(node);
  }

  /**
   * What `await ref` gives in a run: the value, once the call has run, with
   * the frames the pool routes unread read into polars (`readRoutedFrames`),
   * frames of its own: the pipeline's code may change them in place, and the
   * call's other consumers get the value as it was returned.
   */
  resolve(call: RecordedCall, path: readonly PathKey[]): Promise<unknown> {
    const node = this.#nodes.get(call.nodeId)!;
    node.kept = true;
    const handOut = (value: unknown) => readRoutedFrames(followPath(value, path));
    if (node.status === "done" || node.status === "cached") return Promise.resolve(handOut(node.value));
    if (node.status === "failed" || node.status === "skipped") return Promise.reject(this.#rootError(node));
    return new Promise((resolve, reject) => {
      (node.waiters ??= []).push({ resolve: (v) => resolve(handOut(v)), reject });
    });
  }

  /**
   * Marks the end of recording: the pipeline function has returned, no call
   * will be added. From now on a value is let go as soon as its last
   * consumer has taken it, unless the pipeline returned it.
   *
   * @param returned What the pipeline function returned: the refs in it keep their values.
   */
  closeRecording(returned?: unknown): void {
    this.#closed = true;
    forEachRef(returned, (state) => {
      const node = this.#nodes.get(state.source.nodeId);
      if (node) node.kept = true;
    });
    for (const node of this.#nodes.values()) this.#release(node);
    this.#expect();
  }

  // Each executor hears how many of its waiting calls may run at once: per
  // level (calls with chains of the same length below them), the groups of
  // calls joined by an upstream call they share. Calls that share one likely
  // read the same frame, which a pool runs where that frame already is
  // (`pool.ts`): starting a worker for each of them ahead would compete with
  // the upstream call for the CPU, and they start workers as they queue.
  #expect(): void {
    const levels = new Map<Executor, Map<number, NodeRun[]>>();
    for (const node of this.#nodes.values()) {
      if (node.status !== "waiting") continue;
      const executor = this.#options.executorFor(node.call.task);
      if (!executor.expect) continue;
      const byLevel = levels.get(executor) ?? new Map<number, NodeRun[]>();
      const level = byLevel.get(node.height);
      if (level) level.push(node);
      else byLevel.set(node.height, [node]);
      levels.set(executor, byLevel);
    }
    for (const [executor, byLevel] of levels) {
      executor.expect!(Math.max(...[...byLevel.values()].map(independentGroups)));
    }
  }

  // Memory follows the working set, not the DAG: a value nobody will take
  // again goes (a running consumer holds its own arguments).
  #release(node: NodeRun): void {
    if (!this.#closed || node.kept || node.released || node.taken < node.consumers) return;
    if (node.status !== "done" && node.status !== "cached") return;
    node.value = undefined;
    node.released = true;
  }

  /** Resolves when every call recorded so far has settled. */
  settled(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The failures, in recording order. */
  failures(): TaskError[] {
    return [...this.#nodes.values()].filter((n) => n.status === "failed").map((n) => n.error!);
  }

  /** The calls that finished (ran or were reused) and still hold their values, with them. */
  finished(): { call: RecordedCall; value: unknown }[] {
    return [...this.#nodes.values()]
      .filter((n) => (n.status === "done" || n.status === "cached") && !n.released)
      .map((n) => ({ call: n.call, value: n.value }));
  }

  /** The per-call reports, in recording order. */
  reports(): TaskReport[] {
    return [...this.#nodes.values()].map((n) => ({
      id: n.call.nodeId,
      task: n.call.task.name,
      executor: n.call.task.resource.name,
      ...(n.ranOn ? { ranOn: n.ranOn } : {}),
      status: n.status,
      attempts: n.attempts,
      ...(n.startedWall ? { startedAt: n.startedWall } : {}),
      ...(n.startedAt !== undefined && n.endedAt !== undefined
        ? {
          durationMs: ms(n.endedAt - (n.dispatchedAt ?? n.startedAt)),
          queuedMs: ms((n.dispatchedAt ?? n.startedAt) - n.startedAt),
        }
        : {}),
      cached: n.status === "cached",
      ...(n.error ? { error: { code: n.error.code, message: n.error.message, stack: n.error.stack } } : {}),
      ...(n.skippedBecause ? { skippedBecause: n.skippedBecause } : {}),
      ...(n.skippedLines ? { skippedLines: n.skippedLines } : {}),
    }));
  }

  async #start(node: NodeRun): Promise<void> {
    const { call } = node;
    const options = this.#options;
    if (node.status !== "waiting") return; // interrupted meanwhile
    if (this.#cancel.signal.aborted) return this.#interrupt(node);
    node.status = "running";
    node.startedAt = performance.now();
    node.startedWall = new Date().toISOString();
    let args: unknown[];
    try {
      args = substitute(call.args, (state) => this.#nodes.get(state.source.nodeId)!.value) as unknown[];
      for (const id of call.deps) {
        const dep = this.#nodes.get(id)!;
        dep.taken++;
        this.#release(dep);
      }
      const lookup = options.reuse?.(call, args);
      const reused = lookup && await lookup;
      if (reused) {
        node.ranOn = reused.from;
        return this.#settle(node, "cached", reused.value);
      }
    } catch (error) {
      return this.#fail(node, toTaskError(this.#scope(call), 1, error));
    }
    const executor = options.executorFor(call.task);
    node.ranOn = executor.name;
    node.attempts = 1;
    // Shown running once it runs: an executor that queues says when.
    const queues = executor.reportsDispatch === true;
    if (!queues) this.#emit(node, "start");
    try {
      const result = await runAttempts(
        this.#scope(call),
        (attempt, signal, started) => {
          node.attempts = attempt;
          const stop = this.#cancel.signal;
          if (stop.aborted) return Promise.reject(stop.reason);
          return executor.execute({
            pipeline: options.pipeline,
            runId: options.runId,
            nodeId: call.nodeId,
            task: call.task,
            args,
            attempt,
            ...(options.dataRoot === undefined ? {} : { dataRoot: options.dataRoot }),
            signal: AbortSignal.any([signal, stop]),
            lendable: this.#lendable(call),
            onStart: started,
            ...(options.log ? { onLog: options.log(call.nodeId, attempt) } : {}),
            onSkippedLines: (counts) => void (node.skippedLines = counts),
            priority: node.height,
            onDispatch: () => {
              if (node.dispatchedAt !== undefined) return; // a retry runs again, it waited once
              node.dispatchedAt = performance.now();
              if (queues) this.#emit(node, "start");
            },
          });
        },
        (error, next) => {
          node.attempts = next;
          this.#emit(node, "retry", error);
        },
        executor.reportsStart === true,
      );
      const stored = options.produced?.(call, args, result.value);
      if (stored) await stored;
      this.#settle(node, "done", result.value);
    } catch (error) {
      this.#fail(node, toTaskError(this.#scope(call), node.attempts || 1, error));
    }
  }

  // Values may be lent away only once recording is over and this call is the
  // sole consumer of each input that nothing else awaited.
  #lendable(call: RecordedCall): boolean {
    if (!this.#closed) return false;
    return call.deps.every((id) => {
      const dep = this.#nodes.get(id)!;
      return dep.consumers === 1 && !dep.kept;
    });
  }

  #emit(node: NodeRun, type: RunEvent["type"], error?: TaskError): void {
    if (!this.#options.onEvent) return;
    const { call } = node;
    this.#options.onEvent({
      type,
      id: call.nodeId,
      task: call.task.name,
      executor: call.task.resource.name,
      attempt: node.attempts,
      ...(call.task.options.timeout === undefined ? {} : { timeout: call.task.options.timeout }),
      ...(type === "cached" && node.ranOn ? { from: node.ranOn } : {}),
      ...(error ? { error } : {}),
    });
  }

  #scope(call: RecordedCall) {
    return { pipeline: this.#options.pipeline, nodeId: call.nodeId, task: call.task };
  }

  #settle(node: NodeRun, status: "done" | "cached", value: unknown): void {
    node.status = status;
    node.value = value;
    node.endedAt = performance.now();
    this.#emit(node, status);
    for (const waiter of node.waiters ?? []) waiter.resolve(value);
    node.waiters = undefined;
    for (const dependent of node.dependents) {
      if (dependent.status === "waiting" && --dependent.waiting === 0) this.#start(dependent);
    }
    this.#done();
  }

  #fail(node: NodeRun, error: TaskError): void {
    if (this.#cancel.signal.aborted) {
      node.error = error;
      return this.#interrupt(node);
    }
    node.status = "failed";
    node.error = error;
    node.endedAt = performance.now();
    this.#emit(node, "failed", error);
    this.#rejectWaiters(node, error);
    for (const dependent of node.dependents) if (dependent.status === "waiting") this.#skip(dependent, node);
    this.#done();
  }

  #skip(node: NodeRun, because: NodeRun): void {
    node.status = "skipped";
    node.skippedBecause = because.skippedBecause ?? because.call.nodeId;
    this.#emit(node, "skipped");
    this.#rejectWaiters(node, this.#rootError(node));
    for (const dependent of node.dependents) if (dependent.status === "waiting") this.#skip(dependent, node);
    this.#done();
  }

  // Ends a call that was stopped or never started because the run was
  // cancelled, and every call waiting on it.
  #interrupt(node: NodeRun): void {
    if (node.status !== "waiting" && node.status !== "running") return;
    node.status = "interrupted";
    node.endedAt = node.startedAt === undefined ? undefined : performance.now();
    this.#emit(node, "interrupted");
    this.#rejectWaiters(node, this.#cancel.signal.reason);
    for (const dependent of node.dependents) this.#interrupt(dependent);
    this.#done();
  }

  #rootError(node: NodeRun): TaskError | GlacierError {
    if (node.error) return node.error;
    const root = this.#nodes.get(node.skippedBecause!);
    return root?.error ??
      new GlacierError(
        "USER:UPSTREAM_FAILED",
        `Task call "${node.call.nodeId}" was skipped: "${node.skippedBecause}" failed`,
      );
  }

  #rejectWaiters(node: NodeRun, error: unknown): void {
    for (const waiter of node.waiters ?? []) waiter.reject(error);
    node.waiters = undefined;
  }

  #done(): void {
    if (--this.#unsettled === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}
