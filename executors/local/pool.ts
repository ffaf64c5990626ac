/**
 * The warm worker pool: the default executor of local runs. Workers are
 * started once per run (one per core unless told otherwise) and reused; a
 * task with its own Deno `permissions` runs in workers started with exactly
 * those, plus read access to the files its module imports, once no link in a
 * granted folder leads out of what it grants (`_sandbox.ts`). Arrow tables
 * cross as their buffers: lent by transfer when the call is the value's only
 * consumer and cannot be retried, else shared through a
 * `SharedArrayBuffer` copied once. A worker that dies (`Deno.exit`, an
 * uncaught error) or times out is replaced and the call fails with a
 * retryable error, so the scheduler retries it within the task's `retries`.
 *
 * @module
 */
import { GlacierError, TaskError } from "../../src/errors.ts";
import {
  assertArgsCrossable,
  decodeValue,
  encodeValue,
  ensureArrow,
  type Lent,
  needsArrow,
  reattach,
} from "../../src/data/payload.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { Task, TaskPermissions } from "../../src/task.ts";
import { payloadFor } from "../payload.ts";
import { checkGrants, type Escape, moduleFiles, type Narrowed, withModuleFiles } from "./_sandbox.ts";

/** Options for {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** Workers per permission set. @default {navigator.hardwareConcurrency} */
  workers?: number;
  /**
   * Workers started at once; the others start when calls queue (a chain of
   * single calls then never pays for starting workers it cannot use).
   * @default {workers}
   */
  start?: number;
}

interface Job {
  readonly id: number;
  readonly invocation: TaskInvocation;
  readonly lent: readonly Lent[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  /** Handed out: set when acquired, before the job is posted, so no two calls share it. */
  busy: boolean;
  job?: Job;
  dead: boolean;
}

/** What a group of workers is started with, and the key that names the group. */
interface Grant {
  readonly key: string;
  readonly permissions: TaskPermissions;
  /** For a narrowed grant: the one module its workers may import. */
  readonly module?: string;
  /** The worker's name, for debugging. */
  readonly name: string;
}

interface Waiter {
  readonly grant: Grant;
  readonly take: (slot: Slot) => void;
}

const INHERIT: Grant = { key: "inherit", permissions: "inherit", name: "inherit" };

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** A warm pool of module workers that runs task calls. */
export class WorkerPool implements Executor {
  /** Reports say a task ran on `worker`. */
  readonly name = "worker";
  /** Workers say when a task starts, so its timeout excludes the module import. */
  readonly reportsStart = true;
  readonly #size: number;
  readonly #groups = new Map<string, Slot[]>();
  readonly #waiting: Waiter[] = [];
  #nextId = 1;
  #closed = false;
  readonly #modules = new Set<string>();
  /** Narrowed grants by permission set and module, built once. */
  readonly #grants = new Map<string, Grant>();
  /** The link check of each permission set: once per pool, not per call. */
  readonly #checked = new Map<string, Promise<Narrowed>>();
  /** The import graph of each module. */
  readonly #graphs = new Map<string, Promise<string[]>>();

  /**
   * Starts `start` workers at once (all of them unless told otherwise) so
   * the first tasks find them warm; the rest start when calls queue.
   *
   * @param options How many workers, and how many to start at once.
   * @throws {RangeError} When `workers` is not a positive whole number, or `start` is not between 0 and `workers`.
   */
  constructor(options: WorkerPoolOptions = {}) {
    this.#size = options.workers ?? navigator.hardwareConcurrency;
    if (!Number.isInteger(this.#size) || this.#size < 1) {
      throw new RangeError(`WorkerPool: "workers" is ${this.#size}, it must be a whole number of at least 1`);
    }
    const start = options.start ?? this.#size;
    if (!Number.isInteger(start) || start < 0 || start > this.#size) {
      throw new RangeError(
        `WorkerPool: "start" is ${start}, it must be a whole number from 0 to "workers" (${this.#size})`,
      );
    }
    for (let i = 0; i < start; i++) this.#spawn(INHERIT);
  }

  /** How many workers are alive, across permission sets. */
  get size(): number {
    let n = 0;
    for (const slots of this.#groups.values()) n += slots.filter((s) => !s.dead).length;
    return n;
  }

  /**
   * Runs one attempt on a worker.
   *
   * @throws {TypeError} When an argument cannot cross to a worker (before anything is sent).
   * @throws {GlacierError} When the worker dies (retryable) or the pool is closed.
   * @throws {TaskError} `USER:PERMISSION_SYMLINK` when a link in a folder the task's
   *   permissions grant leads outside them; `USER:MODULE_GRAPH` when the files its
   *   module imports cannot be listed.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const { task } = invocation;
    assertArgsCrossable(invocation);
    if (this.#closed) {
      throw new GlacierError(
        "SYSTEM:POOL_CLOSED",
        "The worker pool is closed: open a new one with openWorkerPool(), or run without the pool option",
      );
    }
    const grant = task.options.permissions === "inherit" ? INHERIT : await this.#grantFor(invocation);
    const slot = await this.#acquire(grant);
    // A lent table is detached here until the worker hands it back, so lend
    // only what nothing else needs meanwhile and what a retry will not need.
    const lend = invocation.lendable === true && task.options.retries === 0;
    let encoded;
    try {
      if (needsArrow(invocation.args)) await ensureArrow(); // apache-arrow loads only for tables
      encoded = encodeValue(invocation.args, lend ? "transfer" : "share");
    } catch (error) {
      this.#release(slot, grant.key);
      throw error;
    }
    const payload = payloadFor(invocation, encoded.value);
    return await new Promise((resolve, reject) => {
      const onAbort = () => this.#kill(slot, invocation.signal.reason);
      const done = () => invocation.signal.removeEventListener("abort", onAbort);
      slot.job = {
        id: this.#nextId++,
        invocation,
        lent: encoded.lent,
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      };
      invocation.signal.addEventListener("abort", onAbort, { once: true });
      // Only a task with a timeout needs to hear when it starts: one message less per call.
      const reportStart = task.options.timeout !== undefined;
      slot.worker.postMessage(
        { type: "run", id: slot.job.id, payload, lent: encoded.transfer, reportStart },
        encoded.transfer,
      );
    });
  }

  /**
   * Starts importing a task's module in every worker, once per module, so the
   * first call on each worker does not wait for the import.
   */
  prepare(task: Task): void {
    if (this.#modules.has(task.module) || this.#closed) return;
    this.#modules.add(task.module);
    for (const [key, slots] of this.#groups) {
      // A narrowed worker may read only its own module's files.
      if (key !== "inherit") continue;
      for (const slot of slots) {
        if (!slot.dead) slot.worker.postMessage({ type: "load", module: task.module });
      }
    }
  }

  /** Terminates every worker. */
  close(): Promise<void> {
    this.#closed = true;
    for (const slots of this.#groups.values()) {
      for (const slot of slots) {
        slot.dead = true;
        slot.worker.terminate();
        slot.job?.reject(
          new GlacierError("SYSTEM:POOL_CLOSED", "The worker pool was closed while a task ran"),
        );
      }
    }
    this.#groups.clear();
    for (const waiter of this.#waiting.splice(0)) {
      waiter.take({ dead: true } as Slot);
    }
    return Promise.resolve();
  }

  // The grant of a narrowed task: its permission set checked for links out of
  // it, plus its module's files. Both are computed once per pool; a link found
  // is kept too, so every call of a fan-out fails at once without a new walk.
  async #grantFor(invocation: TaskInvocation): Promise<Grant> {
    const { task } = invocation;
    const permissions = task.options.permissions as Exclude<TaskPermissions, "inherit">;
    const set = `${Deno.cwd()}\0${keyOf(permissions)}`;
    const id = `${set}\0${task.module}`;
    const built = this.#grants.get(id);
    if (built) return built;
    const narrowed = await cached(this.#checked, set, () => checkGrants(permissions));
    if (narrowed.escape) throw linkError(invocation, narrowed.escape);
    let files: string[] = [];
    const read = narrowed.permissions.read;
    if (task.module.startsWith("file:") && read !== true && read !== "inherit") {
      try {
        files = await cached(this.#graphs, task.module, () => moduleFiles(task.module));
      } catch (error) {
        const { nodeId, pipeline, attempt } = invocation;
        throw new TaskError((error as Error).message, {
          pipeline,
          task: task.name,
          nodeId,
          attempt,
          code: error instanceof GlacierError ? error.code : "USER:MODULE_GRAPH",
          cause: error,
        });
      }
    }
    const granted = { ...narrowed.permissions, read: withModuleFiles(narrowed.permissions, files) };
    const grant: Grant = {
      key: keyOf(granted),
      permissions: granted,
      module: task.module,
      name: typeof permissions === "string" ? permissions : keyOf(permissions),
    };
    this.#grants.set(id, grant);
    return grant;
  }

  #acquire(grant: Grant): Promise<Slot> {
    const key = grant.key;
    const slots = this.#groups.get(key) ?? [];
    const idle = slots.find((s) => s.ready && !s.busy && !s.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    // A worker still starting will take a waiting call: spawn only for calls
    // beyond those (else the first call of a run starts a second worker that
    // competes with the first for the CPU while both boot).
    const starting = slots.filter((s) => !s.ready && !s.dead).length;
    const queued = this.#waiting.filter((w) => w.grant.key === key).length;
    if (queued >= starting && slots.filter((s) => !s.dead).length < this.#size) this.#spawn(grant);
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        grant,
        take: (slot) => {
          if (slot.dead) return reject(new GlacierError("SYSTEM:POOL_CLOSED", "The worker pool was closed"));
          slot.busy = true;
          resolve(slot);
        },
      });
    });
  }

  #spawn(grant: Grant): Slot {
    const { key, permissions } = grant;
    const worker = new Worker(WORKER_URL, {
      type: "module",
      name: `glacier-${grant.name}`,
      ...(permissions === "inherit" ? {} : { deno: { permissions } }),
    });
    const slot: Slot = { worker, ready: false, busy: false, dead: false };
    const slots = this.#groups.get(key) ?? [];
    slots.push(slot);
    this.#groups.set(key, slots);
    for (const module of grant.module ? [grant.module] : this.#modules) {
      worker.postMessage({ type: "load", module });
    }
    worker.onmessage = (event) => this.#onMessage(slot, key, event.data);
    worker.onerror = (event) => {
      event.preventDefault(); // keep an uncaught error in a task from ending this process
      this.#died(slot, key, `it threw an uncaught error: ${event.message}`);
    };
    worker.onmessageerror = () => {
      slot.job?.reject(new GlacierError("SYSTEM:MESSAGE", "A task result could not be read from its worker"));
    };
    return slot;
  }

  #onMessage(slot: Slot, key: string, message: Record<string, unknown>): void {
    switch (message.type) {
      case "ready":
        slot.ready = true;
        this.#release(slot, key);
        return;
      case "exit":
        return this.#died(slot, key, `it called Deno.exit(${message.code})`);
      case "started":
        if (slot.job && slot.job.id === message.id) slot.job.invocation.onStart?.();
        return;
      case "result":
      case "error": {
        const job = slot.job;
        if (!job || job.id !== message.id) return;
        slot.job = undefined;
        reattach(job.lent, message.lent as ArrayBuffer[]);
        if (message.type === "result") {
          const decode = () => job.resolve(decodeValue(message.value, job.invocation.task.resource.storage));
          try {
            // Without tables the result resolves in this turn, as before apache-arrow was lazy.
            if (needsArrow(message.value)) ensureArrow().then(decode).catch(job.reject);
            else decode();
          } catch (error) {
            job.reject(error);
          }
        } else {
          job.reject(remoteError(job.invocation, message.error as RemoteError));
        }
        this.#release(slot, key);
      }
    }
  }

  #release(slot: Slot, key: string): void {
    slot.busy = false;
    const index = this.#waiting.findIndex((w) => w.grant.key === key);
    if (index >= 0 && !slot.dead) this.#waiting.splice(index, 1)[0].take(slot);
  }

  #died(slot: Slot, key: string, how: string): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.worker.terminate();
    const job = slot.job;
    slot.job = undefined;
    this.#replace(slot, key);
    if (job) {
      const { task, nodeId, pipeline, attempt } = job.invocation;
      job.reject(
        new TaskError(`its worker died: ${how}; the worker was replaced`, {
          pipeline,
          task: task.name,
          nodeId,
          attempt,
          code: "SYSTEM:WORKER_DIED",
          retryable: true,
        }),
      );
    }
  }

  #kill(slot: Slot, reason: unknown): void {
    if (slot.dead) return;
    const key = [...this.#groups].find(([, slots]) => slots.includes(slot))?.[0] ?? "inherit";
    slot.dead = true;
    slot.worker.terminate(); // the only way to stop a CPU-bound loop
    const job = slot.job;
    slot.job = undefined;
    this.#replace(slot, key);
    job?.reject(reason);
  }

  #replace(slot: Slot, key: string): void {
    const slots = this.#groups.get(key);
    if (!slots || this.#closed) return;
    slots.splice(slots.indexOf(slot), 1);
    const waiting = this.#waiting.find((w) => w.grant.key === key);
    if (key === "inherit" || waiting) this.#spawn(waiting?.grant ?? INHERIT);
  }
}

interface RemoteError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

function remoteError(invocation: TaskInvocation, error: RemoteError): Error {
  const { task, nodeId, pipeline, attempt } = invocation;
  if (error.name === "NotCapable" || error.name === "PermissionDenied") {
    return new TaskError(
      `permission denied: ${error.message}; grant it in the task's "permissions" option or leave the option out to inherit the process's`,
      { pipeline, task: task.name, nodeId, attempt, code: "USER:PERMISSION_DENIED", retryable: false },
    );
  }
  if (
    error.code === "USER:TASK_NOT_FOUND" || error.code === "USER:TASK_AMBIGUOUS" ||
    error.code === "SYSTEM:PAYLOAD_VERSION"
  ) {
    return new TaskError(error.message, {
      pipeline,
      task: task.name,
      nodeId,
      attempt,
      code: error.code,
      retryable: false,
    });
  }
  const remote = new Error(error.message);
  remote.name = error.name;
  if (error.stack) remote.stack = error.stack;
  return remote;
}

function linkError(invocation: TaskInvocation, escape: Escape): TaskError {
  const { task, nodeId, pipeline, attempt } = invocation;
  return new TaskError(
    `its "${escape.access}" permission on ${JSON.stringify(escape.granted)} reaches outside it: ${
      JSON.stringify(escape.link)
    } is a symbolic link to ${
      JSON.stringify(escape.target)
    }, and Deno follows links; remove the link, or grant ${
      JSON.stringify(escape.target)
    } in the task's "permissions" option if the task may ${escape.access} it`,
    { pipeline, task: task.name, nodeId, attempt, code: "USER:PERMISSION_SYMLINK", retryable: false },
  );
}

// One computation per key; a failure is forgotten so the next call tries again.
function cached<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}

function keyOf(permissions: TaskPermissions): string {
  return typeof permissions === "string"
    ? permissions
    : JSON.stringify(permissions, Object.keys(permissions).sort());
}

/**
 * The pool of one run, as Glacier's wiring (`wiring.ts`) builds it: one
 * worker started at once, the others when calls queue.
 */
export function createWorkerPool(options: { workers?: number }): Executor {
  return new WorkerPool({ workers: options.workers, start: 1 });
}

/**
 * Starts a worker pool that outlives runs: pass it as `run({ pool })` to
 * several runs in one process (a service, a notebook, a test suite) and they
 * skip starting workers and importing modules. Open workers keep the process
 * alive, so close the pool when done.
 *
 * @param options How many workers per permission set.
 * @returns The open pool.
 * @throws {RangeError} When `workers` is not a positive whole number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openWorkerPool } from "./pool.ts";
 * import { sequential } from "../../examples/patterns/sequential.ts";
 * const pool = openWorkerPool({ workers: 1 });
 * try {
 *   const first = await sequential.run({ pool, quiet: true });
 *   assert.ok((await sequential.run({ pool, quiet: true })) === first);
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export function openWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  return new WorkerPool(options);
}
