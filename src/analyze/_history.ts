// The newest run report of a pipeline in `.glacier/runs/`, for cost figures.
import { join } from "node:path";
import { RUNS_DIR, type TaskReport } from "../run/report.ts";

/** What cost estimates read from a run report. */
export interface PastRun {
  readonly runId: string;
  readonly startedAt: string;
  readonly tasks: readonly TaskReport[];
}

/** Reads the newest report of `pipeline` in `dir`; undefined when none is readable. */
export async function newestRun(pipeline: string, dir: string = RUNS_DIR): Promise<PastRun | undefined> {
  let best: PastRun | undefined;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json") || !entry.name.startsWith(`${pipeline}-`)) continue;
      try {
        const report = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
        if (report?.pipeline !== pipeline || !Array.isArray(report.tasks)) continue;
        if (!best || String(report.startedAt) > best.startedAt) best = report;
      } catch {
        // a half-written or foreign file: not a report
      }
    }
  } catch {
    return undefined; // no runs folder yet
  }
  return best;
}
