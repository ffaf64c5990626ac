// The newest run report of a pipeline, for cost figures: the same reader
// `resume` uses, narrowed to what estimates need; and the sizes of the objects
// its tasks read and wrote, measured where that run kept them on this machine.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { latestReport, RUNS_DIR, type TaskReport } from "../run/report.ts";

/** What cost estimates read from a run report. */
export interface PastRun {
  readonly runId: string;
  readonly startedAt: string;
  readonly tasks: readonly TaskReport[];
  /** The folder the run's buckets were mapped to, if any. */
  readonly dataRoot?: string;
}

/** Reads the newest report of `pipeline` in `dir`; undefined when none is readable. */
export async function newestRun(pipeline: string, dir: string = RUNS_DIR): Promise<PastRun | undefined> {
  try {
    return await latestReport(pipeline, dir);
  } catch {
    return undefined; // an unreadable runs folder: estimate without history
  }
}

const MAX_FILES = 10_000;

/**
 * Per node id, the bytes of the objects it reads and writes, as they are now
 * in the storage the run used on this machine: `file:` URIs, or cloud URIs
 * under the run's data root. Nodes whose objects are elsewhere are left out.
 */
export async function measuredSizes(
  run: PastRun | undefined,
  nodes: readonly { id: string; reads: readonly string[]; writes: readonly string[] }[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!run) return out;
  const sizes = new Map<string, number | undefined>();
  const buckets = await folders(run.dataRoot);
  for (const node of nodes) {
    let total = 0, known = false;
    for (const uri of [...node.reads, ...node.writes]) {
      if (!sizes.has(uri)) sizes.set(uri, await sizeOf(localPath(uri, run.dataRoot, buckets)));
      const size = sizes.get(uri);
      if (size !== undefined) [total, known] = [total + size, true];
    }
    if (known) out.set(node.id, total);
  }
  return out;
}

// Where a URI's object was on this machine for the run. Under a data root every bucket is
// the folder <root>/<bucket>, local ones too: a file: URI's bucket is a folder of its path
// that the data root holds, the first that has the object (its local root is not in the URI).
function localPath(
  uri: string,
  dataRoot: string | undefined,
  buckets: readonly string[],
): string | undefined {
  if (uri.startsWith("file:")) {
    const path = fileURLToPath(uri.replace(/\*$/, ""));
    if (dataRoot === undefined) return path;
    const parts = path.split("/");
    for (let i = 0; i < parts.length - 1; i++) {
      if (!buckets.includes(parts[i])) continue;
      const candidate = join(resolve(dataRoot), ...parts.slice(i));
      if (exists(candidate)) return candidate;
    }
    return undefined;
  }
  const m = /^(s3|gs|az):\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m || dataRoot === undefined) return undefined;
  return join(resolve(dataRoot), m[2], m[3].replace(/\*$/, ""));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

// The folders at the top of a data root: the buckets a run under it used.
async function folders(dataRoot: string | undefined): Promise<string[]> {
  if (dataRoot === undefined) return [];
  try {
    return (await Array.fromAsync(Deno.readDir(dataRoot))).filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

// A file's size, or the sum under a folder (a prefix); undefined when there is nothing.
async function sizeOf(path: string | undefined): Promise<number | undefined> {
  if (path === undefined) return undefined;
  try {
    const info = await Deno.stat(path);
    if (info.isFile) return info.size;
    let total = 0, count = 0;
    const walk = async (dir: string): Promise<void> => {
      for await (const entry of Deno.readDir(dir)) {
        if (++count > MAX_FILES) return;
        const p = join(dir, entry.name);
        if (entry.isDirectory) await walk(p);
        else if (entry.isFile) total += (await Deno.stat(p)).size;
      }
    };
    await walk(path);
    return total;
  } catch {
    return undefined;
  }
}
