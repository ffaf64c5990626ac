/**
 * Collection of what runs leave under `.glacier/`: cached outputs (`cache/`),
 * checkpoints of failed runs (`checkpoints/<runId>/`) and task logs
 * (`logs/<runId>/`). `glacier clean` calls {@linkcode cleanGlacier}.
 *
 * @module
 */
import { join } from "node:path";
import { isNotFound } from "../_fs.ts";

/** Options for {@linkcode cleanGlacier}. */
export interface CleanOptions {
  /**
   * Remove only what is older than this many milliseconds: a cache entry by
   * when it was last written or hit, a checkpoint by when it was written.
   * @default {undefined} (everything)
   */
  olderThanMs?: number;
  /** Remove cache entries. @default {true when no kind is given} */
  cache?: boolean;
  /** Remove checkpoints. @default {true when no kind is given} */
  checkpoints?: boolean;
  /** Remove task logs. @default {true when no kind is given} */
  logs?: boolean;
  /** The time ages are measured from, in milliseconds since the epoch. @default {Date.now()} */
  now?: number;
}

/** What {@linkcode cleanGlacier} removed. */
export interface CleanResult {
  /** Cache entries removed (left-over temporary files included). */
  cacheEntries: number;
  /** Checkpoint files removed. */
  checkpoints: number;
  /** Run folders of checkpoints removed whole. */
  checkpointRuns: number;
  /** Task log files removed. */
  logFiles: number;
  /** Bytes freed. */
  bytes: number;
}

/**
 * Removes cache entries, checkpoints and task logs from a `.glacier/` folder: those
 * older than `olderThanMs`, or all of them. A missing folder is nothing to
 * remove.
 *
 * @param glacierDir The `.glacier/` folder (`glacierDir(module)` of a pipeline's module).
 * @param options Age and kinds.
 * @returns Counts and bytes freed.
 * @throws {TypeError} When `olderThanMs` is not a number.
 * @throws {RangeError} When `olderThanMs` is negative.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanGlacier } from "./clean.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/cache`);
 * await Deno.writeTextFile(`${dir}/cache/abc.bin`, "x");
 * const removed = await cleanGlacier(dir, { cache: true });
 * assert.deepEqual(removed, { cacheEntries: 1, checkpoints: 0, checkpointRuns: 0, logFiles: 0, bytes: 1 });
 * ```
 */
export async function cleanGlacier(glacierDir: string, options: CleanOptions = {}): Promise<CleanResult> {
  const { olderThanMs } = options;
  if (olderThanMs !== undefined) {
    if (typeof olderThanMs !== "number" || Number.isNaN(olderThanMs)) {
      throw new TypeError(
        `Cannot clean ${glacierDir}: "olderThanMs" must be a number, got ${typeof olderThanMs}`,
      );
    }
    if (olderThanMs < 0) {
      throw new RangeError(
        `Cannot clean ${glacierDir}: "olderThanMs" is ${olderThanMs}, it must be 0 or more`,
      );
    }
  }
  const all = options.cache === undefined && options.checkpoints === undefined && options.logs === undefined;
  const cutoff = olderThanMs === undefined ? Infinity : (options.now ?? Date.now()) - olderThanMs;
  const result: CleanResult = { cacheEntries: 0, checkpoints: 0, checkpointRuns: 0, logFiles: 0, bytes: 0 };
  if (all || options.cache) {
    const { files, bytes } = await removeOld(join(glacierDir, "cache"), cutoff);
    result.cacheEntries += files;
    result.bytes += bytes;
  }
  if (all || options.checkpoints) {
    const { files, bytes, runs } = await removeRunFolders(join(glacierDir, "checkpoints"), cutoff);
    result.checkpoints += files;
    result.checkpointRuns += runs;
    result.bytes += bytes;
  }
  if (all || options.logs) {
    const { files, bytes } = await removeRunFolders(join(glacierDir, "logs"), cutoff);
    result.logFiles += files;
    result.bytes += bytes;
  }
  return result;
}

// The old files of each run's folder under root; a folder left empty goes too.
async function removeRunFolders(
  root: string,
  cutoff: number,
): Promise<{ files: number; bytes: number; runs: number }> {
  const total = { files: 0, bytes: 0, runs: 0 };
  for (const run of await entries(root)) {
    if (!run.isDirectory) continue;
    const folder = join(root, run.name);
    const { files, bytes, left } = await removeOld(folder, cutoff);
    total.files += files;
    total.bytes += bytes;
    if (left === 0 && await Deno.remove(folder).then(() => true, () => false)) total.runs++;
  }
  return total;
}

/**
 * Removes a run's checkpoints, as when the run has succeeded and will not
 * be resumed. A run with none is not an error.
 *
 * @param runId The run's id.
 * @param root The checkpoints folder (`.glacier/checkpoints`).
 * @returns Files removed and bytes freed.
 * @throws {RangeError} When `runId` is empty or could name a folder outside `root`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeCheckpoints } from "./clean.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/run-1`);
 * await Deno.writeTextFile(`${root}/run-1/load.bin`, "xy");
 * assert.deepEqual(await removeCheckpoints("run-1", root), { files: 1, bytes: 2 });
 * assert.deepEqual(await removeCheckpoints("run-1", root), { files: 0, bytes: 0 });
 * ```
 */
export async function removeCheckpoints(
  runId: string,
  root: string,
): Promise<{ files: number; bytes: number }> {
  if (typeof runId !== "string" || runId === "" || /[/\\]|^\.\.?$/.test(runId)) {
    throw new RangeError(
      `Cannot remove the checkpoints of run ${JSON.stringify(runId)}: a run id is one folder name`,
    );
  }
  const folder = join(root, runId);
  const { files, bytes } = await removeOld(folder, Infinity);
  await Deno.remove(folder, { recursive: true }).catch((error) => {
    if (!isNotFound(error)) throw error;
  });
  return { files, bytes };
}

/**
 * Milliseconds in an age such as `"90s"`, `"30m"`, `"12h"`, `"7d"` or `"2w"`
 * (a bare number is milliseconds), as `glacier clean --older-than` takes it.
 *
 * @param text The age.
 * @returns Milliseconds.
 * @throws {RangeError} When the text is not a number with one of `ms`, `s`, `m`, `h`, `d`, `w`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAge } from "./clean.ts";
 * assert.equal(parseAge("7d"), 7 * 24 * 3_600_000);
 * assert.equal(parseAge("1.5h"), 5_400_000);
 * ```
 */
export function parseAge(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!match) {
    throw new RangeError(
      `Age ${
        JSON.stringify(text)
      } is not understood: use a number and a unit, such as "90s", "30m", "12h", "7d" or "2w"`,
    );
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]);
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

async function entries(dir: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

// Removes the files of one folder last modified before `cutoff`; counts what is left.
async function removeOld(
  dir: string,
  cutoff: number,
): Promise<{ files: number; bytes: number; left: number }> {
  let files = 0, bytes = 0, left = 0;
  for (const entry of await entries(dir)) {
    if (!entry.isFile) {
      left++;
      continue;
    }
    const path = join(dir, entry.name);
    const info = await Deno.lstat(path).catch(() => undefined);
    if (!info) continue; // removed meanwhile
    if (cutoff !== Infinity && (info.mtime?.getTime() ?? 0) >= cutoff) {
      left++;
      continue;
    }
    try {
      await Deno.remove(path);
      files++;
      bytes += info.size;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return { files, bytes, left };
}
