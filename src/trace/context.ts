/**
 * The pipeline context: while a pipeline function runs, every task call is
 * recorded here as a {@linkcode RecordedCall} with a unique call-site id. An
 * observer decides what a call means: the tracer only records, the scheduler
 * also executes.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { GlacierError } from "../errors.ts";
import type { Task } from "../task.ts";
import { forEachRef, makeRef, type PathKey, type Ref, type RefSource } from "./ref.ts";
import { currentCallSite, type SiteIds } from "./site.ts";

/** One task call inside a pipeline: a node of the DAG to be. */
export interface RecordedCall extends RefSource {
  /** The task called. */
  readonly task: Task;
  /** The arguments as given, refs included. */
  readonly args: readonly unknown[];
  /** The ids of the calls whose values this call needs, each once, in order. */
  readonly deps: readonly string[];
  /**
   * Whether the call was made in a callback run over a list known only at run
   * time (tracing's stand-in for an awaited value): its count is known only at
   * run time. A call after an `await` is not dynamic for that alone.
   */
  readonly dynamic: boolean;
  /** The position of the call in recording order. */
  readonly index: number;
}

/** What a pipeline context does with calls. */
export interface CallObserver {
  /** Called once per recorded call, in order. */
  onCall(call: RecordedCall): void;
  /** What `await ref` gives for a call's value at a path. */
  resolve(call: RecordedCall, path: readonly PathKey[]): Promise<unknown>;
}

/** The calls of one pipeline execution (a run or a trace). */
export class PipelineContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The calls in recording order. */
  readonly calls: RecordedCall[] = [];
  /** How many loops over a run-time list (`for…of` over a stand-in) are open here: their calls are dynamic. */
  loops = 0;
  readonly #observer: CallObserver;
  readonly #byId = new Map<string, RecordedCall>();
  readonly #counts = new Map<string, number>();
  readonly #siteIds?: SiteIds;

  /**
   * Builds it.
   * @param pipeline The pipeline's name.
   * @param observer What to do with each call.
   * @param siteIds When given, calls take the ids of their call sites in the static DAG (replays).
   */
  constructor(pipeline: string, observer: CallObserver, siteIds?: SiteIds) {
    this.pipeline = pipeline;
    this.#observer = observer;
    this.#siteIds = siteIds;
  }

  /** The call with this id. */
  get(id: string): RecordedCall | undefined {
    return this.#byId.get(id);
  }

  /**
   * Records a task call and returns its ref.
   *
   * @throws {GlacierError} When an argument holds a ref from another pipeline execution.
   */
  record(task: Task, args: readonly unknown[]): Ref<unknown> {
    const count = (this.#counts.get(task.name) ?? 0) + 1;
    this.#counts.set(task.name, count);
    const id = this.#siteIds
      ? this.#siteIds.take(task.name, currentCallSite()) ?? `${task.name}@?${count}`
      : count === 1
      ? task.name
      : `${task.name}#${count}`;
    const deps = new Set<string>();
    forEachRef(args, (state) => {
      const depId = state.source.nodeId;
      if (deps.has(depId)) return;
      if (this.#byId.get(depId) !== state.source) {
        throw new GlacierError(
          "USER:FOREIGN_REF",
          `Task "${task.name}" in pipeline "${this.pipeline}" was given a ref to "${depId}" from outside this pipeline run; await that value first and pass the value`,
        );
      }
      deps.add(depId);
    });
    const observer = this.#observer;
    const call: RecordedCall = {
      nodeId: id,
      taskName: task.name,
      task,
      args,
      deps: [...deps],
      dynamic: this.loops > 0 || (runtimeLoops.getStore() ?? 0) > 0,
      index: this.calls.length,
      resolve(path) {
        return observer.resolve(call, path);
      },
    };
    this.calls.push(call);
    this.#byId.set(id, call);
    observer.onCall(call);
    return makeRef(call);
  }
}

const storage = new AsyncLocalStorage<PipelineContext | undefined>();
// The callbacks over run-time lists this code runs in, also across their awaits.
const runtimeLoops = new AsyncLocalStorage<number>();

/**
 * Runs `fn` as a callback over a list known only at run time: the calls it
 * makes, also after its own awaits, are dynamic.
 */
export function inRuntimeLoop<T>(fn: () => T): T {
  return runtimeLoops.run((runtimeLoops.getStore() ?? 0) + 1, fn);
}

/** The context of the pipeline execution this code runs in, if any. */
export function currentContext(): PipelineContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `context` as the current pipeline context (also across its awaits). */
export function withContext<T>(context: PipelineContext | undefined, fn: () => T): T {
  return storage.run(context, fn);
}
