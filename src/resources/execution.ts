/**
 * Execution resources: where tasks run. Each is created by one
 * {@linkcode Provider} (`local()`, `serverless()`, `vm()`, `cluster()`) and
 * binds the tasks created from it.
 *
 * @module
 */
import type { ExecutionConfig, ProviderConfig, ResourceKind } from "../config/mod.ts";
import { type AnyArgs, defineTask, type Task, type TaskOptions } from "../task.ts";
import { CORE_STORAGE, type StorageWiring } from "./object_store.ts";
import { GlacierError } from "../errors.ts";
import type { Ref } from "../trace/ref.ts";

/** The execution resource a node is bound to, as plain data: what `ExecutionResource.info()` gives. */
export interface ResourceInfo {
  /** `local`, `serverless`, `vm` or `cluster`. */
  readonly kind: ResourceKind;
  /** The service, such as `local`, `lambda`, `databricks`. */
  readonly service: string;
  /** The resource's name in its provider, such as `lambda` or `gpu_cluster`. */
  readonly name: string;
  /** The config's fields, as plain data. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** What calling a task does: its provider's dispatcher (`callTask` in `src/call.ts`). */
export type TaskCall = (task: Task, args: readonly unknown[]) => Ref<unknown>;

// Resources rebuilt from data (static analysis, a sandboxed trace) describe
// where tasks run; their tasks are not meant to be called.
function notCallable(task: Task): never {
  throw new GlacierError(
    "SYSTEM:TASK_NOT_CALLABLE",
    `Task "${task.name}" belongs to a resource rebuilt for analysis; call the task made by its Provider instead`,
  );
}

/**
 * A place tasks run: this machine, a serverless function, a VM or a cluster.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider } from "../provider.ts";
 * const local = new Provider().local();
 * const double = local.task(function double(x: number) { return x * 2; });
 * assert.ok((await double(21)) === 42);
 * ```
 */
export class ExecutionResource {
  /** `local`, `serverless`, `vm` or `cluster`. */
  readonly kind: ResourceKind;
  /** The service: `local`, `lambda`, `databricks`, … */
  readonly service: string;
  /** The resource's name in its provider (unique there). */
  readonly name: string;
  /** The config, absent for `local`. */
  readonly config?: ExecutionConfig;
  /** The cloud of the provider that made it. */
  readonly cloud: string;
  /** The stores and formats of its provider's wiring: what its tasks' payloads are read with, wherever they run. */
  readonly storage: StorageWiring;
  readonly #provider?: ProviderConfig;
  readonly #call: TaskCall;

  /** Use the provider's methods, which build this. */
  constructor(
    init: {
      kind: ResourceKind;
      service: string;
      name: string;
      cloud: string;
      config?: ExecutionConfig;
      provider?: ProviderConfig;
      storage?: StorageWiring;
      call?: TaskCall;
    },
  ) {
    this.#provider = init.provider;
    this.kind = init.kind;
    this.service = init.service;
    this.name = init.name;
    this.cloud = init.cloud;
    this.config = init.config;
    this.storage = init.storage ?? CORE_STORAGE;
    this.#call = init.call ?? notCallable;
  }

  /**
   * Binds a function to this resource as a task.
   *
   * @param fn A named function.
   * @returns The task.
   * @throws {TypeError} When `fn` is anonymous.
   */
  task<A extends AnyArgs, R>(fn: (...args: A) => R): Task<A, R>;
  /**
   * Binds a function to this resource as a task, with options.
   *
   * @param options Name, timeout, retries, cache, permissions, reads, writes.
   * @param fn The function.
   * @returns The task.
   * @throws {TypeError} When `fn` is anonymous and no `name` is given.
   * @throws {RangeError} When an option is out of range.
   */
  task<A extends AnyArgs, R>(options: TaskOptions, fn: (...args: A) => R): Task<A, R>;
  task<A extends AnyArgs, R>(
    optionsOrFn: TaskOptions | ((...args: A) => R),
    maybeFn?: (...args: A) => R,
  ): Task<A, R> {
    if (typeof optionsOrFn === "function") return defineTask(this, {}, optionsOrFn, this.#call);
    if (optionsOrFn === null || typeof optionsOrFn !== "object") {
      throw new TypeError(
        `${this.name}.task(): expected a function or (options, function), got ${typeof optionsOrFn}`,
      );
    }
    return defineTask(this, optionsOrFn, maybeFn as (...args: A) => R, this.#call);
  }

  /** The config of the provider that made it (cloud runs read its region and staging location). */
  get providerConfig(): ProviderConfig | undefined {
    return this.#provider;
  }

  #info?: ResourceInfo;

  /** Plain data for the DAG and reports (built once: configs are immutable). */
  info(): ResourceInfo {
    if (this.#info) return this.#info;
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.config ?? {})) {
      if (key !== "kind" && key !== "service" && key !== "clouds" && value !== undefined) config[key] = value;
    }
    return this.#info = Object.freeze({ kind: this.kind, service: this.service, name: this.name, config });
  }
}
