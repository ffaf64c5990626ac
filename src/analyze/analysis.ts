/**
 * `PipelineAnalysis`: what a pipeline needs, read from its DAG — the
 * executors and their tasks, the data it reads and writes, the
 * infrastructure each executor needs, and what running it would cost.
 *
 * @module
 */
import type { DataLocation, PipelineDAG, ResourceInfo } from "../dag.ts";
import type { ExecutionResource } from "../resources/execution.ts";
import type { TaskEstimate, TaskPermissions } from "../task.ts";
import { measuredSizes, newestRun } from "./_history.ts";
import { runsPerMonth as cronRunsPerMonth } from "../schedule.ts";
import { type CostEstimate, type CostOptions, estimateCost } from "./cost.ts";
import { configField, serviceRecord } from "../config/services.ts";

/** An execution resource the pipeline uses, with the calls bound to it. */
export interface ExecutorUse extends ResourceInfo {
  /** Ids of the nodes that run on it. */
  readonly nodes: readonly string[];
  /** Storage URIs its tasks read. */
  readonly reads: readonly string[];
  /** Storage URIs its tasks write. */
  readonly writes: readonly string[];
}

/** What one executor needs to be provisioned: for generated infrastructure and reviews. */
export interface ExecutorRequirements {
  /** The executor's name. */
  readonly executor: string;
  /** `local`, `serverless`, `vm` or `cluster`. */
  readonly kind: ResourceInfo["kind"];
  /** The service, such as `lambda`. */
  readonly service: string;
  /** What runs the task code there. */
  readonly runtime: string;
  /** Memory in MB, where the service sizes by memory. */
  readonly memoryMb?: number;
  /** The service's own timeout in seconds, where it has one. */
  readonly timeoutSeconds?: number;
  /** The longest task `timeout` option among its tasks, in ms. */
  readonly taskTimeoutMs?: number;
  /** The machine: instance type, machine type, VM size or node type. */
  readonly machine?: string;
  /** Machine count, for clusters. */
  readonly nodeCount?: number;
  /** The Deno permissions its tasks ask for, each distinct value once. */
  readonly denoPermissions: readonly TaskPermissions[];
  /** Storage URIs its tasks read. */
  readonly reads: readonly string[];
  /** Storage URIs its tasks write. */
  readonly writes: readonly string[];
  /** Least-privilege storage permissions in the cloud's own terms, such as `s3:GetObject on arn:aws:s3:::lake/raw/*`. */
  readonly storagePermissions: readonly string[];
}

/** How the DAG was obtained. */
export type AnalysisMethod = "static" | "trace";

/** Task options per node that analysis reads beyond the DAG. */
export interface NodeFacts {
  /** The task's options as written (`timeout`, `permissions`, `estimate`, …). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Options for the {@linkcode PipelineAnalysis} constructor. */
export interface PipelineAnalysisOptions {
  /** Per node id, the options of its task. @default {empty} */
  facts?: ReadonlyMap<string, NodeFacts>;
  /** The pipeline's cron schedule, for cost estimates. @default {undefined} */
  schedule?: string;
  /** Where the pipeline's run reports are (its project's `.glacier/runs`). @default {".glacier/runs"} */
  runsDir?: string;
  /** What the user should know, each as `file:line:col: what`. @default {[]} */
  warnings?: readonly string[];
}

/**
 * The analysis of one pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineDAG } from "../dag.ts";
 * import { PipelineAnalysis } from "./analysis.ts";
 * import { Provider } from "../provider.ts";
 * const executor = new Provider().local();
 * const dag = new PipelineDAG("p", [{ id: "a", task: { name: "a" }, executor, reads: ["s3://lake/in.csv"] }]);
 * const analysis = new PipelineAnalysis(dag, "trace");
 * assert.equal(analysis.dataSources[0].uri, "s3://lake/in.csv");
 * assert.equal(analysis.executors.a, executor);
 * ```
 */
export class PipelineAnalysis {
  /** The DAG. */
  readonly dag: PipelineDAG;
  /** How the DAG was obtained. */
  readonly method: AnalysisMethod;
  /** What static analysis could not decide, each as `file:line:col: what`; empty for traced DAGs. */
  readonly undecided: readonly string[];
  /**
   * What the user should know: tasks declared inside the pipeline function,
   * local folders given to remote executors, grants widened to a computed
   * key's prefix, a schedule that does not parse, a traced fallback.
   */
  readonly warnings: readonly string[];
  readonly #facts: ReadonlyMap<string, NodeFacts>;
  readonly #schedule?: string;
  readonly #runsDir?: string;

  /**
   * Wraps a DAG; `pipeline.analyze()` builds this.
   *
   * @param dag The DAG.
   * @param method How it was obtained.
   * @param undecided What could not be decided statically.
   * @param options Task options per node and the pipeline's schedule.
   */
  constructor(
    dag: PipelineDAG,
    method: AnalysisMethod,
    undecided: readonly string[] = [],
    options: PipelineAnalysisOptions = {},
  ) {
    this.dag = dag;
    this.method = method;
    this.undecided = undecided;
    this.#facts = options.facts ?? new Map();
    this.#runsDir = options.runsDir;
    const warnings = [...options.warnings ?? []];
    if (options.schedule !== undefined) {
      try {
        cronRunsPerMonth(options.schedule);
        this.#schedule = options.schedule;
      } catch (error) {
        warnings.push(
          `pipeline "${dag.name}": its schedule ${JSON.stringify(options.schedule)} does not parse (${
            (error as Error).message
          }), so deploy will refuse it and cost assumes 30 runs a month: write 5-field cron, such as "0 2 * * *"`,
        );
      }
    }
    this.warnings = warnings;
  }

  /** Per node id, the options of its task as written. */
  get facts(): ReadonlyMap<string, NodeFacts> {
    return this.#facts;
  }

  /** The pipeline's name. */
  get name(): string {
    return this.dag.name;
  }

  /**
   * Where each node runs, as the seed prints it (`{ extract: local_exec,
   * clean: lambda_exec }`): node id to the {@linkcode ExecutionResource} it
   * is bound to, in node order. {@linkcode PipelineAnalysis.executorUses}
   * gives one entry per resource instead.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PipelineDAG } from "../dag.ts";
   * import { Provider } from "../provider.ts";
   * import { PipelineAnalysis } from "./analysis.ts";
   * const local = new Provider().local();
   * const dag = new PipelineDAG("p", [{ id: "a", task: { name: "a" }, executor: local }]);
   * assert.deepEqual(new PipelineAnalysis(dag, "static").executors, { a: local });
   * ```
   */
  get executors(): Readonly<Record<string, ExecutionResource>> {
    const out: Record<string, ExecutionResource> = {};
    for (const node of this.dag.nodes) out[node.id] = node.executor;
    return Object.freeze(out);
  }

  /** Each execution resource used, as plain data, with its nodes and the storage its tasks touch. */
  get executorUses(): ExecutorUse[] {
    const byName = new Map<
      string,
      { info: ResourceInfo; nodes: string[]; reads: Set<string>; writes: Set<string> }
    >();
    for (const node of this.dag.nodes) {
      let entry = byName.get(node.executor.name);
      if (!entry) {
        byName.set(
          node.executor.name,
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

  /** What each executor needs: runtime, memory, timeouts, permissions and the storage it touches. */
  get requirements(): ExecutorRequirements[] {
    return this.executorUses.map((e) => {
      const c = e.config as Record<string, unknown>;
      const options = e.nodes.map((id) => this.#facts.get(id)?.options ?? {});
      const timeouts = options.map((o) => o.timeout).filter((t): t is number => typeof t === "number");
      const permissions: TaskPermissions[] = [];
      for (const o of options) {
        const p = (o.permissions ?? "inherit") as TaskPermissions;
        if (!permissions.some((q) => JSON.stringify(q) === JSON.stringify(p))) permissions.push(p);
      }
      const service = serviceRecord(e.service);
      const sizing = service?.sizing;
      const memory = configField(c, sizing?.memory ?? null);
      const timeout = configField(c, sizing?.timeout ?? null);
      const machine = configField(c, sizing?.machine ?? null);
      const nodes = configField(c, sizing?.nodes ?? null);
      return {
        executor: e.name,
        kind: e.kind,
        service: e.service,
        runtime: service?.runtime ?? e.service,
        ...(typeof memory === "number" ? { memoryMb: memory } : {}),
        ...(typeof timeout === "number" ? { timeoutSeconds: timeout } : {}),
        ...(timeouts.length ? { taskTimeoutMs: Math.max(...timeouts) } : {}),
        ...(typeof machine === "string" ? { machine } : {}),
        ...(typeof nodes === "number" ? { nodeCount: nodes } : {}),
        denoPermissions: permissions,
        reads: e.reads,
        writes: e.writes,
        storagePermissions: storagePermissions(e.reads, e.writes),
      };
    });
  }

  /**
   * Estimates what the pipeline costs per run and per month, from the dated
   * price table in `pricing.ts`. Durations come from the newest run report
   * of this pipeline in `.glacier/runs/` (each call's run time, not the time
   * it queued), else the tasks' `estimate` option, else stated defaults; data
   * sizes from the objects that run read and wrote where they are on this
   * machine (`file:` or its data root). Every line says where its figures
   * come from (`basis`), every assumption is listed, and risks such as a
   * table over a serverless payload limit without staging are in `warnings`.
   *
   * @param options Runs per month, or a cron schedule (default: the pipeline's `config.schedule`, else 30 runs).
   * @returns The estimate with its lines and assumptions.
   * @throws {RangeError} When `runsPerMonth` is negative or the schedule is not 5-field cron.
   */
  async estimateCost(options: CostOptions = {}): Promise<CostEstimate> {
    const runsDir = options.runsDir ?? this.#runsDir;
    const run = runsDir === false ? undefined : await newestRun(this.name, runsDir);
    const estimates = new Map<string, TaskEstimate | undefined>();
    for (const node of this.dag.nodes) {
      estimates.set(node.id, this.#facts.get(node.id)?.options.estimate as TaskEstimate | undefined);
    }
    const sizes = await measuredSizes(run, this.dag.nodes);
    return estimateCost(this.dag, estimates, run, { ...options, pipelineSchedule: this.#schedule, sizes });
  }
}

function storagePermissions(reads: readonly string[], writes: readonly string[]): string[] {
  const out: string[] = [];
  const grant = (uri: string, write: boolean) => {
    const m = uri.match(/^(s3|gs|az):\/\/([^/]+)\/?(.*)$/);
    if (!m) return;
    const [, scheme, bucket, key] = m;
    const pattern = key === "" || key.endsWith("/") ? `${key}*` : key;
    if (scheme === "s3") {
      const actions = write ? ["s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject"];
      out.push(`${actions.join(", ")} on arn:aws:s3:::${bucket}/${pattern}`);
      if (!write && pattern.endsWith("*")) {
        out.push(`s3:ListBucket on arn:aws:s3:::${bucket} (prefix "${key}")`);
      }
    } else if (scheme === "gs") {
      out.push(
        `${
          write
            ? "storage.objects.create, storage.objects.delete"
            : "storage.objects.get, storage.objects.list"
        } on gs://${bucket}/${pattern}`,
      );
    } else {
      out.push(
        `${write ? "Storage Blob Data Contributor" : "Storage Blob Data Reader"} on container ${bucket}`,
      );
    }
  };
  reads.forEach((u) => grant(u, false));
  writes.forEach((u) => grant(u, true));
  return [...new Set(out)];
}
