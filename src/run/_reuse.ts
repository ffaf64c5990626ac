import { join } from "node:path";
// What a local run reuses instead of running: outputs checkpointed by the
// failed run it resumes, and cached outputs of `cache: true` tasks.
import type { RecordedCall } from "../trace/context.ts";
import { cacheKey, Checkpoints, OutputCache } from "./cache.ts";
import type { RunReport } from "./report.ts";

export class Reuse {
  readonly #cache: OutputCache;
  readonly #checkpoints?: Checkpoints;
  readonly #finished: Set<string>;
  readonly #keys = new WeakMap<RecordedCall, string>(); // hash inputs once per call
  readonly #dataRoot?: string;

  constructor(previous: RunReport | undefined, glacier: string, dataRoot?: string) {
    this.#dataRoot = dataRoot;
    this.#cache = new OutputCache(join(glacier, "cache"));
    this.#checkpoints = previous ? new Checkpoints(previous.runId, join(glacier, "checkpoints")) : undefined;
    this.#finished = new Set(
      previous?.tasks.filter((t) => t.status === "done" || t.status === "cached").map((t) => t.id) ?? [],
    );
  }

  async find(
    call: RecordedCall,
    args: readonly unknown[],
  ): Promise<{ value: unknown; from: string } | undefined> {
    if (this.#checkpoints && this.#finished.has(call.nodeId)) {
      const hit = await this.#checkpoints.load(call.nodeId, call.task);
      if (hit) return { value: hit.value, from: "checkpoint" };
    }
    if (!call.task.options.cache) return undefined;
    const key = await cacheKey(call.task, args, this.#dataRoot);
    this.#keys.set(call, key);
    const hit = await this.#cache.get(key, call.task.resource.storage);
    return hit && { value: hit.value, from: "cache" };
  }

  keep(call: RecordedCall, args: readonly unknown[], value: unknown): Promise<void> | undefined {
    return call.task.options.cache ? this.#store(call, args, value) : undefined;
  }

  async #store(call: RecordedCall, args: readonly unknown[], value: unknown): Promise<void> {
    const key = this.#keys.get(call) ?? await cacheKey(call.task, args, this.#dataRoot);
    try {
      await this.#cache.put(key, value);
    } catch (error) {
      console.warn(`glacier: not caching task "${call.task.name}": ${(error as Error).message}`);
    }
  }
}

// Keeps the outputs of a failed run's finished calls for `resume`.
export async function checkpoint(
  runId: string,
  finished: readonly { call: RecordedCall; value: unknown }[],
  glacier: string,
) {
  const checkpoints = new Checkpoints(runId, join(glacier, "checkpoints"));
  await Promise.all(finished.map(async ({ call, value }) => {
    try {
      await checkpoints.save(call.nodeId, call.task, value);
    } catch (error) {
      console.warn(
        `glacier: no checkpoint for "${call.nodeId}" (it will run again on resume): ${
          (error as Error).message
        }`,
      );
    }
  }));
}
