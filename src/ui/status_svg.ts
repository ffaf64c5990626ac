/**
 * The DAG picture of one run: the SVG Glacier draws for a pipeline
 * (`toSvg()`, Graphviz), each task filled with its call's state and
 * labelled with it and its time. Every task's `<g>` has the class
 * `node status-<state>` and its call id as `<title>`; storage nodes have
 * the class `node data`.
 *
 * @module
 */
import { type DAGNodeInit, PipelineDAG, type ResourceInfo } from "../dag.ts";
import { toSvg } from "../analyze/svg.ts";
import type { TaskStatus } from "../run/report.ts";
import type { CallView, RunView } from "./state.ts";

/** The fill of a task in each state, shared by the picture and the page. */
export const STATUS_COLORS: Readonly<Record<TaskStatus, string>> = {
  waiting: "#eeeeee",
  running: "#9ecbff",
  done: "#b6e3a8",
  cached: "#b8e6e0",
  failed: "#f4a6a6",
  skipped: "#f3e3a2",
  interrupted: "#ffc98a",
};

/**
 * Draws a run's DAG coloured by its calls' states: the report's DAG, plus
 * the calls only the journal knows yet (a run still recording its calls),
 * drawn without edges.
 *
 * @param run The run, from `RunState.view()`.
 * @param now The time a running call's elapsed time is counted to. @default {Date.now()}
 * @returns The SVG document.
 * @throws {GlacierError} When Graphviz cannot lay the graph out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statusSvg } from "./status_svg.ts";
 * const svg = await statusSvg({
 *   runId: "etl-1", pipeline: "etl", mode: "local", status: "failed", stale: false, startedAt: "", params: {},
 *   counts: {}, dag: { name: "etl", resources: {}, nodes: [], edges: [], sources: [], sinks: [] },
 *   calls: [{ id: "load", task: "load", executor: "local", status: "failed", attempts: 1, cached: false, logs: [] }],
 * });
 * assert.match(svg, /class="node status&#45;failed"/);
 * ```
 */
export async function statusSvg(run: RunView, now: number = Date.now()): Promise<string> {
  const calls = new Map(run.calls.map((c) => [c.id, c]));
  const resources = run.dag?.resources ?? {};
  const nodes: DAGNodeInit[] = [];
  for (const n of run.dag?.nodes ?? []) {
    nodes.push({
      id: n.id,
      task: n.task,
      resource: resources[n.executor] ?? placeholder(n.executor),
      inputs: n.inputs,
      reads: n.reads,
      writes: n.writes,
      dynamic: n.dynamic,
      ...(n.condition === undefined ? {} : { condition: n.condition }),
    });
  }
  const drawn = new Set(nodes.map((n) => n.id));
  for (const c of run.calls) {
    if (!drawn.has(c.id)) nodes.push({ id: c.id, task: { name: c.task }, resource: placeholder(c.executor) });
  }
  return await toSvg(new StatusDAG(run.pipeline, nodes, calls, now));
}

// The pipeline's own picture with each node's fill, label and class set by
// a later statement for it (in DOT, a node statement again sets attributes),
// and the legend of executor kinds left out: fills are states here.
class StatusDAG extends PipelineDAG {
  readonly #calls: ReadonlyMap<string, CallView>;
  readonly #now: number;

  constructor(
    name: string,
    nodes: readonly DAGNodeInit[],
    calls: ReadonlyMap<string, CallView>,
    now: number,
  ) {
    super(name, nodes);
    this.#calls = calls;
    this.#now = now;
  }

  override toDot(): string {
    const q = (s: string) => JSON.stringify(s);
    const lines: string[] = [];
    for (const node of this.nodes) {
      const call = this.#calls.get(node.id);
      const status = call?.status ?? "waiting";
      const time = call ? callTime(call, this.#now) : undefined;
      const state = [status, time, call && call.attempts > 1 ? `${call.attempts} attempts` : undefined]
        .filter(Boolean).join(" · ");
      const label = [node.id, node.executor.name || "…", state];
      if (node.condition) label.splice(2, 0, `if ${node.condition.slice(0, 36)}`);
      const attrs = [
        `label=${q(label.join("\n"))}`,
        `fillcolor=${q(STATUS_COLORS[status] ?? STATUS_COLORS.waiting)}`,
        `class=${q(`status-${status}`)}`,
        `tooltip=${q(`${node.id}: ${state}`)}`,
      ];
      if (status === "running") attrs.push('color="#1f6feb"', "penwidth=2");
      if (status === "failed") attrs.push('color="#cf222e"', "penwidth=2");
      lines.push(`  ${q(node.id)} [${attrs.join(", ")}];`);
    }
    for (const location of [...this.sources, ...this.sinks]) {
      lines.push(`  ${q(location.uri)} [class="data"];`);
    }
    const dot = super.toDot().replace(/\n {2}subgraph cluster_legend \{\n[\s\S]*?\n {2}\}\n/, "\n");
    return dot.replace(/\}\n?$/, `${lines.join("\n")}\n}\n`);
  }
}

function placeholder(name: string): ResourceInfo {
  return { kind: "local", service: "local", name: name || "…", config: {} };
}

// A call's time as its label shows it: how long it ran, or has been running.
function callTime(call: CallView, now: number): string | undefined {
  if (call.status === "running" && call.since) return duration(now - Date.parse(call.since));
  return call.durationMs === undefined ? undefined : duration(call.durationMs);
}

/**
 * A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
 *
 * @param ms Milliseconds.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duration } from "./status_svg.ts";
 * assert.equal(duration(12_345), "12.3 s");
 * ```
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
}
