/**
 * Replay: rebuilds the arguments of one call of a pipeline on a machine that
 * runs only that call (a Lambda function, a Databricks run, an Airflow
 * worker). The pipeline function is traced again with the run's params, so
 * literal arguments and buckets come from the user's own code; only the refs
 * to upstream calls are replaced, by values the caller reads (from staging).
 *
 * Which calls are mapped follows the orchestrators' rule (`src/codegen/_flow.ts`):
 * a dynamic call (made in a callback over a run-time list) that takes a static call's value
 * runs once per element of that value; a mapped call's outputs are gathered
 * as a list by the calls that take them.
 *
 * @module
 */
import { analyzeStatic } from "../analyze/static.ts";
import { GlacierError } from "../errors.ts";
import type { RecordedCall } from "./context.ts";
import { followPath, isPlainContainer, refState } from "./ref.ts";
import { SiteIds } from "./site.ts";

/** What can be traced into calls: a {@linkcode Pipeline} (structurally, to keep `src/trace` below it). */
export interface Traceable<P> {
  /** The pipeline's name. */
  readonly name: string;
  /** The URL of the module that defines it, for static analysis. */
  readonly module?: string;
  /** Records the calls of the pipeline function for some params. */
  traceCalls(params?: P, siteIds?: SiteIds): Promise<readonly RecordedCall[]>;
}

/** One call as a runner replays it. */
export interface ReplayedCall {
  /** The call. */
  readonly call: RecordedCall;
  /** Every call of the replayed pipeline, in recording order. */
  readonly calls: readonly RecordedCall[];
  /** For a mapped call: the id of the call whose list it maps over. */
  readonly mapOver?: string;
  /** The ids of mapped calls, each with the call it maps over. */
  readonly mapped: ReadonlyMap<string, string>;
}

/**
 * Traces a pipeline with params and finds one call by its call-site id.
 * Generated orchestrators name calls as static analysis does, on every
 * branch; a trace for some params counts only the calls it makes, so the
 * traced calls take the ids of their call sites in the static DAG (see
 * `site.ts`). When the source cannot be analyzed, ids are counted as in any
 * trace.
 *
 * @param pipeline The pipeline.
 * @param params The run's params.
 * @param nodeId The call-site id, such as `clean` or `processFile#2`.
 * @returns The call and what the replay knows about its neighbours.
 * @throws {GlacierError} `USER:TRACE_FAILED` when the pipeline function throws while tracing.
 * @throws {GlacierError} `USER:REPLAY_NODE_MISSING` when the call is not in the pipeline for these params.
 */
export async function traceCall<P>(pipeline: Traceable<P>, params: P, nodeId: string): Promise<ReplayedCall> {
  const calls = await pipeline.traceCalls(params, await staticSites(pipeline));
  const call = calls.find((c) => c.nodeId === nodeId);
  if (!call) {
    throw new GlacierError(
      "USER:REPLAY_NODE_MISSING",
      `Pipeline "${pipeline.name}" has no call "${nodeId}" for params ${JSON.stringify(params)} (it has ${
        calls.map((c) => `"${c.nodeId}"`).join(", ") || "none"
      }); redeploy the orchestrator after changing the pipeline, and pass the run's params`,
    );
  }
  const mapped = mappedCalls(calls);
  return { call, calls, mapped, ...(mapped.has(nodeId) ? { mapOver: mapped.get(nodeId) } : {}) };
}

async function staticSites<P>(pipeline: Traceable<P>): Promise<SiteIds | undefined> {
  try {
    const { dag, sites } = await analyzeStatic(pipeline);
    return new SiteIds(dag.nodes.map((n) => ({ id: n.id, task: n.task.name, site: sites.get(n.id)! })));
  } catch {
    return undefined; // the source is not readable here: count ids as a plain trace does
  }
}

/**
 * The mapped calls of a trace: each dynamic call that takes a static call's
 * value, with that static call (the last one when several).
 *
 * @param calls The calls in recording order.
 * @returns Mapped call id → the id of the call it maps over.
 */
export function mappedCalls(calls: readonly RecordedCall[]): Map<string, string> {
  const dynamic = new Set(calls.filter((c) => c.dynamic).map((c) => c.nodeId));
  const out = new Map<string, string>();
  for (const c of calls) {
    const statics = c.deps.filter((d) => !dynamic.has(d));
    if (c.dynamic && statics.length > 0) out.set(c.nodeId, statics[statics.length - 1]);
  }
  return out;
}

/** The values a replayed call's refs are replaced with. */
export interface BindValues {
  /** The value of an upstream call that is not mapped. */
  readonly value: (nodeId: string) => unknown;
  /** The outputs of a mapped upstream call, in item order. */
  readonly gathered: (nodeId: string) => readonly unknown[];
  /** For a mapped call: the element of the list it maps over. */
  readonly item?: unknown;
}

/**
 * Replaces the refs in a replayed call's arguments: a ref to the list a
 * mapped call maps over becomes the item, the one-element list a traced
 * `.map()` gives for a mapped upstream becomes the gathered outputs, and any
 * other ref becomes the upstream value.
 *
 * @param replayed The replayed call.
 * @param values Where the upstream values come from.
 * @returns The arguments to call the task with.
 */
export function bindArgs(replayed: ReplayedCall, values: BindValues): unknown[] {
  const { mapped, mapOver } = replayed;
  const visit = (v: unknown): unknown => {
    const state = refState(v);
    if (state) {
      const id = state.source.nodeId;
      if (id === mapOver && typeof state.path[0] === "number") {
        return followPath(values.item, state.path.slice(1));
      }
      if (mapped.has(id)) return followPath(values.gathered(id), state.path);
      return followPath(values.value(id), state.path);
    }
    if (Array.isArray(v)) {
      const only = v.length === 1 ? refState(v[0]) : undefined;
      if (only && mapped.has(only.source.nodeId)) {
        return values.gathered(only.source.nodeId).map((x) => followPath(x, only.path));
      }
      return v.map(visit);
    }
    if (isPlainContainer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return replayed.call.args.map(visit);
}
