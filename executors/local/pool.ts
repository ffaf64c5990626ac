/**
 * The warm worker pool: the default executor of local runs. Workers are
 * started once per run (one per core unless told otherwise) and reused. A
 * call of a task with its own Deno `permissions` runs in a subprocess of its
 * own (`_subprocess.ts`), started with exactly those as `deno run` flags,
 * plus what it needs to load Glacier and the task's module (and, in a run
 * with a data root, read and write on that folder), once no link in a
 * granted folder leads out of what it grants (`_sandbox.ts`): stable flags,
 * so a user's `deno run -A` needs no unstable option. Arrow tables
 * cross as their buffers: lent by transfer when the call is the value's only
 * consumer and cannot be retried, else shared through a
 * `SharedArrayBuffer` copied once. A call whose input frames a worker
 * holds runs on that worker (it reads a clone, not the bytes) unless the
 * worker stays busy longer than moving the frames would take. A worker that dies (`Deno.exit`, an
 * uncaught error) or times out is terminated and replaced and the call fails
 * with a retryable error, so the scheduler retries it within the task's
 * `retries`. Workers are Deno Web Workers: their structured clone moves
 * typed arrays at memory speed (`node:worker_threads` in Deno 2.9 copies a
 * typed array element by element: a 30 MB frame took 10 s). `terminate()`
 * does not stop a thread that never yields, so a task with a timeout runs
 * under node:vm's watchdog in its worker (`worker.ts`), which does.
 *
 * @module
 */
import { GlacierError, TaskError } from "../../src/errors.ts";
import {
  assertArgsCrossable,
  decodeValue,
  encodeValue,
  type Lent,
  loadLibraries,
  needsLibraries,
  reattach,
  routedFramesIn,
} from "../../src/data/payload.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { LogStream } from "../../src/run/task_log.ts";
import type { SkippedLines } from "../../src/run/skipped_lines.ts";
import type { Task, TaskPermissions } from "../../src/task.ts";
import { projectDir } from "../../src/_project.ts";
import { payloadFor } from "../payload.ts";
import {
  checkGrants,
  envDenials,
  type Escape,
  moduleGraph,
  type Narrowed,
  permissionFlags,
  remoteHost,
} from "./_sandbox.ts";
import { CHILD_URL, configFlags, NarrowedChild, type RemoteError, remoteError } from "./_subprocess.ts";

/** Options for {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * Workers, and narrowed subprocesses running at once.
   * @default {navigator.hardwareConcurrency}
   */
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
  /** The worker's name, for debugging. */
  readonly name: string;
}

interface Waiter {
  readonly grant: Grant;
  readonly priority: number;
  /** The worker holding the call's input frames, which it waits for until `local` ends. */
  readonly home?: Slot;
  /** Waiting for its home alone: until the wait has cost what moving its inputs would. */
  local: boolean;
  readonly take: (slot: Slot) => void;
}

const INHERIT: Grant = { key: "inherit", name: "inherit" };

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** About how long a worker takes to read a frame's bytes into polars: ~2 ms a MB, measured on 2 cores. */
const READ_MS_PER_BYTE = 2 / 1e6;
/** About how long a worker takes to start and import polars and a task module, measured on 2 cores. */
const WORKER_START_MS = 100;

/** A warm pool of module workers that runs task calls. */
export class WorkerPool implements Executor {
  /** Reports say a task ran on `worker`. */
  readonly name = "worker";
  /** Workers say when a task starts, so its timeout excludes the module import. */
  readonly reportsStart = true;
  /** Calls wait for a free worker: the report keeps that time apart. */
  readonly reportsDispatch = true;
  readonly #size: number;
  readonly #groups = new Map<string, Slot[]>();
  readonly #waiting: Waiter[] = [];
  #nextId = 1;
  #closed = false;
  readonly #modules = new Set<string>();
  /** The `deno run` flags of each narrowed permission set and module, built once. */
  readonly #grants = new Map<string, Promise<string[]>>();
  /** The link check of each permission set: once per pool, not per call. */
  readonly #checked = new Map<string, Promise<Narrowed>>();
  /** The import graph of each module. */
  readonly #graphs = new Map<string, Promise<{ files: string[]; hosts: string[] }>>();
  /** Narrowed subprocesses alive, killed when the pool closes. */
  readonly #children = new Set<NarrowedChild>();
  /** Warm narrowed children waiting for a call, by their flags. */
  readonly #idleChildren = new Map<string, NarrowedChild[]>();
  /** Narrowed calls waiting for one of the `workers` subprocess places. */
  readonly #queued: (() => void)[] = [];
  #subprocesses = 0;

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
   * @throws {GlacierError} When the worker or subprocess dies (retryable) or the pool is closed.
   * @throws {TaskError} `USER:PERMISSION_SYMLINK` when a link in a folder the task's
   *   permissions grant leads outside them; `USER:MODULE_GRAPH` when the files its
   *   module imports cannot be listed; `USER:PERMISSION_DENIED` when the task does what
   *   its permissions deny.
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
    if (task.options.permissions !== "inherit") return await this.#narrowed(invocation);
    const grant = INHERIT;
    // A worker that made an input frame reads it as a clone of the frame it kept, not from the bytes.
    const frames = routedFramesIn(invocation.args);
    const home = frames.map((f) => f.home as Slot | undefined).find((s) => s);
    const moving = frames.filter((f) => f.home === home).reduce((n, f) => n + f.ipc.byteLength, 0);
    const slot = await this.#acquire(grant, invocation.priority ?? 0, home, moving);
    invocation.onDispatch?.();
    // A lent table is detached here until the worker hands it back, so lend
    // only what nothing else needs meanwhile and what a retry will not need.
    const lend = invocation.lendable === true && task.options.retries === 0;
    let encoded;
    try {
      if (needsLibraries(invocation.args)) await loadLibraries(invocation.args); // apache-arrow loads only for tables
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
      // Only a task with a timeout hears when it starts (one message less per call); its
      // worker stops the task's own run when the timeout passes.
      const { timeout } = task.options;
      slot.worker.postMessage(
        { type: "run", id: slot.job.id, payload, lent: encoded.transfer, timeout, log: !!invocation.onLog },
        encoded.transfer,
      );
    });
  }

  /**
   * Starts importing a task's module in every worker, once per module, so the
   * first call on each worker does not wait for the import.
   */
  prepare(task: Task): void {
    this.preload(task.module);
  }

  /**
   * Starts importing a module that defines tasks in every worker, once per
   * module, and in every worker started later.
   *
   * @param module The module's URL.
   */
  preload(module: string): void {
    if (this.#modules.has(module) || this.#closed) return;
    this.#modules.add(module);
    for (const slots of this.#groups.values()) {
      for (const slot of slots) {
        if (!slot.dead) slot.worker.postMessage({ type: "load", module });
      }
    }
  }

  /**
   * Starts workers for calls that may run at once, up to the pool's size, so
   * they are ready when those calls are (a run starts with one worker). They
   * boot beside the first worker's import of the task modules: measured on
   * two cores, waiting until that import is done cost 20-30 ms on a quiet
   * machine (the second then boots beside the first calls' polars work) and
   * won only when other processes held both cores.
   */
  expect(calls: number): void {
    if (this.#closed) return;
    const slots = this.#groups.get(INHERIT.key) ?? [];
    const alive = slots.filter((s) => !s.dead).length;
    for (let n = alive; n < Math.min(calls, this.#size); n++) this.#spawn(INHERIT);
  }

  /** Terminates every worker and narrowed subprocess. */
  close(): Promise<void> {
    this.#closed = true;
    for (const child of this.#children) child.kill();
    this.#children.clear();
    this.#idleChildren.clear();
    for (const start of this.#queued.splice(0)) start();
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

  // A narrowed call: its own subprocess, at most `workers` at once.
  async #narrowed(invocation: TaskInvocation): Promise<unknown> {
    const flags = await this.#flagsFor(invocation);
    if (this.#subprocesses >= this.#size) await new Promise<void>((start) => this.#queued.push(start));
    if (this.#closed) {
      throw new GlacierError("SYSTEM:POOL_CLOSED", "The worker pool was closed while a task waited to run");
    }
    this.#subprocesses++;
    const key = flags.join("\0");
    const idle = this.#idleChildren.get(key) ?? [];
    let child = idle.pop();
    while (child && !child.alive) child = idle.pop();
    if (!child) this.#children.add(child = new NarrowedChild(flags));
    invocation.onDispatch?.();
    try {
      return await child.run(invocation);
    } finally {
      if (child.alive && !this.#closed) this.#idleChildren.set(key, [...idle, child]);
      else this.#children.delete(child);
      this.#subprocesses--;
      this.#queued.shift()?.();
    }
  }

  // The flags of a narrowed task: its permission set checked for links out
  // of it, plus what loading Glacier and its module takes. Both are computed
  // once per pool; a link found is kept too, so every call of a fan-out fails
  // at once without a new walk.
  #flagsFor(invocation: TaskInvocation): Promise<string[]> {
    const { task } = invocation;
    const permissions = withDataRootGrant(
      task.options.permissions as Exclude<TaskPermissions, "inherit">,
      invocation.dataRoot,
    );
    const set = `${Deno.cwd()}\0${keyOf(permissions)}`;
    return cached(this.#grants, `${set}\0${task.module}`, async () => {
      const narrowed = await cached(this.#checked, set, () => checkGrants(permissions));
      if (narrowed.escape) throw linkError(invocation, narrowed.escape);
      const { nodeId, pipeline, attempt } = invocation;
      const failed = (error: unknown, code: string) =>
        new TaskError((error as Error).message, {
          pipeline,
          task: task.name,
          nodeId,
          attempt,
          code,
          cause: error,
        });
      let own, graph;
      try {
        [own, graph] = await Promise.all([
          cached(this.#graphs, CHILD_URL.href, () => moduleGraph(CHILD_URL.href)),
          cached(this.#graphs, task.module, () => moduleGraph(task.module)),
        ]);
      } catch (error) {
        throw failed(error, error instanceof GlacierError ? error.code : "USER:MODULE_GRAPH");
      }
      const read = narrowed.permissions.read;
      const files = [...own.files, ...graph.files];
      const project = projectDir(task.module);
      try {
        return [
          ...await configFlags(task.module),
          ...permissionFlags(narrowed.permissions, {
            read: read === true ? [] : files,
            import: [...new Set([...own.hosts, ...graph.hosts, ...hostsOf(CHILD_URL.href, task.module)])],
            denyRead: read === true ? [] : await envDenials(read, project),
          }),
        ];
      } catch (error) {
        throw failed(error, "USER:PERMISSION_FLAG");
      }
    });
  }

  // A free worker, or a place in the queue: by priority, then in arrival order.
  // A call whose input frames one worker holds waits for that worker while
  // its wait costs less than moving them (`moving` bytes read on another
  // worker): rent or buy, so it loses at most that much against the best
  // choice made knowing when the home frees.
  #acquire(grant: Grant, priority = 0, home?: Slot, moving = 0): Promise<Slot> {
    const key = grant.key;
    const slots = this.#groups.get(key) ?? [];
    const atHome = home !== undefined && slots.includes(home) && !home.dead;
    // Moving costs reading the bytes, and starting a worker to read them when none is free.
    const spare = atHome && slots.some((s) => s !== home && free(s));
    const wait = atHome ? moving * READ_MS_PER_BYTE + (spare ? 0 : WORKER_START_MS) : 0;
    const idle = atHome && free(home) ? home : wait > 0 ? undefined : slots.find(free);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        grant,
        priority,
        ...(wait > 0 ? { home } : {}),
        local: wait > 0,
        take: (slot) => {
          clearTimeout(timer);
          if (slot.dead) return reject(new GlacierError("SYSTEM:POOL_CLOSED", "The worker pool was closed"));
          slot.busy = true;
          resolve(slot);
        },
      };
      const after = this.#waiting.findIndex((w) => w.priority < priority);
      this.#waiting.splice(after < 0 ? this.#waiting.length : after, 0, waiter);
      if (waiter.local) timer = setTimeout(() => this.#leaveHome(waiter), wait);
      else this.#grow(grant);
    });
  }

  // A call waited for its home as long as moving its inputs costs: any free worker takes it now.
  #leaveHome(waiter: Waiter): void {
    waiter.local = false;
    const slots = this.#groups.get(waiter.grant.key) ?? [];
    const idle = slots.find(free);
    if (idle) {
      this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
      return waiter.take(idle);
    }
    this.#grow(waiter.grant);
  }

  // A worker still starting will take a waiting call: spawn only for calls
  // beyond those (else the first call of a run starts a second worker that
  // competes with the first for the CPU while both boot). A call waiting for
  // its home worker counts for none.
  #grow(grant: Grant): void {
    const key = grant.key;
    const slots = this.#groups.get(key) ?? [];
    const starting = slots.filter((s) => !s.ready && !s.dead).length;
    const queued = this.#waiting.filter((w) => w.grant.key === key && !w.local).length;
    if (queued > starting && slots.filter((s) => !s.dead).length < this.#size) this.#spawn(grant);
  }

  #spawn(grant: Grant): Slot {
    const { key } = grant;
    const worker = new Worker(WORKER_URL, { type: "module", name: `glacier-${grant.name}` });
    const slot: Slot = { worker, ready: false, busy: false, dead: false };
    const slots = this.#groups.get(key) ?? [];
    slots.push(slot);
    this.#groups.set(key, slots);
    for (const module of this.#modules) {
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
      case "log":
        if (slot.job && slot.job.id === message.id) {
          for (const [stream, text] of message.entries as [LogStream, string][]) {
            slot.job.invocation.onLog?.(stream, text);
          }
        }
        return;
      case "result":
      case "error": {
        const job = slot.job;
        if (!job || job.id !== message.id) return;
        slot.job = undefined;
        reattach(job.lent, message.lent as ArrayBuffer[]);
        if (message.type === "result") {
          if (message.skippedLines) job.invocation.onSkippedLines?.(message.skippedLines as SkippedLines);
          const decode = () => {
            const value = decodeValue(message.value, job.invocation.task.resource.storage, { route: true });
            for (const frame of routedFramesIn(value)) frame.home = slot; // its worker keeps it a while
            job.resolve(value);
          };
          try {
            // Without tables the result resolves in this turn, as before apache-arrow was lazy.
            if (needsLibraries(message.value)) loadLibraries(message.value).then(decode).catch(job.reject);
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
    const index = this.#waiting.findIndex((w) =>
      w.grant.key === key && (!w.local || w.home === slot || w.home?.dead === true)
    );
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
    slot.worker.terminate(); // a CPU-bound loop was stopped by its worker's watchdog
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

// Whether a worker can take a call now.
function free(slot: Slot): boolean {
  return slot.ready && !slot.busy && !slot.dead;
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

// Where Glacier and the task's module were loaded from, when remote.
function hostsOf(...urls: string[]): string[] {
  return urls.map(remoteHost).filter((h): h is string => h !== undefined);
}

// In a run with a data root, the task's buckets are folders under it: a
// narrowed task may read and write there (and its links are checked as any
// granted folder's), as it could reach its buckets without one.
function withDataRootGrant(
  permissions: Exclude<TaskPermissions, "inherit">,
  root: string | undefined,
): Exclude<TaskPermissions, "inherit"> {
  if (root === undefined) return permissions;
  const base: Deno.PermissionOptionsObject = permissions === "none" ? {} : permissions;
  const add = (grant: Deno.PermissionOptionsObject["read"]) =>
    grant === true || grant === "inherit" ? grant : [...(Array.isArray(grant) ? grant : []), root];
  return { ...base, read: add(base.read), write: add(base.write) };
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
 * @param options How many workers, and narrowed subprocesses at once.
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
