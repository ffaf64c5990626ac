/**
 * Static analysis: the DAG of a pipeline read from its source, without
 * running anything the user wrote. The module that defines the pipeline and
 * the modules it imports by relative path are type-stripped and parsed; task
 * declarations (`resource.task(...)`), resources and buckets are resolved
 * from their declarations (Glacier's own classes are built from the literal
 * arguments, so names and URIs are exactly what a run gives); the pipeline
 * function is followed on every branch. Node ids are named as tracing's: the
 * first call of a task is its name, later ones `name#2`, `name#3`… in source
 * order. A trace counts only the branches its params take, so each node also
 * keeps its call site (`sites`), by which a replay finds the traced call.
 *
 * @module
 */
import { PipelineDAG } from "../dag.ts";
import { errorMessage, GlacierError } from "../errors.ts";
import { displayPath } from "./_source.ts";
import { ModuleGraph, noPipeline } from "./_modules.ts";
import type { NodeFacts } from "./analysis.ts";
import type { CallSite } from "../trace/site.ts";

/** What static analysis found. */
export interface StaticResult {
  /** The DAG, with every branch of every condition. */
  readonly dag: PipelineDAG;
  /** What could not be decided, each as `file:line:col: what`. */
  readonly undecided: readonly string[];
  /** Per node id, the task's options as written. */
  readonly facts: ReadonlyMap<string, NodeFacts>;
  /** Per node id, where its call is written: what a replay matches traced calls by. */
  readonly sites: ReadonlyMap<string, CallSite>;
}

/** What static analysis needs to know about a pipeline. */
export interface StaticTarget {
  /** The pipeline's name. */
  readonly name: string;
  /** The URL of the module that called `pipeline()`. */
  readonly module?: string;
}

/**
 * Builds a pipeline's DAG from its source.
 *
 * @param target The pipeline's name and defining module (a `Pipeline` has both).
 * @returns The DAG, what could not be decided, and per-node task options.
 * @throws {GlacierError} When the module cannot be read or parsed, or declares no pipeline of that name
 *   (`USER:STATIC_…`), or the analyzer itself fails (`SYSTEM:STATIC_ANALYSIS`).
 *
 * @example
 * ```ts
 * import { analyzeStatic } from "./static.ts";
 * const url = new URL("../../examples/patterns/dynamic_fan_out.ts", import.meta.url).href;
 * const { dag } = await analyzeStatic({ name: "dynamic_fan_out", module: url });
 * console.assert(dag.get("processFile")?.dynamic === true);
 * ```
 */
export async function analyzeStatic(target: StaticTarget): Promise<StaticResult> {
  if (!target.module) throw noPipeline(target.name, "an unknown module", []);
  const graph = new ModuleGraph();
  const root = await graph.load(target.module);
  const interp = graph.interpreter;
  const guarded = (step: () => void) => {
    try {
      step();
    } catch (error) {
      if (error instanceof GlacierError) throw error;
      throw new GlacierError(
        "SYSTEM:STATIC_ANALYSIS",
        `Static analysis of pipeline "${target.name}" failed: ${
          errorMessage(error)
        }; use analyze({ trace: true }) and report this`,
        { cause: error },
      );
    }
  };
  guarded(() => graph.evaluate(root));
  const matches = interp.pipelines.filter((p) => p.name === target.name && p.module === target.module);
  if (matches.length === 0) {
    throw noPipeline(target.name, displayPath(target.module), interp.pipelines.map((p) => p.name));
  }
  guarded(() => interp.analyzePipeline(matches[0], root));
  if (matches.length > 1) {
    interp.undecided.push(
      `${matches[1].where}: a second pipeline named "${target.name}"; the first one is analyzed`,
    );
  }
  return {
    dag: new PipelineDAG(target.name, interp.nodes),
    undecided: interp.undecided,
    facts: interp.facts,
    sites: interp.sites,
  };
}
