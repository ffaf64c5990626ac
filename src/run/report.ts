/**
 * `RunReport`: what a run did, per task — status, attempts, timings, cache
 * hits and where it ran. `pipeline.lastRun` holds the latest in this process;
 * every run also writes one to `.glacier/runs/<runId>.json`.
 *
 * @module
 */
import { join } from "node:path";
import type { PipelineDAG } from "../dag.ts";
import { isNotFound, writeFileAtomic } from "../_fs.ts";

/** The state of one task call in a run. */
export type TaskStatus = "waiting" | "running" | "done" | "cached" | "failed" | "skipped" | "interrupted";

/** One task call of a run. */
export interface TaskReport {
  /** The call-site id. */
  id: string;
  /** The task's name. */
  task: string;
  /** The resource the task is bound to. */
  executor: string;
  /** What actually ran it in this run: `in-process`, `worker`, `lambda`, … */
  ranOn?: string;
  /** Its final state. */
  status: TaskStatus;
  /** Attempts made. */
  attempts: number;
  /** When the first attempt started, ISO 8601. */
  startedAt?: string;
  /** Milliseconds it ran: from leaving the executor's queue (a free worker) to its end, retries included. */
  durationMs?: number;
  /** Milliseconds it was ready but waited for a worker (or a process place) before it ran. */
  queuedMs?: number;
  /** Whether the value came from the cache or a checkpoint. */
  cached: boolean;
  /** For a call restored on resume: the run whose checkpoint held its output. */
  restoredFrom?: string;
  /**
   * For a failed call: the error, with the last lines its failed attempt
   * printed (up to 20) when it printed any.
   */
  error?: { code: string; message: string; stack?: string; logTail?: string[] };
  /**
   * What the call printed through `console`, one file per attempt that
   * printed, relative to the `.glacier/` folder: `logs/<runId>/<call>.<attempt>.log`.
   */
  logs?: string[];
  /** For a skipped call: the id of the failed call upstream. */
  skippedBecause?: string;
  /**
   * CSV rows its `Bucket.scan({ skipBadLines: true })` scans dropped, by
   * object URI; absent when it made no such scan. Counted where the call ran
   * locally (in this process, a pool worker or a narrowed subprocess).
   */
  skippedLines?: Record<string, number>;
}

/** What one run of a pipeline did. */
export interface RunReport {
  /** The run's id, also the report's file name. */
  runId: string;
  /** The pipeline's name. */
  pipeline: string;
  /** The module that defines the pipeline (a file or https URL): what resuming or re-running it imports. */
  module?: string;
  /** The mode it ran in. */
  mode: string;
  /**
   * `running` while it runs (the report is written as the run starts; a run
   * killed outright stays `running`), then `succeeded`, `failed` or
   * `interrupted` (SIGINT or SIGTERM).
   */
  status: "running" | "succeeded" | "failed" | "interrupted";
  /** The process that ran it, to tell a run still going from one that was killed. */
  process?: { pid: number; hostname: string };
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601. */
  finishedAt: string;
  /** Milliseconds. */
  durationMs: number;
  /** The params the pipeline was called with. */
  params: Record<string, unknown>;
  /** The run id this run resumed, if any. */
  resumedFrom?: string;
  /** The folder every bucket was mapped to (`run({ dataRoot })`), absolute; absent when buckets were their own. */
  dataRoot?: string;
  /** The DAG as traced during the run. */
  dag: PipelineDAG;
  /** One entry per task call, in recording order. */
  tasks: TaskReport[];
}

/** The folder run reports go to, under the working directory. */
export const RUNS_DIR: string = join(".glacier", "runs");

/**
 * Writes a report atomically to `.glacier/runs/<runId>.json`.
 *
 * @returns The file's path.
 */
export async function writeReport(report: RunReport, dir: string = RUNS_DIR): Promise<string> {
  const path = join(dir, `${report.runId}.json`);
  // Pretty for people; compact past a thousand tasks, where nobody reads it by eye.
  await writeFileAtomic(
    path,
    JSON.stringify(report, null, report.tasks.length > 1000 ? undefined : 2) + "\n",
  );
  return path;
}

/** A new run id: sortable by time, unique. */
export function newRunId(pipeline: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${pipeline}-${stamp}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * One run's report, by its id.
 *
 * @param runId The run's id.
 * @param dir The reports folder.
 * @returns The report, or undefined when there is none (or it is not a report).
 */
export async function readReport(runId: string, dir: string = RUNS_DIR): Promise<RunReport | undefined> {
  if (!/^[\w.-]+$/.test(runId)) return undefined;
  try {
    const report = JSON.parse(await Deno.readTextFile(join(dir, `${runId}.json`))) as RunReport;
    return typeof report?.pipeline === "string" && Array.isArray(report.tasks) ? report : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest run report of a pipeline in `.glacier/runs/`, if any: what
 * `resume` continues from and what cost estimates measure.
 *
 * @param pipeline The pipeline's name.
 * @param dir The reports folder.
 * @returns The report with the latest start, or undefined when none is readable.
 */
export async function latestReport(pipeline: string, dir: string = RUNS_DIR): Promise<RunReport | undefined> {
  return (await listReports(dir, pipeline))[0];
}

/**
 * The run reports in a folder, newest first; files that are not reports are skipped.
 *
 * @param dir The runs folder. @default {".glacier/runs"}
 * @param pipeline Only this pipeline's runs. @default {every pipeline's}
 * @returns The reports; none when the folder is missing.
 */
export async function listReports(dir: string = RUNS_DIR, pipeline?: string): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      if (pipeline !== undefined && !entry.name.startsWith(`${pipeline}-`)) continue;
      try {
        const report = JSON.parse(await Deno.readTextFile(join(dir, entry.name))) as RunReport;
        if (typeof report?.pipeline !== "string" || !Array.isArray(report.tasks)) continue;
        if (pipeline !== undefined && report.pipeline !== pipeline) continue;
        reports.push(report);
      } catch {
        // a foreign or unreadable file is not a report
      }
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return reports.sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
}
