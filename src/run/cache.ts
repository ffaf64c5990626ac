/**
 * Content-addressed task outputs and run checkpoints, under `.glacier/`.
 *
 * - The cache (`cache: true` on a task) keys an output by what can change
 *   it: the task's name and function source, the source of its module and of
 *   every local module that module imports, transitively (remote imports by
 *   their resolved specifier, which pins a version), its `cacheVersion` and
 *   `reads`, its inputs, and for a `Bucket` input what it names and the
 *   state of its objects (size, modification time and file id for a local
 *   one; the content's hash where a store cannot say). An entry older than
 *   the task's `cacheExpiry` is a miss.
 * - Checkpoints keep the outputs of a failed run's finished calls, so
 *   `run({ resume: true })` re-runs only what failed or never ran.
 *
 * Every entry and checkpoint carries a CRC-32 of its bytes (`_sealed.ts`):
 * a corrupt or truncated one is a miss (with one warning naming the file), never data.
 * Values are stored with the payload codec (tables as Arrow IPC) and written
 * atomically: a reader never sees half an entry.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeValue, encodeValue, loadLibraries, needsLibraries } from "../data/payload.ts";
import { GlacierError } from "../errors.ts";
import { bucketStore } from "../resources/bucket_store.ts";
import { LocalStore } from "../resources/_local_store.ts";
import type { ObjectStore, StorageWiring } from "../resources/object_store.ts";
import { Bucket } from "../resources/storage.ts";
import type { Task } from "../task.ts";
import { isNotFound, writeFileAtomic } from "../_fs.ts";
import { projectDir } from "../_project.ts";
import { withDataRoot } from "./data_root.ts";
import { joinParts, sealParts, unseal } from "./_sealed.ts";

/** Where cached outputs live. */
export const CACHE_DIR: string = join(".glacier", "cache");
/** Where checkpoints of failed runs live. */
export const CHECKPOINT_DIR: string = join(".glacier", "checkpoints");

/**
 * Encodes a value for storage (tables as Arrow IPC, loading apache-arrow for
 * them): plain data and typed arrays, which {@linkcode sealParts} writes.
 *
 * @param value The value.
 * @param encoding `ipc` for the cache (a snapshot: a LazyFrame collected), `machine` for a checkpoint read
 *   back on this machine (a LazyFrame keeps its plan; a frame's shared bytes stay where they are). @default {"ipc"}
 * @returns The encoded value.
 */
export async function storeValue(value: unknown, encoding: "ipc" | "machine" = "ipc"): Promise<unknown> {
  if (needsLibraries(value)) await loadLibraries(value);
  return encodeValue(value, encoding).value;
}

/**
 * {@linkcode storeValue} in this turn, when the libraries the value needs are
 * loaded (a value holding live tables has them).
 *
 * @returns The encoded value, or undefined when a library must load first.
 */
export function storeValueNow(
  value: unknown,
  encoding: "ipc" | "machine" = "ipc",
): { encoded: unknown } | undefined {
  if (needsLibraries(value)) return undefined;
  return { encoded: encodeValue(value, encoding).value };
}

/** Decodes a value encoded by {@linkcode storeValue}, rebuilding buckets with `storage`. */
export async function loadValue(encoded: unknown, storage: StorageWiring): Promise<unknown> {
  if (needsLibraries(encoded)) await loadLibraries(encoded);
  return decodeValue(encoded, storage);
}

// Bumped when what a key covers changes, so older entries are not reused.
const KEY_VERSION = "glacier-cache-2";

/**
 * The cache key of a call: task name and source, the source of the task's
 * module graph, its `cacheVersion` and `reads`, its inputs (a bucket by what
 * it names and the state of its objects), and the run's data root when it
 * has one (its buckets are other objects than the cloud's).
 *
 * @param task The task.
 * @param args Its arguments, refs already replaced by values.
 * @param dataRoot The run's data root. @default {undefined}
 * @returns A hex SHA-256.
 */
export async function cacheKey(task: Task, args: readonly unknown[], dataRoot?: string): Promise<string> {
  if (needsLibraries(args)) await loadLibraries(args);
  const [code, buckets] = await Promise.all([
    codeHash(task.module),
    withDataRoot(dataRoot, () => bucketStates(findBuckets(args))),
  ]);
  const hash = createHash("sha256");
  hash.update(`${KEY_VERSION}\0${task.name}\0${task.source}\0code:${code}\0`);
  const { cacheVersion, reads } = task.options;
  if (cacheVersion !== undefined) hash.update(`version:${JSON.stringify(cacheVersion)}\0`);
  hash.update(`reads:${JSON.stringify(reads ?? [])}\0`);
  if (dataRoot !== undefined) hash.update(`dataRoot:${dataRoot}\0`);
  hashValue(hash, encodeValue(args, "ipc").value);
  hash.update(`buckets:${JSON.stringify(buckets)}`);
  return hash.digest("hex");
}

/**
 * What a call's bucket inputs hold now (the state of every object they name,
 * hashed), kept with its checkpoint so a resume does not restore an output of
 * inputs that have since changed.
 *
 * @param args The call's arguments.
 * @param dataRoot The run's data root. @default {undefined}
 * @returns A hex SHA-256, or undefined when no argument holds a `Bucket`.
 */
export async function inputsState(args: readonly unknown[], dataRoot?: string): Promise<string | undefined> {
  const buckets = findBuckets(args);
  if (buckets.length === 0) return undefined;
  const states = await withDataRoot(dataRoot, () => bucketStates(buckets));
  return createHash("sha256").update(JSON.stringify(states)).digest("hex");
}

function hashValue(hash: ReturnType<typeof createHash>, value: unknown): void {
  if (value instanceof Uint8Array) {
    hash.update(`b${value.byteLength}:`);
    hash.update(value);
  } else if (ArrayBuffer.isView(value)) {
    hash.update(`v${value.constructor.name}:`);
    hash.update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  } else if (Array.isArray(value)) {
    hash.update(`a${value.length}[`);
    for (const item of value) hashValue(hash, item);
    hash.update("]");
  } else if (value instanceof Map) {
    hash.update("m[");
    for (const [k, v] of value) (hashValue(hash, k), hashValue(hash, v));
    hash.update("]");
  } else if (value instanceof Set) {
    hash.update("s[");
    for (const v of value) hashValue(hash, v);
    hash.update("]");
  } else if (value instanceof Date) {
    hash.update(`d${value.getTime()}`);
  } else if (value !== null && typeof value === "object") {
    hash.update("o{");
    for (const key of Object.keys(value).sort()) {
      hash.update(`${JSON.stringify(key)}:`);
      hashValue(hash, (value as Record<string, unknown>)[key]);
    }
    hash.update("}");
  } else {
    hash.update(`${typeof value}:${typeof value === "bigint" ? value.toString() : JSON.stringify(value)};`);
  }
}

// --- The code a task can reach -------------------------------------------

// One hash per module URL per process: `deno info` runs once per module.
const codeHashes = new Map<string, Promise<string>>();
let warnedNoGraph = false;

/**
 * A hash of a module's import graph: the source of every local (`file:`)
 * module in it, by path relative to the module's project, and the resolved
 * specifier of every other module (`npm:/x@1.2.3`, a jsr.io or https URL),
 * which pins its version. Computed once per module per process.
 *
 * A module that is not a local file hashes as its URL. When `deno info`
 * cannot run (no `--allow-run`), the module's own source is hashed and a
 * warning says that its imports are not covered.
 *
 * @param module The module URL (`task.module`).
 * @returns A hex SHA-256.
 */
export function codeHash(module: string): Promise<string> {
  let hash = codeHashes.get(module);
  if (!hash) codeHashes.set(module, hash = hashGraph(module));
  return hash;
}

interface InfoModule {
  specifier: string;
  local?: string;
  error?: string;
  dependencies?: { specifier: string; code?: { error?: string }; type?: { error?: string } }[];
}

// The same `deno info --json` listing the local pool's sandbox uses
// (executors/local/_sandbox.ts, which src/ may not import): run in the
// module's project folder so its import map applies; a bare specifier that
// project cannot resolve is resolved with this process's import map.
async function hashGraph(module: string): Promise<string> {
  const hash = createHash("sha256");
  if (!module.startsWith("file:")) return hash.update(`url:${module}`).digest("hex");
  const root = projectDir(module);
  const modules = new Map<string, InfoModule>();
  const pending = [module];
  const seen = new Set<string>();
  try {
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      for (const m of await denoInfo(next, root)) {
        if (modules.has(m.specifier)) continue;
        modules.set(m.specifier, m);
        for (const dep of m.dependencies ?? []) {
          const unresolved = dep.code?.error !== undefined || dep.type?.error !== undefined;
          if (!unresolved || /^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(dep.specifier)) continue;
          try {
            const url = import.meta.resolve(dep.specifier);
            if (url.startsWith("file:")) pending.push(url);
            else modules.set(url, { specifier: url });
          } catch { /* unresolvable here too: its error text is in the hash */ }
        }
      }
    }
  } catch (error) {
    if (!warnedNoGraph) {
      warnedNoGraph = true;
      console.warn(
        `glacier: cache keys cover only each task's own module, not what it imports: ${
          (error as Error).message
        }; run with --allow-run so "deno info" can list the imports`,
      );
    }
    modules.clear();
    modules.set(module, { specifier: module, local: fileURLToPath(module) });
  }
  for (const specifier of [...modules.keys()].sort()) {
    const m = modules.get(specifier)!;
    if (!specifier.startsWith("file:")) {
      hash.update(`remote:${specifier}\0`);
      continue;
    }
    const path = m.local ?? fileURLToPath(specifier);
    hash.update(`file:${relative(root, path)}\0${m.error ?? ""}\0`);
    for (const dep of m.dependencies ?? []) {
      const error = dep.code?.error ?? dep.type?.error;
      if (error !== undefined) hash.update(`unresolved:${dep.specifier}:${error}\0`);
    }
    try {
      const bytes = await Deno.readFile(path);
      hash.update(`${bytes.byteLength}:`);
      hash.update(bytes);
    } catch (error) {
      hash.update(`unreadable:${(error as Error).name}\0`);
    }
  }
  return hash.digest("hex");
}

async function denoInfo(module: string, cwd: string): Promise<InfoModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", module],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `"deno info ${module}" failed (${new TextDecoder().decode(out.stderr).trim().slice(0, 300)})`,
    );
  }
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] }).modules;
}

// --- What a bucket input holds ---------------------------------------------

/**
 * What a store may say about an object without reading it. No store has to
 * offer it: where `stat` is missing, the object's content is hashed.
 */
export interface ObjectStat {
  /** Bytes. */
  readonly size?: number;
  /** Last modification, as milliseconds since the epoch. */
  readonly mtime?: number;
  /** An entity tag or generation that changes with the content. */
  readonly etag?: string;
}

type StatStore = ObjectStore & { stat?(bucket: string, key: string): Promise<ObjectStat | undefined> };

function findBuckets(value: unknown, found: Bucket[] = [], seen = new Set<unknown>()): Bucket[] {
  if (value === null || typeof value !== "object" || seen.has(value)) return found;
  seen.add(value);
  if (value instanceof Bucket) found.push(value);
  else if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) {
      findBuckets(v, found, seen);
    }
  } else if (value instanceof Map) {
    for (const [k, v] of value) (findBuckets(k, found, seen), findBuckets(v, found, seen));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const v of Object.values(value)) findBuckets(v, found, seen);
    }
  }
  return found;
}

const warnedStates = new Set<string>();

// Per bucket, the state of every object it names (a prefix or glob: every
// object it matches), in key order. Asked in the run's data-root scope.
async function bucketStates(buckets: readonly Bucket[]): Promise<string[][]> {
  return await Promise.all(buckets.map(async (bucket) => {
    try {
      const store: StatStore = await bucketStore(bucket.location, bucket.uri);
      let keys: string[];
      if (bucket.isPattern) {
        try {
          keys = await bucket.list();
        } catch (error) {
          if (error instanceof GlacierError && error.code === "USER:FOLDER_NOT_FOUND") return ["absent"];
          throw error;
        }
      } else keys = [bucket.path];
      const states: string[] = [];
      for (let i = 0; i < keys.length; i += 16) {
        states.push(
          ...await Promise.all(keys.slice(i, i + 16).map((key) => objectState(store, bucket, key))),
        );
      }
      return states;
    } catch (error) {
      // Unknown state: a miss every time, never a stale hit.
      if (!warnedStates.has(bucket.uri)) {
        warnedStates.add(bucket.uri);
        console.warn(
          `glacier: not reusing cached outputs for ${bucket.uri}: its objects could not be checked (${
            (error as Error).message
          })`,
        );
      }
      return [`unknown:${crypto.randomUUID()}`];
    }
  }));
}

async function objectState(store: StatStore, bucket: Bucket, key: string): Promise<string> {
  if (store instanceof LocalStore) {
    try {
      // A local write renames a new file into place: a new inode even within one mtime tick.
      const info = await Deno.stat(store.path(bucket.bucket, key));
      return `${key}\0${info.size}\0${info.mtime?.getTime()}\0${info.ino ?? ""}\0${
        info.ctime?.getTime() ?? ""
      }`;
    } catch (error) {
      if (isNotFound(error)) return `${key}\0absent`;
      throw error;
    }
  }
  if (typeof store.stat === "function") {
    const stat = await store.stat(bucket.bucket, key);
    if (stat === undefined) return `${key}\0absent`;
    if (stat.etag !== undefined || stat.mtime !== undefined) {
      return `${key}\0${stat.size ?? ""}\0${stat.mtime ?? ""}\0${stat.etag ?? ""}`;
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.get(bucket.bucket, key);
  } catch (error) {
    if (error instanceof GlacierError && error.code === "USER:OBJECT_NOT_FOUND") return `${key}\0absent`;
    throw error;
  }
  return `${key}\0${bytes.byteLength}\0sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

// --- Sealed files (_sealed.ts) ----------------------------------------------

// Reads a sealed file: undefined when it is missing or not intact (then warns once per file).
async function readSealed(
  path: string,
  warned: Set<string>,
  what: string,
): Promise<{ value: unknown; writtenAt: number } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    warnOnce(warned, path, `glacier: ignoring ${what} ${path}: ${(error as Error).message}`);
    return undefined;
  }
  let entry;
  try {
    entry = unseal(bytes);
  } catch (error) {
    warnOnce(warned, path, `glacier: ignoring ${what} ${path}: ${(error as Error).message}`);
    return undefined;
  }
  if (!entry) {
    warnOnce(
      warned,
      path,
      `glacier: ignoring ${what} ${path}: it is corrupt or truncated, or from another Glacier version (checksum mismatch)`,
    );
  }
  return entry;
}

function warnOnce(warned: Set<string>, path: string, message: string): void {
  if (warned.has(path)) return;
  warned.add(path);
  console.warn(message);
}

// --- The cache ---------------------------------------------------------------

/**
 * How a run uses the cache: `"use"` reads hits and writes misses,
 * `"refresh"` ignores hits and overwrites them, `"off"` neither reads nor writes.
 */
export type CacheMode = "use" | "refresh" | "off";

/** Options for {@linkcode OutputCache}. */
export interface OutputCacheOptions {
  /** How the cache is used. @default {"use"} */
  mode?: CacheMode;
}

/** Options for {@linkcode OutputCache.get}. */
export interface CacheGetOptions {
  /** Milliseconds after its write an entry is a miss (the task's `cacheExpiry`). @default {undefined} */
  expiry?: number;
  /** The time to compare against, in milliseconds since the epoch. @default {Date.now()} */
  now?: number;
}

const MODES: readonly CacheMode[] = ["use", "refresh", "off"];

/** The content-addressed output cache. */
export class OutputCache {
  readonly #dir: string;
  readonly #mode: CacheMode;
  readonly #warned = new Set<string>();

  /**
   * @param dir The cache folder.
   * @param options How the cache is used.
   * @throws {RangeError} When `mode` is not `"use"`, `"refresh"` or `"off"`.
   */
  constructor(dir: string = CACHE_DIR, options: OutputCacheOptions = {}) {
    const mode = options.mode ?? "use";
    if (!MODES.includes(mode)) {
      throw new RangeError(
        `Cache mode ${JSON.stringify(mode)} is not known: use "use", "refresh" or "off"`,
      );
    }
    this.#dir = dir;
    this.#mode = mode;
  }

  /** How the cache is used. */
  get mode(): CacheMode {
    return this.#mode;
  }

  /** The file of a key's entry. */
  path(key: string): string {
    return join(this.#dir, `${key}.bin`);
  }

  /**
   * The cached value for a key (buckets rebuilt with `storage`), or undefined
   * on a miss: no entry, an expired one, a corrupt one (warned once, naming
   * the file; the next put replaces it), or a mode other than `"use"`.
   */
  async get(
    key: string,
    storage: StorageWiring,
    options: CacheGetOptions = {},
  ): Promise<{ value: unknown } | undefined> {
    if (this.#mode !== "use") return undefined;
    const path = this.path(key);
    const entry = await readSealed(path, this.#warned, "cache entry");
    if (!entry) return undefined;
    const now = options.now ?? Date.now();
    if (options.expiry !== undefined && now - entry.writtenAt >= options.expiry) return undefined;
    let value: unknown;
    try {
      value = await loadValue(entry.value, storage);
    } catch (error) {
      warnOnce(this.#warned, path, `glacier: ignoring cache entry ${path}: ${(error as Error).message}`);
      return undefined;
    }
    // Marks the entry used, so `glacier clean --older-than` keeps what runs still hit.
    const time = new Date(now);
    await Deno.utime(path, time, time).catch(() => {});
    return { value };
  }

  /** Stores a value under a key, atomically (nothing in `"off"` mode). */
  async put(key: string, value: unknown, now: number = Date.now()): Promise<void> {
    if (this.#mode === "off") return;
    await writeFileAtomic(this.path(key), sealParts(await storeValue(value), now));
  }
}

// --- Checkpoints -------------------------------------------------------------

/** Checkpointed outputs of one run. */
export class Checkpoints {
  /** The run's id. */
  readonly runId: string;
  readonly #dir: string;
  readonly #warned = new Set<string>();

  /**
   * @param runId The run's id.
   * @param root The checkpoints folder.
   */
  constructor(runId: string, root: string = CHECKPOINT_DIR) {
    this.runId = runId;
    this.#dir = join(root, runId);
  }

  /** The file of a call's checkpoint. */
  path(nodeId: string): string {
    return join(this.#dir, `${encodeURIComponent(nodeId)}.bin`);
  }

  /**
   * Saves a finished call's output, tagged with the task's source so a changed
   * task is not resumed from a stale value.
   */
  async save(nodeId: string, task: Task, value: unknown): Promise<void> {
    await this.saveParts(nodeId, checkpointParts(task, await storeValue(value, "machine")));
  }

  /**
   * Saves a finished call's checkpoint made by {@linkcode checkpointParts}.
   *
   * @param nodeId The call-site id.
   * @param parts The checkpoint.
   */
  async saveParts(nodeId: string, parts: readonly Uint8Array[]): Promise<void> {
    await writeFileAtomic(this.path(nodeId), parts);
  }

  /**
   * The output of a call, if it was checkpointed by the same task source
   * from inputs that hold what they held then (`inputs`, asked only when the
   * checkpoint recorded them); undefined for a missing, corrupt or truncated
   * checkpoint (the latter two warned once, naming the file).
   */
  async load(
    nodeId: string,
    task: Task,
    inputs?: () => Promise<string | undefined>,
  ): Promise<{ value: unknown } | undefined> {
    const path = this.path(nodeId);
    const sealed = await readSealed(path, this.#warned, "checkpoint");
    if (!sealed) return undefined;
    try {
      return await openCheckpoint(sealed.value, task, inputs);
    } catch (error) {
      warnOnce(this.#warned, path, `glacier: ignoring checkpoint ${path}: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/**
 * A checkpoint's sealed parts: the task's source (a changed task is not
 * resumed from a stale value), what its bucket inputs held, and the output,
 * with their checksum.
 *
 * @param task The task.
 * @param encoded The output, encoded by `storeValue(value, "machine")`.
 * @param inputs {@linkcode inputsState} of the call's arguments. @default {undefined}
 * @returns The parts, to save or to inline ({@linkcode inlineCheckpoint}).
 */
export function checkpointParts(task: Task, encoded: unknown, inputs?: string): Uint8Array[] {
  return sealParts({ source: task.source, inputs, value: encoded }, Date.now());
}

async function openCheckpoint(
  sealed: unknown,
  task: Task,
  inputs?: () => Promise<string | undefined>,
): Promise<{ value: unknown } | undefined> {
  const entry = sealed as { source: string; inputs?: string; value: unknown };
  if (entry.source !== task.source) {
    console.warn(
      `glacier: task "${task.name}" changed since its checkpoint was written: it runs again instead of being restored`,
    );
    return undefined;
  }
  if (entry.inputs !== undefined && entry.inputs !== await inputs?.()) {
    console.warn(
      `glacier: the objects task "${task.name}" was given changed since its checkpoint was written: it runs again instead of being restored`,
    );
    return undefined;
  }
  return { value: await loadValue(entry.value, task.resource.storage) };
}

/** Checkpoints up to this size are kept inside the run's journal line, not in a file of their own. */
export const INLINE_CHECKPOINT_BYTES = 64 << 10;

/**
 * A small checkpoint as text for the run's journal (base64 of the same
 * sealed bytes a checkpoint file holds).
 *
 * @param parts The checkpoint ({@linkcode checkpointParts}).
 * @returns The text.
 */
export function inlineCheckpoint(parts: readonly Uint8Array[]): string {
  return Buffer.from(joinParts(parts)).toString("base64");
}

/**
 * Reads a checkpoint made by {@linkcode inlineCheckpoint}.
 *
 * @param text The journal's text.
 * @param task The task.
 * @param inputs What the call's bucket inputs hold now ({@linkcode inputsState}), asked when needed.
 * @returns The output, or undefined when the text is corrupt or the task's source or inputs changed.
 */
export async function readInlineCheckpoint(
  text: string,
  task: Task,
  inputs?: () => Promise<string | undefined>,
): Promise<{ value: unknown } | undefined> {
  try {
    const sealed = unseal(new Uint8Array(Buffer.from(text, "base64")));
    return sealed && await openCheckpoint(sealed.value, task, inputs);
  } catch {
    return undefined;
  }
}
