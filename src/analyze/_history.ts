// The newest run report of a pipeline, for cost figures: the same reader
// `resume` uses, narrowed to what estimates need.
import { latestReport, RUNS_DIR, type TaskReport } from "../run/report.ts";

/** What cost estimates read from a run report. */
export interface PastRun {
  readonly runId: string;
  readonly startedAt: string;
  readonly tasks: readonly TaskReport[];
}

/** Reads the newest report of `pipeline` in `dir`; undefined when none is readable. */
export async function newestRun(pipeline: string, dir: string = RUNS_DIR): Promise<PastRun | undefined> {
  try {
    return await latestReport(pipeline, dir);
  } catch {
    return undefined; // an unreadable runs folder: estimate without history
  }
}
