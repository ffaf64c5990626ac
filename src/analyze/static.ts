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
import type { PipelineValue } from "./_values.ts";
import { AwsConfig, AzureConfig, GcpConfig } from "../config/mod.ts";
import type { PipelineConfig } from "../pipeline_config.ts";

/** What static analysis found. */
export interface StaticResult {
  /** The DAG, with every branch of every condition. */
  readonly dag: PipelineDAG;
  /** What could not be decided, each as `file:line:col: what`. */
  readonly undecided: readonly string[];
  /** What the user should know, each as `file:line:col: what` (tasks declared inside the pipeline function, prefix grants, local folders on remote executors). */
  readonly warnings: readonly string[];
  /** Whether some task calls may be missing from the DAG: what it could not decide picks tasks at run time. */
  readonly incomplete: boolean;
  /** Per node id, the task's options as written. */
  readonly facts: ReadonlyMap<string, NodeFacts>;
  /** Per node id, where its call is written: what a replay matches traced calls by. */
  readonly sites: ReadonlyMap<string, CallSite>;
  /**
   * The cloud provider configs the pipeline's own resources and buckets come
   * from, in order of first use: what its generated code is for, even when
   * its module declares other providers.
   */
  readonly providers: readonly (AwsConfig | GcpConfig | AzureConfig)[];
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
 * import assert from "node:assert/strict";
 * import { analyzeStatic } from "./static.ts";
 * const url = new URL("../../examples/patterns/dynamic_fan_out.ts", import.meta.url).href;
 * const { dag } = await analyzeStatic({ name: "dynamic_fan_out", module: url });
 * assert.ok(dag.get("processFile")?.dynamic === true);
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
      if (isStackOverflow(error)) throw tooDeep(target.name, error);
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
    warnings: interp.warnings,
    incomplete: interp.incomplete,
    facts: interp.facts,
    sites: interp.sites,
    providers: [...interp.providers].filter(isCloudConfig),
  };
}

/** A pipeline a module exports, as read from its source. */
export interface ExportedPipeline {
  /** The pipeline's name. */
  readonly name: string;
  /** The names it is exported under. */
  readonly exports: readonly string[];
  /** Its description, when written as a literal. */
  readonly description?: string;
  /** Its settings, the literal part. */
  readonly config: PipelineConfig;
  /** The URL of the module that calls `pipeline()`. */
  readonly module: string;
  /** Where `pipeline()` is called, as `file:line:col`. */
  readonly where: string;
}

/**
 * Finds the pipelines a module exports by reading its source (and the
 * modules it imports by relative path): nothing the user wrote runs. This is
 * how the `glacier` command finds pipelines for every command but `run`.
 *
 * @param module The module's URL.
 * @returns Each exported pipeline once, in export order.
 * @throws {GlacierError} When the module cannot be read or parsed (`USER:STATIC_…`), when an exported
 *   pipeline's name is not a string literal (`USER:STATIC_PIPELINE_NAME`), or the analyzer itself fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportedPipelines } from "./static.ts";
 * const url = new URL("../../examples/patterns/fan_in.ts", import.meta.url).href;
 * const [found] = await exportedPipelines(url);
 * assert.equal(found.name, "fan_in");
 * ```
 */
export async function exportedPipelines(module: string): Promise<ExportedPipeline[]> {
  const graph = new ModuleGraph();
  const root = await graph.load(module);
  try {
    graph.evaluate(root);
  } catch (error) {
    if (error instanceof GlacierError) throw error;
    if (isStackOverflow(error)) throw tooDeep(displayPath(module), error);
    throw new GlacierError(
      "SYSTEM:STATIC_ANALYSIS",
      `Cannot read the pipelines of ${displayPath(module)}: ${errorMessage(error)}; report this`,
      { cause: error },
    );
  }
  const found = new Map<PipelineValue, string[]>();
  for (const name of [...root.exports.keys(), ...root.reexports.keys()]) {
    const value = graph.resolve(root, name);
    if (value.t === "pipeline") found.set(value, [...found.get(value) ?? [], name]);
  }
  return [...found].map(([p, names]) => {
    if (p.name === undefined) {
      throw new GlacierError(
        "USER:STATIC_PIPELINE_NAME",
        `${p.where}: the pipeline exported as "${
          names[0]
        }" has no literal name, so Glacier cannot find it without running the module; write its name as a string literal: pipeline({ name: "etl" }, ...)`,
      );
    }
    const { description, config } = p.options;
    return {
      name: p.name,
      exports: names,
      ...(typeof description === "string" ? { description } : {}),
      config: typeof config === "object" && config !== null ? config as PipelineConfig : {},
      module: p.module,
      where: p.where,
    };
  });
}

function isCloudConfig(config: unknown): config is AwsConfig | GcpConfig | AzureConfig {
  return config instanceof AwsConfig || config instanceof GcpConfig || config instanceof AzureConfig;
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

function tooDeep(what: string, error: unknown): GlacierError {
  return new GlacierError(
    "USER:STATIC_TOO_DEEP",
    `Static analysis of "${what}" gave up: its source nests expressions or calls too deeply to follow; split the expression, or use analyze({ trace: true })`,
    { cause: error },
  );
}
