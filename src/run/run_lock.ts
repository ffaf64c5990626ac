/**
 * One run of a pipeline at a time per project: two runs of the same pipeline
 * going at once write the same outputs, so a run holds
 * `.glacier/runs/<pipeline>.lock` (its run id and process) while it goes. A
 * second run is refused while the holder lives; a lock left by a process that
 * died (a `kill -9`, a power cut) is taken over. `run({ concurrent: true })`
 * opts out, for runs whose outputs do not overlap (a backfill by date).
 *
 * @module
 */
import { join } from "node:path";
import { GlacierError } from "../errors.ts";

/** The process that holds a lock, or wrote a report. */
export interface RunProcess {
  readonly pid: number;
  readonly hostname: string;
}

interface LockBody extends RunProcess {
  readonly runId: string;
}

/** Run ids holding a lock in this process (a lock of this process's pid is live only while its run is). */
const held = new Set<string>();

/**
 * Takes the lock of a pipeline's runs in a project.
 *
 * @param runs The project's runs folder (`.glacier/runs`).
 * @param pipeline The pipeline's name.
 * @param runId The run taking it.
 * @returns Releases it (idempotent).
 * @throws {GlacierError} `USER:RUN_IN_PROGRESS` when a live run holds it, naming that run and process.
 */
export async function lockRun(runs: string, pipeline: string, runId: string): Promise<() => Promise<void>> {
  await Deno.mkdir(runs, { recursive: true });
  const path = join(runs, `${pipeline}.lock`);
  const body: LockBody = { runId, pid: Deno.pid, hostname: Deno.hostname() };
  for (let tries = 0;; tries++) {
    try {
      await Deno.writeTextFile(path, JSON.stringify(body), { createNew: true });
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists) || tries > 2) throw error;
    }
    const holder = await readLock(path);
    if (holder && await isAlive(holder, held.has(holder.runId))) {
      throw new GlacierError(
        "USER:RUN_IN_PROGRESS",
        `Pipeline "${pipeline}" is already running in this project (run ${holder.runId}, process ${holder.pid} on ${holder.hostname}); ` +
          `a second run would write the same outputs: wait for it to end, stop it (kill -TERM ${holder.pid}), ` +
          `or pass run({ concurrent: true }) if the two runs' outputs do not overlap`,
      );
    }
    await Deno.remove(path).catch(() => {}); // its process died: the lock is stale
  }
  held.add(runId);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    held.delete(runId);
    const holder = await readLock(path);
    if (holder?.runId === runId) await Deno.remove(path).catch(() => {});
  };
}

async function readLock(path: string): Promise<LockBody | undefined> {
  try {
    const body = JSON.parse(await Deno.readTextFile(path));
    return typeof body?.pid === "number" && typeof body?.runId === "string" ? body : undefined;
  } catch {
    return undefined; // gone meanwhile, or torn: treated as stale
  }
}

/**
 * Whether a process that holds a lock or wrote a report is alive. A process
 * on another host is taken as alive (it cannot be checked from here).
 *
 * @param process The process.
 * @param ownRun For this process's own pid: whether the run in question is still going here.
 * @returns Whether it lives.
 */
export async function isAlive(process: RunProcess | undefined, ownRun = false): Promise<boolean> {
  if (!process) return false;
  if (process.hostname !== Deno.hostname()) return true;
  if (process.pid === Deno.pid) return ownRun;
  if (Deno.build.os === "linux") {
    return await Deno.stat(`/proc/${process.pid}`).then((s) => s.isDirectory, () => false);
  }
  if (Deno.build.os === "windows") {
    const out = await new Deno.Command("tasklist", {
      args: ["/FI", `PID eq ${process.pid}`],
      stdout: "piped",
    })
      .output().catch(() => undefined);
    return out ? new TextDecoder().decode(out.stdout).includes(String(process.pid)) : false;
  }
  const out = await new Deno.Command("kill", { args: ["-0", String(process.pid)], stderr: "null" }).output()
    .catch(() => undefined);
  return out?.success ?? false;
}
