// What a local run reuses instead of running, and what it keeps for a later
// resume: outputs checkpointed by the run it resumes (wherever in the resume
// chain they were written), cached outputs of `cache: true` tasks, and, as
// each call finishes, its own output checkpointed behind the run's back
// (write-behind: dependents do not wait for it), noted in the run's journal.
import { join } from "node:path";
import type { RecordedCall } from "../trace/context.ts";
import {
  cacheKey,
  type CacheMode,
  checkpointParts,
  Checkpoints,
  INLINE_CHECKPOINT_BYTES,
  inlineCheckpoint,
  inputsState,
  OutputCache,
  readInlineCheckpoint,
  storeValue,
  storeValueNow,
} from "./cache.ts";
import { sealedSize } from "./_sealed.ts";
import { holdsTables } from "../data/payload.ts";
import type { RunJournal } from "./journal.ts";

// A checkpoint waiting to be written: the output (already encoded when it
// holds tables) and what the call's bucket inputs held as it ended.
interface Pending {
  readonly call: RecordedCall;
  readonly value: unknown;
  readonly now?: { encoded: unknown };
  readonly inputs: Promise<string | undefined>;
}

/** What a run reuses and keeps. */
export interface ReuseOptions {
  /** The `.glacier` folder. */
  readonly glacier: string;
  /** This run's id: its checkpoints folder. */
  readonly runId: string;
  /** This run's journal. */
  readonly journal: RunJournal;
  /** The calls a resumed run restores: call-site id → the run whose checkpoints hold its output (or the checkpoint). */
  readonly restorable?: ReadonlyMap<string, Restorable>;
  /** The run's data root, part of cache keys. */
  readonly dataRoot?: string;
  /** Checkpoint each finished call's output as it finishes. @default {true} */
  readonly durable?: boolean;
  /** How the output cache is used: `refresh` runs and rewrites, `off` neither reads nor writes. @default {"use"} */
  readonly cache?: CacheMode;
}

/** Where a finished call's checkpoint is: a run's checkpoints folder, or inline in its journal. */
export interface Restorable {
  /** The run that checkpointed it. */
  readonly run: string;
  /** A small checkpoint itself. */
  readonly inline?: string;
}

export class Reuse {
  readonly #options: ReuseOptions;
  readonly #cache: OutputCache;
  readonly #root: string;
  readonly #own: Checkpoints;
  readonly #keys = new WeakMap<RecordedCall, string>(); // hash inputs once per call
  #writes: Promise<void> = Promise.resolve();
  /** Checkpoints waiting for the drain; the first is the one being written. */
  readonly #queue: Pending[] = [];

  constructor(options: ReuseOptions) {
    this.#options = options;
    this.#cache = new OutputCache(join(options.glacier, "cache"), { mode: options.cache ?? "use" });
    this.#root = join(options.glacier, "checkpoints");
    this.#own = new Checkpoints(options.runId, this.#root);
  }

  /** The calls restored from checkpoints so far, with the run each came from. */
  readonly restored = new Map<string, string>();

  async find(
    call: RecordedCall,
    args: readonly unknown[],
  ): Promise<{ value: unknown; from: string } | undefined> {
    const from = this.#options.restorable?.get(call.nodeId);
    if (from !== undefined) {
      const inputs = () => inputsState(args, this.#options.dataRoot);
      const hit = from.inline !== undefined
        ? await readInlineCheckpoint(from.inline, call.task, inputs)
        : await new Checkpoints(from.run, this.#root).load(call.nodeId, call.task, inputs);
      if (hit) {
        this.restored.set(call.nodeId, from.run);
        // This run's journal names it too, so a resume of this run finds it.
        this.#options.journal.append({
          node: call.nodeId,
          status: "done",
          checkpoint: from.run,
          inline: from.inline,
        });
        return { value: hit.value, from: "checkpoint" };
      }
    }
    if (!call.task.options.cache) return undefined;
    const key = await cacheKey(call.task, args, this.#options.dataRoot);
    this.#keys.set(call, key);
    const hit = await this.#cache.get(key, call.task.resource.storage, {
      expiry: call.task.options.cacheExpiry,
    });
    if (hit) this.#options.journal.append({ node: call.nodeId, status: "cached" });
    return hit && { value: hit.value, from: "cache" };
  }

  /**
   * Keeps a value a call produced: in the cache when the task asks (the call
   * settles once it is stored), and in this run's checkpoints (behind).
   */
  keep(call: RecordedCall, args: readonly unknown[], value: unknown): Promise<void> | undefined {
    if (this.#options.durable !== false) this.#checkpoint(call, args, value);
    return call.task.options.cache ? this.#store(call, args, value) : undefined;
  }

  // One checkpoint written at a time, in the order calls finish. A drain
  // starts a turn after the first call it writes ends, so the calls that end
  // made ready reach workers first and run while this thread encodes the
  // output; calls that end meanwhile join the same drain (one turn, not one
  // timer per call: timers are clamped to milliseconds).
  // What its bucket inputs hold is asked as the call ends, before a later call can write them.
  #checkpoint(call: RecordedCall, args: readonly unknown[], value: unknown): void {
    // Arrow tables are encoded now: the call they go to next may take their buffers by transfer.
    let now: { encoded: unknown } | undefined;
    try {
      now = holdsTables(value) ? storeValueNow(value, "machine") : undefined;
    } catch (error) {
      return this.#unsaved(call, error);
    }
    const inputs = inputsState(args, this.#options.dataRoot).catch(() => `unknown:${crypto.randomUUID()}`);
    this.#queue.push({ call, value, now, inputs });
    if (this.#queue.length > 1) return;
    this.#writes = this.#writes
      .then(() => new Promise((resolve) => setTimeout(resolve, 0)))
      .then(async () => {
        for (let next = this.#queue[0]; next; this.#queue.shift(), next = this.#queue[0]) {
          await this.#write(next);
        }
      });
  }

  async #write({ call, value, now, inputs }: Pending): Promise<void> {
    try {
      const encoded = now ? now.encoded : await storeValue(value, "machine");
      const parts = checkpointParts(call.task, encoded, await inputs);
      const { runId, journal } = this.#options;
      if (sealedSize(parts) <= INLINE_CHECKPOINT_BYTES) {
        journal.append({
          node: call.nodeId,
          status: "done",
          checkpoint: runId,
          inline: inlineCheckpoint(parts),
        });
      } else {
        await this.#own.saveParts(call.nodeId, parts);
        journal.append({ node: call.nodeId, status: "done", checkpoint: runId });
      }
    } catch (error) {
      this.#unsaved(call, error);
    }
  }

  #unsaved(call: RecordedCall, error: unknown): void {
    console.warn(
      `glacier: no checkpoint for "${call.nodeId}" (it will run again on resume): ${
        (error as Error).message
      }`,
    );
  }

  /** Resolves when every checkpoint asked for so far is written (or given up). */
  flush(): Promise<void> {
    return this.#writes;
  }

  async #store(call: RecordedCall, args: readonly unknown[], value: unknown): Promise<void> {
    const key = this.#keys.get(call) ?? await cacheKey(call.task, args, this.#options.dataRoot);
    try {
      await this.#cache.put(key, value);
    } catch (error) {
      console.warn(`glacier: not caching task "${call.task.name}": ${(error as Error).message}`);
    }
  }
}
