/**
 * The progress display of a run: on a terminal, a live table of calls
 * (waiting/running/done/failed/cached, attempt, elapsed) with totals,
 * redrawn in place; elsewhere one plain line per finished call. `quiet`
 * silences both. What tasks print is shown either way, above the table.
 *
 * @module
 */
import type { RunEvent } from "./scheduler.ts";
import type { LogStream } from "./task_log.ts";

/** Receives run events and shows them. */
export interface Progress {
  /** A call changed state. */
  event(event: RunEvent): void;
  /** The run ended. */
  finish(summary: string): void;
  /**
   * What a task printed (`task_log.ts`): written to this process's stdout or
   * stderr as it comes, also when quiet (it is the task's output, not
   * Glacier's); on a terminal, above the live table.
   */
  output(stream: LogStream, text: string): void;
}

/** Options for {@linkcode createProgress}. */
export interface ProgressOptions {
  /** Show nothing. @default {false} */
  quiet?: boolean;
  /** Where to write. @default {Deno.stderr} */
  writer?: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Where tasks' output goes. @default {Deno.stdout and Deno.stderr} */
  streams?: Record<LogStream, { writeSync(p: Uint8Array): number }>;
  /** The pipeline's name, for the heading. */
  pipeline: string;
}

interface Row {
  id: string;
  executor: string;
  state: string;
  attempt: number;
  started?: number;
  ended?: number;
}

const SYMBOL: Record<string, string> = {
  waiting: "·",
  running: "▶",
  retry: "↻",
  done: "✓",
  cached: "⚡",
  restored: "↺",
  failed: "✗",
  skipped: "-",
  interrupted: "■",
};
const MAX_ROWS = 20;

/** Builds the progress display for a run. */
export function createProgress(options: ProgressOptions): Progress {
  const encoder = new TextEncoder();
  const streams = options.streams ?? { stdout: Deno.stdout, stderr: Deno.stderr };
  const print = (stream: LogStream, text: string) => {
    try {
      streams[stream].writeSync(encoder.encode(text));
    } catch { /* a closed pipe: the log file keeps it */ }
  };
  if (options.quiet) return { event() {}, finish() {}, output: print };
  const writer = options.writer ?? Deno.stderr;
  const write = (text: string) => writer.writeSync(encoder.encode(text));
  const rows = new Map<string, Row>();
  const started = performance.now();
  const live = writer.isTerminal();
  let drawn = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const ms = (row: Row) =>
    row.started === undefined ? "" : `${Math.round((row.ended ?? performance.now()) - row.started)} ms`;

  const draw = () => {
    const all = [...rows.values()];
    const counts: Record<string, number> = {};
    for (const row of all) counts[row.state] = (counts[row.state] ?? 0) + 1;
    // Running and failed rows first, then the latest finished, then what waits in order.
    const active = (r: Row) => r.state === "running" || r.state === "retry" || r.state === "failed";
    const shown = [
      ...all.filter(active),
      ...all.filter((r) => !active(r) && r.state !== "waiting").reverse(),
      ...all.filter((r) => r.state === "waiting"),
    ].slice(0, MAX_ROWS);
    const lines = [
      `\x1b[1m${options.pipeline}\x1b[0m  ${((performance.now() - started) / 1000).toFixed(1)} s  ` +
      Object.entries(counts).map(([s, n]) => `${SYMBOL[s]} ${s} ${n}`).join("  "),
      ...shown.map((r) =>
        `  ${SYMBOL[r.state]} ${r.id.padEnd(28)} ${r.executor.padEnd(12)} ${r.state.padEnd(8)} ` +
        `${r.attempt > 1 ? `attempt ${r.attempt} ` : ""}${ms(r)}`
      ),
    ];
    if (all.length > shown.length) lines.push(`  … ${all.length - shown.length} more`);
    write((drawn ? `\x1b[${drawn}F\x1b[J` : "") + lines.join("\n") + "\n");
    drawn = lines.length;
  };

  return {
    event(event) {
      let row = rows.get(event.id);
      if (!row) {
        rows.set(event.id, row = { id: event.id, executor: event.executor, state: "waiting", attempt: 0 });
      }
      if (live && timer === undefined) timer = setInterval(draw, 100);
      row.attempt = Math.max(row.attempt, event.attempt);
      if (event.type === "queued") return;
      if (event.type === "start") {
        row.state = "running";
        row.started = performance.now();
      } else if (event.type === "retry") {
        row.state = "retry";
      } else {
        // A resumed run's call whose checkpoint stood in for it.
        row.state = event.type === "cached" && event.from === "checkpoint" ? "restored" : event.type;
        row.ended = performance.now();
      }
      if (!live && event.type !== "start") {
        const detail = event.type === "failed" || event.type === "retry"
          ? ` — ${event.error?.message}`
          : event.type === "skipped"
          ? " (an input failed)"
          : ` (${row.executor}, ${ms(row)})`;
        write(`${SYMBOL[row.state]} ${row.state.padEnd(7)} ${event.id}${detail}\n`);
      }
    },
    output(stream, text) {
      if (live && drawn) {
        write(`\x1b[${drawn}F\x1b[J`); // the table goes; the next draw puts it back below
        drawn = 0;
      }
      print(stream, text);
    },
    finish(summary) {
      if (timer !== undefined) clearInterval(timer);
      if (live && rows.size) draw();
      drawn = 0; // the last table stays on the screen
      write(summary + "\n");
    },
  };
}
