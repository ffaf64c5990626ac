/**
 * `PipelineAnalysis`: what a pipeline needs, read from its DAG — the
 * executors and their tasks, the data it reads and writes.
 *
 * @module
 */
import type { DataLocation, PipelineDAG, ResourceInfo } from "../dag.ts";

/** An execution resource the pipeline uses, with the calls bound to it. */
export interface ExecutorUse extends ResourceInfo {
  /** Ids of the nodes that run on it. */
  readonly nodes: readonly string[];
  /** Storage URIs its tasks read. */
  readonly reads: readonly string[];
  /** Storage URIs its tasks write. */
  readonly writes: readonly string[];
}

/** How the DAG was obtained. */
export type AnalysisMethod = "static" | "trace";

/**
 * The analysis of one pipeline.
 *
 * @example
 * ```ts
 * import { PipelineDAG } from "../dag.ts";
 * import { PipelineAnalysis } from "./analysis.ts";
 * const resource = { kind: "local", service: "local", name: "local", config: {} } as const;
 * const dag = new PipelineDAG("p", [{ id: "a", task: { name: "a" }, resource, reads: ["s3://lake/in.csv"] }]);
 * console.assert(new PipelineAnalysis(dag, "trace").dataSources[0].uri === "s3://lake/in.csv");
 * ```
 */
export class PipelineAnalysis {
  /** The DAG. */
  readonly dag: PipelineDAG;
  /** How the DAG was obtained. */
  readonly method: AnalysisMethod;
  /** What static analysis could not decide, with where; empty for traced DAGs. */
  readonly undecided: readonly string[];

  /**
   * Builds it.
   * @param dag The DAG.
   * @param method How it was obtained.
   * @param undecided What could not be decided statically.
   */
  constructor(dag: PipelineDAG, method: AnalysisMethod, undecided: readonly string[] = []) {
    this.dag = dag;
    this.method = method;
    this.undecided = undecided;
  }

  /** The pipeline's name. */
  get name(): string {
    return this.dag.name;
  }

  /** Each execution resource used, with its nodes and the storage its tasks touch. */
  get executors(): ExecutorUse[] {
    const byName = new Map<
      string,
      { info: ResourceInfo; nodes: string[]; reads: Set<string>; writes: Set<string> }
    >();
    for (const node of this.dag.nodes) {
      let entry = byName.get(node.executor);
      if (!entry) {
        byName.set(
          node.executor,
          entry = { info: node.resource, nodes: [], reads: new Set(), writes: new Set() },
        );
      }
      entry.nodes.push(node.id);
      node.reads.forEach((u) => entry.reads.add(u));
      node.writes.forEach((u) => entry.writes.add(u));
    }
    return [...byName.values()].map((e) => ({
      ...e.info,
      nodes: e.nodes,
      reads: [...e.reads],
      writes: [...e.writes],
    }));
  }

  /** Storage the pipeline reads. */
  get dataSources(): DataLocation[] {
    return this.dag.sources;
  }

  /** Storage the pipeline writes. */
  get dataSinks(): DataLocation[] {
    return this.dag.sinks;
  }
}
