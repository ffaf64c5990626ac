/**
 * Tasks: plain functions bound to the execution resource they were created
 * from. Calling a task inside a pipeline records a call and returns a
 * {@linkcode Ref}; calling it anywhere else runs it at once.
 *
 * @module
 */
import { callerModule } from "./_caller.ts";
import type { ExecutionResource } from "./resources/execution.ts";
import type { Inputs, Ref } from "./trace/ref.ts";
import type { TaskError } from "./errors.ts";
import { intInRange } from "./_validate.ts";

/** Deno permissions for the worker that runs a task (`"inherit"`, `"none"`, or per permission). */
export type TaskPermissions = "inherit" | "none" | Deno.PermissionOptionsObject;

/** Rough per-run figures for cost estimates when no run report exists yet. */
export interface TaskEstimate {
  /** Typical duration of one call in milliseconds. */
  durationMs?: number;
  /** Typical bytes read plus written by one call. */
  dataBytes?: number;
  /** Typical number of calls per run (for dynamic fan-outs). */
  calls?: number;
}

/** Options for a task, given to `resource.task(options, fn)`. */
export interface TaskOptions {
  /** The task's name, unique in its module. @default {fn.name} */
  name?: string;
  /** Milliseconds one attempt may take before it fails with a timeout. @default {undefined} */
  timeout?: number;
  /** How many times a failed attempt is retried. @default {0} */
  retries?: number;
  /** Milliseconds before the first retry; doubles each retry, with jitter. @default {200} */
  retryDelay?: number;
  /**
   * Which failures are retried, within `retries`. By default every failure
   * is retried except a user error: one whose code starts with `USER:`, such
   * as `USER:OBJECT_NOT_FOUND` (a missing object), a corrupt file, a schema
   * mismatch or a bad argument, which fails the same way each time (a
   * timeout, `USER:TASK_TIMEOUT`, and a plain `Error`, `USER:TASK_FAILED`,
   * are still retried; so is every `SYSTEM:` error). As in Airflow, where
   * every failure is retried, `"any"` retries user errors too; a list of
   * codes, such as `["USER:OBJECT_NOT_FOUND"]` for a file that lands late,
   * retries those besides the default ones; as Prefect's
   * `retry_condition_fn`, a function is given each failed attempt's
   * `TaskError` (the thrown error is its `cause`, the default's decision its
   * `retryable`) and retries when it returns `true`.
   * @default {undefined}
   */
  retryOn?: "any" | readonly string[] | ((error: TaskError) => boolean);
  /** Keep the output content-addressed and reuse it for the same task source and inputs. @default {false} */
  cache?: boolean;
  /**
   * A version of the task's code you bump by hand (like Dagster's
   * `code_version`): part of the cache key, so changing it drops the task's
   * cached outputs. The key already covers the source of the task's module
   * and of the local modules it imports; use this for what it cannot see,
   * such as a changed service the task calls. @default {undefined}
   */
  cacheVersion?: string;
  /** Milliseconds a cached output is reused after it was written; older is a miss. @default {undefined} */
  cacheExpiry?: number;
  /** Deno permissions for the worker that runs the task. @default {"inherit"} */
  permissions?: TaskPermissions;
  /** Storage URIs the task reads beyond its bucket arguments. @default {[]} */
  reads?: readonly string[];
  /** Storage URIs the task writes beyond its bucket arguments. @default {[]} */
  writes?: readonly string[];
  /** Figures for cost estimates before the first run. @default {undefined} */
  estimate?: TaskEstimate;
}

/** The resolved options of a task: every field has its value. */
export interface ResolvedTaskOptions {
  /** Milliseconds one attempt may take, or undefined for no limit. */
  readonly timeout?: number;
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Milliseconds before the first retry. */
  readonly retryDelay: number;
  /** Which failures are retried, or undefined for all but user errors. */
  readonly retryOn?: "any" | readonly string[] | ((error: TaskError) => boolean);
  /** Whether outputs are cached. */
  readonly cache: boolean;
  /** The hand-bumped cache version, part of the cache key. */
  readonly cacheVersion?: string;
  /** Milliseconds a cached output is reused, or undefined for no limit. */
  readonly cacheExpiry?: number;
  /** Deno permissions of the worker. */
  readonly permissions: TaskPermissions;
  /** Extra storage URIs read. */
  readonly reads: readonly string[];
  /** Extra storage URIs written. */
  readonly writes: readonly string[];
  /** Figures for cost estimates. */
  readonly estimate?: TaskEstimate;
}

/** Any parameter list. */
// deno-lint-ignore no-explicit-any
export type AnyArgs = any[];

/** What a task carries besides being callable. */
export interface TaskInfo<A extends AnyArgs = AnyArgs, R = unknown> {
  /** The task's name. */
  readonly name: string;
  /** The resource the task is bound to. */
  readonly resource: ExecutionResource;
  /** The resolved options. */
  readonly options: ResolvedTaskOptions;
  /** The function itself. */
  readonly fn: (...args: A) => R;
  /** The function's source text (as the runtime sees it). */
  readonly source: string;
  /** The URL of the module that defined the task; workers and remote runners import it. */
  readonly module: string;
}

/**
 * A task: call it like the function it wraps. Inside a pipeline the call
 * returns a {@linkcode Ref}; elsewhere it runs at once and the ref can be awaited.
 */
export type Task<A extends AnyArgs = AnyArgs, R = unknown> =
  & ((...args: Inputs<A>) => Ref<Awaited<R>>)
  & TaskInfo<A, R>;

const TASK = Symbol.for("glacier.task");

/** Whether a value is a task. */
export function isTask(value: unknown): value is Task {
  return typeof value === "function" && (value as unknown as Record<symbol, unknown>)[TASK] === true;
}

/**
 * Builds a task bound to `resource`. Use `resource.task(...)`, which calls this.
 *
 * @param resource The execution resource.
 * @param options The task's options.
 * @param fn The function, named unless `options.name` is given.
 * @param call What calling the task does (the provider's dispatcher, `callTask`).
 * @returns The task.
 * @throws {TypeError} When `fn` is not a function or is anonymous without a `name`.
 * @throws {TypeError} When `cacheVersion` is not a non-empty string, or `cacheExpiry` not a whole number.
 * @throws {RangeError} When `timeout`, `retries`, `retryDelay` or `cacheExpiry` are out of range.
 * @throws {TypeError} When `retryOn` is not `"any"`, a list of error codes or a function.
 */
export function defineTask<A extends AnyArgs, R>(
  resource: ExecutionResource,
  options: TaskOptions,
  fn: (...args: A) => R,
  call: (task: Task, args: readonly unknown[]) => Ref<unknown>,
): Task<A, R> {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot define a task on "${resource.name}": expected a function, got ${typeof fn}`);
  }
  if (isTask(fn)) {
    throw new TypeError(
      `Cannot define a task from task "${fn.name}": it is already bound to "${fn.resource.name}"`,
    );
  }
  const name = options.name ?? fn.name;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot define a task on "${resource.name}" from an anonymous function: name it (function clean(df) {...}) or pass { name: "clean" }`,
    );
  }
  if (!/^[A-Za-z_$][\w$-]*$/.test(name)) {
    throw new TypeError(
      `Task name ${
        JSON.stringify(name)
      } is not usable: use letters, digits, "_", "-" or "$", starting with a letter`,
    );
  }
  const owner = `Task "${name}"`;
  intInRange(owner, "timeout", options.timeout, 1, 2 ** 31 - 1, "ms");
  intInRange(owner, "retries", options.retries, 0, 100);
  intInRange(owner, "retryDelay", options.retryDelay, 0, 3_600_000, "ms");
  const retryOn = checkRetryOn(owner, options.retryOn);
  if (
    options.cacheVersion !== undefined &&
    (typeof options.cacheVersion !== "string" || options.cacheVersion === "")
  ) {
    throw new TypeError(
      `${owner}: "cacheVersion" must be a non-empty string, got ${
        JSON.stringify(options.cacheVersion) ?? typeof options.cacheVersion
      }`,
    );
  }
  intInRange(owner, "cacheExpiry", options.cacheExpiry, 1, Number.MAX_SAFE_INTEGER, "ms");
  const resolved: ResolvedTaskOptions = Object.freeze({
    timeout: options.timeout,
    retries: options.retries ?? 0,
    retryDelay: options.retryDelay ?? 200,
    retryOn,
    cache: options.cache ?? false,
    cacheVersion: options.cacheVersion,
    cacheExpiry: options.cacheExpiry,
    permissions: options.permissions ?? "inherit",
    reads: Object.freeze([...(options.reads ?? [])]),
    writes: Object.freeze([...(options.writes ?? [])]),
    estimate: options.estimate,
  });
  const module = callerModule() ?? "unknown:";
  const task = function (...args: unknown[]) {
    return call(task as unknown as Task, args);
  };
  Object.defineProperties(task, {
    name: { value: name },
    resource: { value: resource, enumerable: true },
    options: { value: resolved, enumerable: true },
    fn: { value: fn },
    source: { value: Function.prototype.toString.call(fn) },
    module: { value: module, enumerable: true },
    [TASK]: { value: true },
  });
  registerTask(task as unknown as Task);
  return task as unknown as Task<A, R>;
}

const CODE = /^(USER|SYSTEM):[A-Z0-9_]+$/;

function checkRetryOn(owner: string, retryOn: unknown): TaskOptions["retryOn"] {
  if (retryOn === undefined || retryOn === "any" || typeof retryOn === "function") {
    return retryOn as TaskOptions["retryOn"];
  }
  if (Array.isArray(retryOn)) {
    const bad = retryOn.find((code) => typeof code !== "string" || !CODE.test(code));
    if (bad === undefined) return Object.freeze([...retryOn]);
    throw new TypeError(
      `${owner}: "retryOn" lists ${
        JSON.stringify(bad) ?? String(bad)
      }, which is not an error code: list codes as errors carry them, such as "USER:OBJECT_NOT_FOUND" or "SYSTEM:WORKER_DIED"`,
    );
  }
  let shown: string;
  try {
    shown = JSON.stringify(retryOn) ?? String(retryOn);
  } catch {
    shown = String(retryOn);
  }
  throw new TypeError(
    `${owner}: "retryOn" is ${shown}; give "any", a list of error codes such as ["USER:OBJECT_NOT_FOUND"], or a function (error) => boolean, or leave it out to retry all but user errors`,
  );
}

// Tasks by module and name, so a worker that imports the defining module can
// find one by name. Only Glacier reads it; nothing else registers here.
const registry = new Map<string, Map<string, Task | null>>();

function registerTask(task: Task): void {
  let byName = registry.get(task.module);
  if (!byName) registry.set(task.module, byName = new Map());
  // Two tasks of one name in one module: ambiguous for a worker (null).
  byName.set(task.name, byName.has(task.name) ? null : task);
}

/**
 * Whether a module defined tasks when it was imported in this process.
 *
 * @param module The module URL.
 * @returns Whether it did.
 */
export function definesTasks(module: string): boolean {
  return registry.has(module);
}

/**
 * Finds a task defined at the top level of an imported module.
 *
 * @param module The module URL.
 * @param name The task name.
 * @returns The task, `null` when the name is ambiguous, or undefined when absent.
 */
export function lookupTask(module: string, name: string): Task | null | undefined {
  return registry.get(module)?.get(name);
}
