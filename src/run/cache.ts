/**
 * Content-addressed task outputs and run checkpoints, under `.glacier/`.
 *
 * - The cache (`cache: true` on a task) keys an output by the task's name,
 *   its source text and a hash of its inputs, so a changed task or changed
 *   data misses.
 * - Checkpoints keep the outputs of a failed run's finished calls, so
 *   `run({ resume: true })` re-runs only what failed or never ran.
 *
 * Values are stored with the payload codec (tables as Arrow IPC) and written
 * atomically: a reader never sees half an entry.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { decodeValue, encodeValue, loadLibraries, needsLibraries } from "../data/payload.ts";
import type { StorageWiring } from "../resources/object_store.ts";
import type { Task } from "../task.ts";
import { isNotFound, writeFileAtomic } from "../_fs.ts";

/** Where cached outputs live. */
export const CACHE_DIR: string = join(".glacier", "cache");
/** Where checkpoints of failed runs live. */
export const CHECKPOINT_DIR: string = join(".glacier", "checkpoints");

/** Encodes a value to bytes for storage (tables as Arrow IPC, loading apache-arrow for them). */
export async function storeBytes(value: unknown): Promise<Uint8Array> {
  if (needsLibraries(value)) await loadLibraries(value);
  return new Uint8Array(serialize(encodeValue(value, "ipc").value));
}

/** Decodes bytes written by {@linkcode storeBytes}, rebuilding buckets with `storage`. */
export async function loadBytes(bytes: Uint8Array, storage: StorageWiring): Promise<unknown> {
  const encoded = deserialize(bytes);
  if (needsLibraries(encoded)) await loadLibraries(encoded);
  return decodeValue(encoded, storage);
}

/**
 * The cache key of a call: task name, task source and inputs, and the run's
 * data root when it has one (its buckets are other objects than the cloud's).
 *
 * @param task The task.
 * @param args Its arguments, refs already replaced by values.
 * @param dataRoot The run's data root. @default {undefined}
 * @returns A hex SHA-256.
 */
export async function cacheKey(task: Task, args: readonly unknown[], dataRoot?: string): Promise<string> {
  if (needsLibraries(args)) await loadLibraries(args);
  const hash = createHash("sha256");
  hash.update(`${task.name}\0${task.source}\0`);
  if (dataRoot !== undefined) hash.update(`dataRoot:${dataRoot}\0`);
  hashValue(hash, encodeValue(args, "ipc").value);
  return hash.digest("hex");
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

/** The content-addressed output cache. */
export class OutputCache {
  readonly #dir: string;

  /** @param dir The cache folder. */
  constructor(dir: string = CACHE_DIR) {
    this.#dir = dir;
  }

  /** The cached value for a key (buckets rebuilt with `storage`), or undefined on a miss (or an unreadable entry). */
  async get(key: string, storage: StorageWiring): Promise<{ value: unknown } | undefined> {
    try {
      return { value: await loadBytes(await Deno.readFile(join(this.#dir, `${key}.bin`)), storage) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      return undefined; // a corrupt entry is a miss; the next put replaces it
    }
  }

  /** Stores a value under a key, atomically. */
  async put(key: string, value: unknown): Promise<void> {
    await writeFileAtomic(join(this.#dir, `${key}.bin`), await storeBytes(value));
  }
}

/** Checkpointed outputs of one run. */
export class Checkpoints {
  /** The run's id. */
  readonly runId: string;
  readonly #dir: string;

  /**
   * @param runId The run's id.
   * @param root The checkpoints folder.
   */
  constructor(runId: string, root: string = CHECKPOINT_DIR) {
    this.runId = runId;
    this.#dir = join(root, runId);
  }

  #path(nodeId: string): string {
    return join(this.#dir, `${encodeURIComponent(nodeId)}.bin`);
  }

  /**
   * Saves a finished call's output, tagged with the task's source so a changed
   * task is not resumed from a stale value.
   */
  async save(nodeId: string, task: Task, value: unknown): Promise<void> {
    await writeFileAtomic(
      this.#path(nodeId),
      new Uint8Array(serialize({ source: task.source, bytes: await storeBytes(value) })),
    );
  }

  /** The output of a call, if it was checkpointed by the same task source. */
  async load(nodeId: string, task: Task): Promise<{ value: unknown } | undefined> {
    let entry: { source: string; bytes: Uint8Array };
    try {
      entry = deserialize(await Deno.readFile(this.#path(nodeId)));
    } catch {
      return undefined;
    }
    if (entry.source !== task.source) return undefined;
    return { value: await loadBytes(entry.bytes, task.resource.storage) };
  }
}
