/**
 * `RunState`: the run state `glacier ui` shows, read from a project's
 * `.glacier/` folder: the run reports in `runs/`, each running run's journal
 * (`runs/<runId>.journal.jsonl`, the state of its calls as they change) and
 * its task logs (`logs/<runId>/<call>.<attempt>.log`, appended as the calls
 * print). It only reads: nothing under `.glacier/` is written or locked, so a
 * run going in another process is seen as it goes.
 *
 * A report is parsed again only when its file changed (its modification
 * time or size), and the reports are only looked at when the runs folder
 * changed (reports are written by a rename into it), so a scan of a project
 * with thousands of runs reads the journals and logs of the few that go.
 *
 * @module
 */
import { join } from "node:path";
import type { PipelineDAG } from "../dag.ts";
import { isNotFound } from "../_fs.ts";
import { readJournal } from "../run/journal.ts";
import { readReport, type RunReport, type TaskReport, type TaskStatus } from "../run/report.ts";
import { logName } from "../run/task_log.ts";

/** A run report as it is on disk: the DAG in its plain form. */
export type StoredReport = Omit<RunReport, "dag"> & {
  /** The DAG as `PipelineDAG.toJSON()` wrote it (empty while a run records its calls). */
  dag: ReturnType<PipelineDAG["toJSON"]>;
  /** The file URL of the module that defines the pipeline, in reports that name it. */
  module?: string;
};

/** One run, as the runs list shows it. */
export interface RunSummary {
  /** The run's id. */
  readonly runId: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The report's status. */
  readonly status: RunReport["status"];
  /**
   * For a `running` run: its process is gone from this machine (it was
   * killed outright, so it never wrote how it ended); it can be resumed.
   */
  readonly stale: boolean;
  /** When it started, ISO 8601. */
  readonly startedAt: string;
  /** When it ended, ISO 8601; absent while it runs. */
  readonly finishedAt?: string;
  /** How long it ran, in milliseconds; absent while it runs. */
  readonly durationMs?: number;
  /** The params the pipeline was called with. */
  readonly params: Record<string, unknown>;
  /** The run it resumed, if any. */
  readonly resumedFrom?: string;
  /** The folder its buckets were mapped to, if any. */
  readonly dataRoot?: string;
  /** The file URL of the module that defines the pipeline, when the report names it. */
  readonly module?: string;
  /** The process that ran it. */
  readonly process?: { readonly pid: number; readonly hostname: string };
  /** How many calls are in each state (from the journal while the run goes). */
  readonly counts: Partial<Record<TaskStatus, number>>;
}

/** One task call of a run, as the run page shows it. */
export interface CallView {
  /** The call-site id. */
  readonly id: string;
  /** The task's name. */
  readonly task: string;
  /** The resource the task is bound to ("" while unknown). */
  readonly executor: string;
  /** What ran it: `in-process`, `worker`, … */
  readonly ranOn?: string;
  /** Its state: the report's, or the journal's latest while the run goes. */
  readonly status: TaskStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When its first attempt started, ISO 8601. */
  readonly startedAt?: string;
  /** For a running call: when its current attempt started, ISO 8601 (from the journal). */
  readonly since?: string;
  /** Milliseconds it ran, retries included. */
  readonly durationMs?: number;
  /** Milliseconds it waited for a worker. */
  readonly queuedMs?: number;
  /** Whether its value came from the cache or a checkpoint. */
  readonly cached: boolean;
  /** The run whose checkpoint it was restored from. */
  readonly restoredFrom?: string;
  /** A failed call's error. */
  readonly error?: TaskReport["error"];
  /** For a skipped call: the failed call upstream. */
  readonly skippedBecause?: string;
  /** Its log files, names in `logs/<runId>/`, oldest attempt first. */
  readonly logs: readonly string[];
}

/** One run with its calls and DAG, as the run page shows it. */
export interface RunView extends RunSummary {
  /** The mode it ran in. */
  readonly mode: string;
  /** The DAG in its plain form. */
  readonly dag: StoredReport["dag"];
  /** Its calls: the report's, then DAG nodes not called yet, then calls only the journal knows. */
  readonly calls: readonly CallView[];
}

/** Part of a log file. */
export interface LogChunk {
  /** The text from `start` to `end`. */
  readonly text: string;
  /** Its first byte in the file. */
  readonly start: number;
  /** The byte after its last: the offset to ask for next. */
  readonly end: number;
  /** The file's size when it was read. */
  readonly size: number;
}

/** Options for {@linkcode RunState}. */
export interface RunStateOptions {
  /** Called after a scan with the ids of the runs that changed. @default {undefined} */
  onChange?: (runIds: readonly string[]) => void;
}

/** The most of a log one request returns, and what a first read shows of a longer log (its end). */
export const LOG_CHUNK_BYTES = 512 * 1024;

// The longest a scan goes on trusting the runs folder's time (a report edited in place does not change it).
const FULL_SCAN_MS = 5000;

const JOURNAL_STATUS: Readonly<Record<string, TaskStatus>> = {
  running: "running",
  done: "done",
  cached: "cached",
  failed: "failed",
  skipped: "skipped",
  interrupted: "interrupted",
};

interface Known {
  readonly stamp: string;
  readonly report?: StoredReport;
}

interface Live {
  readonly stamp: string;
  readonly counts: Partial<Record<TaskStatus, number>>;
}

/**
 * The runs of one project's `.glacier/` folder, kept up to date by
 * {@linkcode RunState.refresh}; views of one run and its logs on demand.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { RunState } from "./state.ts";
 * const glacier = await Deno.makeTempDir();
 * await Deno.mkdir(join(glacier, "runs"));
 * const report = {
 *   runId: "etl-1", pipeline: "etl", mode: "local", status: "succeeded", startedAt: "2026-01-01T00:00:00Z",
 *   finishedAt: "2026-01-01T00:00:01Z", durationMs: 1000, params: {}, dag: { nodes: [] }, tasks: [],
 * };
 * await Deno.writeTextFile(join(glacier, "runs", "etl-1.json"), JSON.stringify(report));
 * const state = new RunState(glacier);
 * await state.refresh();
 * assert.deepEqual(state.runs().map((r) => [r.runId, r.status]), [["etl-1", "succeeded"]]);
 * assert.equal(await state.view("missing"), undefined);
 * await Deno.remove(glacier, { recursive: true });
 * ```
 */
export class RunState {
  /** The `.glacier/` folder. */
  readonly glacier: string;
  /** Its `runs/` folder. */
  readonly runsDir: string;
  readonly #onChange?: (runIds: readonly string[]) => void;
  readonly #known = new Map<string, Known>();
  readonly #live = new Map<string, Live>();
  #running?: Promise<void>;
  #queued?: Promise<void>;
  #folderTime = -2;
  #fullScanAt = 0;
  #scannedAt = -Infinity;

  /**
   * @param glacier The project's `.glacier/` folder (it need not exist yet).
   * @param options Who hears of changes.
   */
  constructor(glacier: string, options: RunStateOptions = {}) {
    this.glacier = glacier;
    this.runsDir = join(glacier, "runs");
    this.#onChange = options.onChange;
  }

  /**
   * Reads what changed since the last scan: new, changed and removed
   * reports, and the journal and logs of each running run. Calls made while
   * a scan goes share one more scan after it, so what a caller reads next
   * is never older than its call.
   *
   * @param maxAgeMs Skip the scan when the last one started at most this long ago. @default {0}
   * @returns Resolves when the state is current (or as old as allowed).
   */
  refresh(maxAgeMs = 0): Promise<void> {
    if (maxAgeMs > 0 && !this.#running && Date.now() - this.#scannedAt <= maxAgeMs) return Promise.resolve();
    if (this.#queued) return this.#queued;
    const start = (): Promise<void> => {
      this.#queued = undefined;
      const scan = this.#scan().finally(() => {
        if (this.#running === scan) this.#running = undefined;
      });
      this.#running = scan;
      return scan;
    };
    if (!this.#running) return start();
    this.#queued = this.#running.catch(() => {}).then(start);
    return this.#queued;
  }

  /**
   * The runs known at the last scan, newest first.
   *
   * @param pipeline Only this pipeline's runs. @default {every pipeline's}
   * @returns Their summaries.
   */
  runs(pipeline?: string): RunSummary[] {
    const out: RunSummary[] = [];
    for (const [runId, known] of this.#known) {
      if (!known.report || (pipeline !== undefined && known.report.pipeline !== pipeline)) continue;
      out.push(this.#summary(known.report, this.#live.get(runId)?.counts));
    }
    // The order listReports() gives.
    return out.sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
  }

  /**
   * The report of a run known at the last scan.
   *
   * @param runId The run's id.
   * @returns The report as stored, or undefined.
   */
  report(runId: string): StoredReport | undefined {
    return this.#known.get(runId)?.report;
  }

  /**
   * One run with its calls: the report's, with the journal's newer states
   * while the run goes, and the log files each call has so far.
   *
   * @param runId The run's id.
   * @returns The view, or undefined when there is no such run.
   */
  async view(runId: string): Promise<RunView | undefined> {
    const report = this.report(runId);
    if (!report) return undefined;
    const running = report.status === "running";
    const journal = running ? await readJournal(this.runsDir, runId) : new Map();
    const files = await this.#logFiles(runId);
    const calls = new Map<string, CallView>();
    for (const t of report.tasks) {
      calls.set(t.id, {
        id: t.id,
        task: t.task,
        executor: t.executor,
        ...(t.ranOn === undefined ? {} : { ranOn: t.ranOn }),
        status: t.status,
        attempts: t.attempts,
        ...(t.startedAt === undefined ? {} : { startedAt: t.startedAt }),
        ...(t.durationMs === undefined ? {} : { durationMs: t.durationMs }),
        ...(t.queuedMs === undefined ? {} : { queuedMs: t.queuedMs }),
        cached: t.cached,
        ...(t.restoredFrom === undefined ? {} : { restoredFrom: t.restoredFrom }),
        ...(t.error === undefined ? {} : { error: t.error }),
        ...(t.skippedBecause === undefined ? {} : { skippedBecause: t.skippedBecause }),
        logs: (t.logs ?? []).map((f) => f.slice(f.lastIndexOf("/") + 1)),
      });
    }
    for (const n of report.dag?.nodes ?? []) {
      if (!calls.has(n.id)) {
        calls.set(n.id, {
          id: n.id,
          task: n.task.name,
          executor: n.executor,
          status: "waiting",
          attempts: 0,
          cached: false,
          logs: [],
        });
      }
    }
    for (const [node, entry] of journal) {
      const before: CallView = calls.get(node) ??
        {
          id: node,
          task: node.replace(/#\d+$/, ""),
          executor: "",
          status: "waiting",
          attempts: 0,
          cached: false,
          logs: [],
        };
      const status = JOURNAL_STATUS[entry.status] ?? before.status;
      const restoredFrom = entry.checkpoint !== undefined && entry.checkpoint !== runId
        ? entry.checkpoint
        : before.restoredFrom;
      const { since: _, ...rest } = before;
      calls.set(node, {
        ...rest,
        status,
        attempts: Math.max(before.attempts, entry.attempt ?? 0),
        ...(status === "running" ? { since: entry.at } : {}),
        ...(before.startedAt === undefined && entry.status === "running" && entry.attempt === 1
          ? { startedAt: entry.at }
          : {}),
        cached: before.cached || status === "cached" || restoredFrom !== undefined,
        ...(restoredFrom === undefined ? {} : { restoredFrom }),
      });
    }
    // Log files the report does not list yet: a call printing right now.
    for (const [id, call] of calls) {
      const logs = new Set(call.logs);
      for (let attempt = 1; attempt <= call.attempts; attempt++) {
        const name = logName(id, attempt);
        if (files.has(name)) logs.add(name);
      }
      if (logs.size !== call.logs.length) {
        calls.set(id, { ...call, logs: [...logs].sort((a, b) => attemptOf(a) - attemptOf(b)) });
      }
    }
    const list = [...calls.values()];
    return {
      ...this.#summary(report, running ? countOf(list) : undefined),
      mode: report.mode,
      dag: report.dag,
      calls: list,
    };
  }

  /**
   * Part of a call's log file: from `offset` to the end (at most
   * {@linkcode LOG_CHUNK_BYTES}), or without an offset the last
   * {@linkcode LOG_CHUNK_BYTES} of it.
   *
   * @param runId The run's id.
   * @param file The log's name in `logs/<runId>/`, as a {@linkcode CallView} lists it.
   * @param offset The first byte to read. @default {the start of the file's last LOG_CHUNK_BYTES}
   * @returns The chunk, or undefined when the run or the file does not exist.
   */
  async log(runId: string, file: string, offset?: number): Promise<LogChunk | undefined> {
    if (!this.report(runId) || !/^[^/\\]+\.\d+\.log$/.test(file) || file.startsWith(".")) return undefined;
    let handle: Deno.FsFile;
    try {
      handle = await Deno.open(join(this.glacier, "logs", runId, file), { read: true });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      // A file shorter than the offset was replaced: read it again from its start.
      let start = offset === undefined ? Math.max(0, size - LOG_CHUNK_BYTES) : offset > size ? 0 : offset;
      const end = Math.min(size, start + LOG_CHUNK_BYTES);
      const bytes = new Uint8Array(end - start);
      await handle.seek(start, Deno.SeekMode.Start);
      let read = 0;
      while (read < bytes.length) {
        const n = await handle.read(bytes.subarray(read));
        if (n === null) break;
        read += n;
      }
      if (offset === undefined && start > 0) {
        // Start at a line: the first one is cut.
        const nl = bytes.indexOf(10);
        if (nl >= 0 && nl < read) {
          start += nl + 1;
          return { text: decode(bytes.subarray(nl + 1, read)), start, end: start + read - nl - 1, size };
        }
      }
      return { text: decode(bytes.subarray(0, read)), start, end: start + read, size };
    } finally {
      handle.close();
    }
  }

  #summary(report: StoredReport, liveCounts?: Partial<Record<TaskStatus, number>>): RunSummary {
    const running = report.status === "running";
    return {
      runId: report.runId,
      pipeline: report.pipeline,
      status: report.status,
      stale: running && isGone(report.process),
      startedAt: report.startedAt,
      ...(running ? {} : { finishedAt: report.finishedAt, durationMs: report.durationMs }),
      params: report.params ?? {},
      ...(report.resumedFrom === undefined ? {} : { resumedFrom: report.resumedFrom }),
      ...(report.dataRoot === undefined ? {} : { dataRoot: report.dataRoot }),
      ...(typeof report.module === "string" ? { module: report.module } : {}),
      ...(report.process ? { process: report.process } : {}),
      counts: liveCounts ?? countOf(report.tasks),
    };
  }

  async #scan(): Promise<void> {
    const startedAt = Date.now();
    this.#scannedAt = startedAt;
    const folder = await Deno.stat(this.runsDir).catch(() => undefined);
    const folderTime = folder?.mtime?.getTime() ?? -1;
    // Reports are written by a rename into the folder (and removed from it), which changes the folder's time. While
    // it stays as the last full scan found it, settled a second before that scan (times are in milliseconds), only
    // running runs move: their journals and logs grow in place. Every few seconds the scan is full anyway.
    if (
      folderTime === this.#folderTime && this.#fullScanAt - folderTime > 1000 &&
      startedAt - this.#fullScanAt < FULL_SCAN_MS
    ) {
      const changed = new Set<string>();
      for (const [runId, known] of this.#known) {
        if (known.report?.status === "running" && await this.#moveLive(known.report)) changed.add(runId);
      }
      if (changed.size > 0) this.#onChange?.([...changed]);
      return;
    }
    this.#folderTime = folderTime;
    this.#fullScanAt = startedAt;
    const ids: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.runsDir)) {
        if (entry.isFile && entry.name.endsWith(".json")) ids.push(entry.name.slice(0, -".json".length));
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const changed = new Set<string>();
    const seen = new Set(ids);
    await Promise.all(ids.map(async (runId) => {
      const info = await Deno.stat(join(this.runsDir, `${runId}.json`)).catch(() => undefined);
      if (!info) {
        seen.delete(runId);
        return;
      }
      const stamp = `${info.mtime?.getTime()}:${info.size}`;
      let known = this.#known.get(runId);
      if (known?.stamp !== stamp) {
        const report = await readReport(runId, this.runsDir) as StoredReport | undefined;
        // A file that is not a report is remembered as such, and not read again until it changes.
        if (known?.report || report) changed.add(runId);
        this.#known.set(runId, known = { stamp, ...(report ? { report } : {}) });
      }
      if (known.report?.status === "running") {
        if (await this.#moveLive(known.report)) changed.add(runId);
      } else this.#live.delete(runId);
    }));
    for (const runId of this.#known.keys()) {
      if (seen.has(runId)) continue;
      if (this.#known.get(runId)?.report) changed.add(runId);
      this.#known.delete(runId);
      this.#live.delete(runId);
    }
    if (changed.size > 0) this.#onChange?.([...changed]);
  }

  // Whether a running run moved since the last look; its call counts from the journal if so.
  async #moveLive(report: StoredReport): Promise<boolean> {
    const stamp = await this.#liveStamp(report);
    if (stamp === this.#live.get(report.runId)?.stamp) return false;
    const journal = await readJournal(this.runsDir, report.runId).catch(() => new Map());
    const counts: Partial<Record<TaskStatus, number>> = {};
    for (const entry of journal.values()) {
      const status = JOURNAL_STATUS[entry.status];
      if (status) counts[status] = (counts[status] ?? 0) + 1;
    }
    this.#live.set(report.runId, { stamp, counts });
    return true;
  }

  // What changes while a run goes: its journal, its log files, and whether its process is still there.
  async #liveStamp(report: StoredReport): Promise<string> {
    const parts: string[] = [isGone(report.process) ? "gone" : "alive"];
    const journal = await Deno.stat(join(this.runsDir, `${report.runId}.journal.jsonl`)).catch(() =>
      undefined
    );
    parts.push(journal ? `${journal.mtime?.getTime()}:${journal.size}` : "-");
    const dir = join(this.glacier, "logs", report.runId);
    for (const name of [...await this.#logFiles(report.runId)].sort()) {
      const info = await Deno.stat(join(dir, name)).catch(() => undefined);
      parts.push(`${name}:${info?.size ?? "-"}`);
    }
    return parts.join("|");
  }

  async #logFiles(runId: string): Promise<Set<string>> {
    const names = new Set<string>();
    try {
      for await (const entry of Deno.readDir(join(this.glacier, "logs", runId))) {
        if (entry.isFile && entry.name.endsWith(".log")) names.add(entry.name);
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return names;
  }
}

function countOf(calls: readonly { status: TaskStatus }[]): Partial<Record<TaskStatus, number>> {
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const c of calls) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return counts;
}

function attemptOf(file: string): number {
  return Number(/\.(\d+)\.log$/.exec(file)?.[1] ?? 0);
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

// Whether the process that wrote a `running` report is known to be gone: on
// this machine, where /proc tells (run.ts decides whether a run may be resumed the same way).
function isGone(process: RunReport["process"]): boolean {
  if (!process || process.hostname !== Deno.hostname() || Deno.build.os !== "linux") return false;
  if (process.pid === Deno.pid) return false;
  try {
    return !Deno.statSync(`/proc/${process.pid}`).isDirectory;
  } catch {
    return true;
  }
}
