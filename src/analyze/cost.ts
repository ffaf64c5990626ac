/**
 * Cost estimates: what one run and a month of runs of a pipeline would cost
 * on its executors and storage, from the dated {@linkcode PRICES} table, with
 * every assumption stated. Per-task duration comes from the newest run report
 * in `.glacier/runs/` when there is one (run time; queue time is not billed),
 * else from the task's `estimate` option, else from stated defaults; data size
 * from the bytes measured for that run, else the option, else a default. An
 * existing Databricks cluster (`clusterId`) is all-purpose compute, priced
 * for the window its tasks span.
 *
 * @module
 */
import type { DAGNode, PipelineDAG } from "../dag.ts";
import type { TaskEstimate } from "../task.ts";
import { runsPerMonth as cronRunsPerMonth } from "../schedule.ts";
import { serviceCloud } from "../config/services.ts";
import type { PastRun } from "./_history.ts";
import { PRICES } from "./pricing.ts";

/** Options for {@linkcode PipelineAnalysis.estimateCost}. */
export interface CostOptions {
  /** Runs per month; wins over `schedule`. @default {from the schedule, else 30} */
  runsPerMonth?: number;
  /** A 5-field cron schedule that gives the runs per month. @default {the pipeline's config.schedule} */
  schedule?: string;
  /** The folder of run reports to take durations from; `false` to ignore past runs. @default {".glacier/runs"} */
  runsDir?: string | false;
}

/** One priced item. */
export interface CostLine {
  /** What is priced, such as `Lambda compute` or `S3 requests`. */
  readonly item: string;
  /** The executor (or storage URI scheme) it belongs to. */
  readonly executor: string;
  /** How much per run, such as `12.5 GB-s`. */
  readonly quantity: string;
  /** US dollars per run. */
  readonly perRun: number;
  /** US dollars per month. */
  readonly perMonth: number;
  /** Where its durations and sizes come from, such as `durations: run time in last run <id>`. */
  readonly basis: string;
}

/** The figures used for one DAG node. */
export interface TaskFigures {
  /** The node id. */
  readonly id: string;
  /** Calls per run. */
  readonly calls: number;
  /** Milliseconds per call. */
  readonly durationMs: number;
  /** Bytes read plus written per call. */
  readonly dataBytes: number;
  /** Where the figures come from: `last run <runId>`, `estimate option` or `default`. */
  readonly source: string;
  /** Where `dataBytes` comes from: `measured in last run <runId>`, `estimate option` or `default`. */
  readonly dataSource: string;
}

/** A cost estimate, in US dollars. */
export interface CostEstimate {
  /** Always `USD`. */
  readonly currency: "USD";
  /** The date of the price table. */
  readonly pricesAsOf: string;
  /** The regions of the price table. */
  readonly regions: Readonly<Record<string, string>>;
  /** Runs per month used. */
  readonly runsPerMonth: number;
  /** Dollars per run. */
  readonly perRun: number;
  /** Dollars per month. */
  readonly perMonth: number;
  /** The priced items. */
  readonly lines: readonly CostLine[];
  /** The per-node figures. */
  readonly tasks: readonly TaskFigures[];
  /** Every assumption behind the numbers. */
  readonly assumptions: readonly string[];
  /** Risks the figures show, such as a table likely over a remote executor's payload limit without staging. */
  readonly warnings: readonly string[];
}

/** Defaults when neither a run report nor an `estimate` option gives a figure. */
export const COST_DEFAULTS: Readonly<{
  durationMs: number;
  dataBytes: number;
  dynamicCalls: number;
  runsPerMonth: number;
}> = Object.freeze({ durationMs: 1000, dataBytes: 10 * 2 ** 20, dynamicCalls: 10, runsPerMonth: 30 });

const CLOUD_LABEL: Record<string, string> = { aws: "AWS", gcp: "GCP", azure: "Azure" };
const ORCHESTRATOR = {
  aws: "AWS Step Functions",
  gcp: "Google Workflows",
  azure: "Azure Logic Apps",
} as const;

// The request and response caps of the serverless executors (executors/*/executor.ts, *_PAYLOAD_CAP).
const PAYLOAD_CAPS: Readonly<Record<string, number>> = {
  lambda: 6 * 1024 * 1024,
  "cloud-function": 32 * 1024 * 1024,
  "azure-function": 64 * 1024 * 1024,
};

/**
 * Estimates what a pipeline costs.
 *
 * @param dag The pipeline's DAG.
 * @param estimates The `estimate` option of each node's task, by node id.
 * @param run The newest run report, if any.
 * @param options Runs per month or a schedule.
 * @returns The estimate.
 * @throws {RangeError} When `runsPerMonth` is negative or the schedule is not valid cron.
 */
export function estimateCost(
  dag: PipelineDAG,
  estimates: ReadonlyMap<string, TaskEstimate | undefined>,
  run: PastRun | undefined,
  options: CostOptions & {
    pipelineSchedule?: string;
    sizes?: ReadonlyMap<string, number>;
  } = {},
): CostEstimate {
  const warnings: string[] = [];
  const assumptions: string[] = [
    `Public on-demand list prices of ${PRICES.asOf} for ${
      Object.entries(PRICES.regions).map(([c, r]) => `${CLOUD_LABEL[c]} ${r}`).join(", ")
    }, in USD; no free tiers, discounts or data transfer`,
  ];
  let runs: number;
  if (options.runsPerMonth !== undefined) {
    if (!(options.runsPerMonth >= 0) || !Number.isFinite(options.runsPerMonth)) {
      throw new RangeError(
        `"runsPerMonth" is ${options.runsPerMonth}, it must be a number of runs, 0 or more`,
      );
    }
    runs = options.runsPerMonth;
    assumptions.push(`${runs} runs per month, as given`);
  } else if (options.schedule ?? options.pipelineSchedule) {
    const schedule = (options.schedule ?? options.pipelineSchedule)!;
    runs = cronRunsPerMonth(schedule);
    assumptions.push(`${round(runs, 2)} runs per month from the schedule "${schedule}"`);
  } else {
    runs = COST_DEFAULTS.runsPerMonth;
    assumptions.push(`${runs} runs per month (once a day): no schedule or runsPerMonth given`);
  }

  const figures = dag.nodes.map((node) =>
    figuresFor(node, dag, estimates.get(node.id), run, options.sizes?.get(node.id))
  );
  if (figures.some((f) => f.source.startsWith("last run"))) {
    assumptions.push(
      `Task durations from the last run ${
        run!.runId
      }: each call's run time, without the time it queued for a worker`,
    );
  }
  if (figures.some((f) => f.dataSource.startsWith("measured"))) {
    assumptions.push(
      `Data sizes measured in the last run ${run!.runId}: the bytes of the objects each task read and wrote`,
    );
  }
  if (figures.some((f) => f.source === "default")) {
    assumptions.push(
      `Tasks without a run or an estimate option take ${COST_DEFAULTS.durationMs} ms and move ${
        COST_DEFAULTS.dataBytes / 2 ** 20
      } MiB per call; dynamic ones are called ${COST_DEFAULTS.dynamicCalls} times per run`,
    );
  }
  const byId = new Map(figures.map((f) => [f.id, f]));
  const lines: CostLine[] = [];
  let basis = "";
  const add = (item: string, executor: string, quantity: string, perRun: number) => {
    if (perRun > 0) lines.push({ item, executor, quantity, perRun, perMonth: perRun * runs, basis });
  };

  const byExecutor = new Map<string, DAGNode[]>();
  for (const node of dag.nodes) {
    const list = byExecutor.get(node.executor.name) ?? [];
    list.push(node);
    byExecutor.set(node.executor.name, list);
  }
  let orchestrated = 0;
  const clouds = new Set<"aws" | "gcp" | "azure">();
  for (const [executor, nodes] of byExecutor) {
    const r = nodes[0].resource;
    const c = r.config as Record<string, unknown>;
    const calls = sum(nodes, (n) => byId.get(n.id)!.calls);
    const seconds = sum(nodes, (n) => (byId.get(n.id)!.calls * byId.get(n.id)!.durationMs) / 1000);
    const cloud = serviceCloud(r.service);
    if (cloud) clouds.add(cloud);
    basis = `durations: ${sourcesOf(nodes.map((n) => byId.get(n.id)!.source))}`;
    if (r.kind !== "local") orchestrated += calls;
    switch (r.service) {
      case "local":
        break;
      case "lambda": {
        const gbs = (Number(c.memory ?? 1024) / 1024) * seconds;
        const arch = c.architecture === "arm64" ? "arm64" : "x86_64";
        add("Lambda compute", executor, `${round(gbs, 3)} GB-s`, gbs * PRICES.aws.lambdaGbSecond[arch]);
        add("Lambda requests", executor, `${calls} requests`, calls * PRICES.aws.lambdaRequest);
        break;
      }
      case "cloud-function": {
        const mb = Number(c.memory ?? 1024);
        const vcpu = gcfVcpu(mb);
        add(
          "Cloud Functions compute",
          executor,
          `${round(vcpu * seconds, 3)} vCPU-s, ${round((mb / 1024) * seconds, 3)} GiB-s`,
          vcpu * seconds * PRICES.gcp.functionVcpuSecond +
            (mb / 1024) * seconds * PRICES.gcp.functionGibSecond,
        );
        add(
          "Cloud Functions invocations",
          executor,
          `${calls} invocations`,
          calls * PRICES.gcp.functionInvocation,
        );
        break;
      }
      case "azure-function": {
        const plan = String(c.plan ?? "flex");
        const gbs = (Number(c.memory ?? 2048) / 1024) * seconds;
        if (plan === "premium") {
          add(
            "Azure Functions Premium (EP1)",
            executor,
            `${round(seconds / 3600, 4)} h`,
            (seconds / 3600) * PRICES.azure.functionsPremiumHourly,
          );
          assumptions.push(`"${executor}" on Premium is priced as EP1 instance time for its tasks only`);
        } else {
          const p = plan === "consumption" ? "consumption" : "flex";
          add(
            "Azure Functions compute",
            executor,
            `${round(gbs, 3)} GB-s`,
            gbs * PRICES.azure.functionsGbSecond[p],
          );
          add(
            "Azure Functions executions",
            executor,
            `${calls} executions`,
            calls * PRICES.azure.functionsExecution[p],
          );
        }
        break;
      }
      case "ec2":
      case "compute-engine":
      case "azure-vm": {
        const type = String(c.instanceType ?? c.machineType ?? c.size);
        const table: Record<string, number> = r.service === "ec2"
          ? PRICES.aws.ec2Hourly
          : r.service === "compute-engine"
          ? PRICES.gcp.computeHourly
          : PRICES.azure.vmHourly;
        const hourly = table[type];
        const billed = Math.max(60, seconds);
        if (hourly === undefined) {
          assumptions.push(`"${executor}": no list price for "${type}" in the table, so it is left out`);
          break;
        }
        add(`${type} instance`, executor, `${round(billed / 3600, 4)} h`, (billed / 3600) * hourly);
        assumptions.push(
          `"${executor}" (${type}) is billed per second only while its tasks run, at least 60 s per run`,
        );
        break;
      }
      case "databricks": {
        const nodeCount = Number(c.nodes ?? 2);
        const nodeType = String(
          (c.newCluster as { nodeTypeId?: string } | undefined)?.nodeTypeId ?? c.nodeTypeId ?? "i3.xlarge",
        );
        const dbuRate = PRICES.databricksDbuPerNodeHour[nodeType] ?? PRICES.databricksDbuPerNodeHour.default;
        const cloud = [...clouds][0] ?? "aws";
        const vmRate = PRICES.aws.ec2Hourly[nodeType] ?? PRICES.databricksNodeHourly[cloud];
        // An existing cluster is all-purpose compute, up for as long as its tasks span.
        const existing = typeof c.clusterId === "string";
        const sku = (existing ? "all-purpose" : c.sku ?? "jobs-compute") as keyof typeof PRICES.databricksDbu;
        const window = existing ? uptimeSeconds(nodes, run) : undefined;
        const billed = window?.seconds ?? seconds;
        if (window) basis = `durations: uptime window in last run ${run!.runId}`;
        const hours = (billed / 3600) * nodeCount;
        add(
          `Databricks ${sku} DBUs`,
          executor,
          `${round(hours * dbuRate, 4)} DBU`,
          hours * dbuRate * PRICES.databricksDbu[sku],
        );
        add("Databricks node VMs", executor, `${round(hours, 4)} node-h`, hours * vmRate);
        assumptions.push(
          existing
            ? `"${executor}" is the existing cluster "${c.clusterId}": priced at all-purpose rates for ${nodeCount} ${nodeType} nodes at ${dbuRate} DBU per node-hour, up ${
              window
                ? `from its first task's start to its last task's end in the last run (${round(billed, 1)} s)`
                : "for the sum of its tasks' durations (no run to measure its uptime window)"
            }; idle time before and after, and auto-termination, are not counted`
            : `"${executor}": ${nodeCount} ${nodeType} nodes at ${dbuRate} DBU per node-hour, billed only while its tasks run (no start-up time)`,
        );
        break;
      }
      case "emr": {
        const type = String(c.instanceType ?? "m7g.xlarge");
        const nodeCount = Number(c.nodes ?? 3);
        const ec2 = PRICES.aws.ec2Hourly[type];
        const emr = PRICES.aws.emrHourly[type] ?? (ec2 ?? 0) * 0.25;
        const hours = (seconds / 3600) * nodeCount;
        add(`EMR ${type} nodes`, executor, `${round(hours, 4)} node-h`, hours * ((ec2 ?? 0) + emr));
        assumptions.push(`"${executor}": ${nodeCount} ${type} nodes billed only while its tasks run`);
        break;
      }
      case "dataproc": {
        const type = String(c.machineType ?? "n2-standard-4");
        const nodeCount = Number(c.nodes ?? 3);
        const vcpus = Number(type.match(/-(\d+)$/)?.[1] ?? 4);
        const hours = (seconds / 3600) * nodeCount;
        const rate = (PRICES.gcp.computeHourly[type] ?? 0) + vcpus * PRICES.gcp.dataprocVcpuHour;
        add(`Dataproc ${type} nodes`, executor, `${round(hours, 4)} node-h`, hours * rate);
        assumptions.push(`"${executor}": ${nodeCount} ${type} nodes billed only while its tasks run`);
        break;
      }
      default:
        assumptions.push(`"${executor}" (${r.service}) is a self-managed cluster: its cost is not estimated`);
    }
  }

  // Storage: one request per call and URI; what a run writes is kept for a month.
  const storage = {
    s3: { ops: [0, 0], bytes: 0 },
    gs: { ops: [0, 0], bytes: 0 },
    az: { ops: [0, 0], bytes: 0 },
  };
  for (const node of dag.nodes) {
    const f = byId.get(node.id)!;
    for (const uri of node.reads) {
      const s = storage[scheme(uri)];
      if (s) s.ops[0] += f.calls;
    }
    for (const uri of node.writes) {
      const s = storage[scheme(uri)];
      if (s) {
        s.ops[1] += f.calls;
        s.bytes += (f.calls * f.dataBytes) / 2;
      }
    }
  }
  const storagePrices = {
    s3: ["S3", PRICES.aws.s3Read, PRICES.aws.s3Write, PRICES.aws.s3GbMonth, "aws"],
    gs: ["Cloud Storage", PRICES.gcp.gcsRead, PRICES.gcp.gcsWrite, PRICES.gcp.gcsGbMonth, "gcp"],
    az: ["Blob Storage", PRICES.azure.blobRead, PRICES.azure.blobWrite, PRICES.azure.blobGbMonth, "azure"],
  } as const;
  let storageUsed = false;
  basis = `sizes: ${sourcesOf(figures.map((f) => f.dataSource))}; one request per call and URI`;
  for (const [key, s] of Object.entries(storage) as [keyof typeof storage, (typeof storage)["s3"]][]) {
    if (s.ops[0] + s.ops[1] === 0) continue;
    storageUsed = true;
    const [label, read, write, gbMonth, cloud] = storagePrices[key];
    clouds.add(cloud);
    add(
      `${label} requests`,
      `${key}://`,
      `${s.ops[0]} reads, ${s.ops[1]} writes`,
      s.ops[0] * read + s.ops[1] * write,
    );
    const gb = s.bytes / 1e9;
    if (runs > 0) add(`${label} storage`, `${key}://`, `${round(gb, 4)} GB-month`, (gb * gbMonth) / runs);
  }
  if (storageUsed) {
    assumptions.push(
      "Storage: one request per call for each URI a task reads or writes; half of a task's data is written, kept a month and overwritten by the next run",
    );
  }
  basis = "one step per remote call";
  if (orchestrated > 0) {
    const cloud = [...clouds][0] ?? "aws";
    const steps = orchestrated + 2;
    if (cloud === "aws") {
      add(
        "Step Functions transitions",
        "orchestrator",
        `${steps} transitions`,
        steps * PRICES.aws.stepFunctionsTransition,
      );
    }
    if (cloud === "gcp") {
      add("Workflows steps", "orchestrator", `${steps} steps`, steps * PRICES.gcp.workflowsStep);
    }
    if (cloud === "azure") {
      add("Logic Apps actions", "orchestrator", `${steps} actions`, steps * PRICES.azure.logicAppsAction);
    }
    assumptions.push(
      `Orchestration on ${ORCHESTRATOR[cloud]}: one step per remote call plus two`,
    );
  }
  warnings.push(...payloadWarnings(dag, byId));
  const perRun = sum(lines, (l) => l.perRun);
  return {
    currency: "USD",
    pricesAsOf: PRICES.asOf,
    regions: PRICES.regions,
    runsPerMonth: runs,
    perRun,
    perMonth: perRun * runs,
    lines,
    tasks: figures,
    assumptions,
    warnings,
  };
}

// The sources of a line's figures, each once: `last run x`, `estimate option`, `default`.
function sourcesOf(sources: readonly string[]): string {
  return [...new Set(sources)].map((s) => s.startsWith("last run") ? `run time in ${s}` : s).join(", ");
}

// From the first start to the last end of the nodes' calls in a run.
function uptimeSeconds(nodes: readonly DAGNode[], run: PastRun | undefined): { seconds: number } | undefined {
  const ids = new Set(nodes.map((n) => n.id)), names = new Set(nodes.map((n) => n.task.name));
  const calls = (run?.tasks ?? []).filter((t) =>
    (ids.has(t.id) || names.has(t.task)) && t.startedAt && typeof t.durationMs === "number" && !t.cached
  );
  if (calls.length === 0) return undefined;
  const start = Math.min(...calls.map((t) => Date.parse(t.startedAt!)));
  const end = Math.max(...calls.map((t) => Date.parse(t.startedAt!) + t.durationMs!));
  return { seconds: Math.max(0, end - start) / 1000 };
}

// A task on a capped executor that takes a table an upstream task likely makes over the cap, with no staging.
function payloadWarnings(dag: PipelineDAG, byId: ReadonlyMap<string, TaskFigures>): string[] {
  const out: string[] = [];
  for (const node of dag.nodes) {
    const cap = PAYLOAD_CAPS[node.resource.service];
    if (cap === undefined) continue;
    const provider = node.executor.providerConfig as { stagingBucket?: string } | undefined;
    if (provider?.stagingBucket) continue;
    for (const input of node.inputs) {
      const f = byId.get(input.id)!;
      if (f.dataSource === "default" || f.dataBytes <= cap) continue;
      out.push(
        `node "${node.id}" on "${node.executor.name}" (${node.resource.service}) takes the output of "${input.id}", which moves about ${
          round(f.dataBytes / 2 ** 20, 1)
        } MiB (${f.dataSource}), likely over the ${
          cap / 2 ** 20
        } MiB payload limit, and no staging bucket is set: set one (AwsConfig({ stagingBucket: "s3://bucket/prefix" })) so large tables travel by reference`,
      );
    }
  }
  return out;
}

function figuresFor(
  node: DAGNode,
  dag: PipelineDAG,
  estimate: TaskEstimate | undefined,
  run: PastRun | undefined,
  measuredBytes: number | undefined,
): TaskFigures {
  const measured = (run?.tasks ?? []).filter((t) =>
    (t.id === node.id || (node.dynamic && t.task === node.task.name && !dag.get(t.id))) &&
    typeof t.durationMs === "number" && !t.cached
  );
  const dataBytes = measuredBytes ?? estimate?.dataBytes ?? COST_DEFAULTS.dataBytes;
  const dataSource = measuredBytes !== undefined
    ? `measured in last run ${run!.runId}`
    : estimate?.dataBytes !== undefined
    ? "estimate option"
    : "default";
  if (measured.length > 0) {
    return {
      id: node.id,
      calls: measured.length,
      durationMs: sum(measured, (t) => t.durationMs!) / measured.length,
      dataBytes: measuredBytes !== undefined ? measuredBytes / measured.length : dataBytes,
      source: `last run ${run!.runId}`,
      dataSource,
    };
  }
  const fromEstimate = estimate?.durationMs !== undefined || (node.dynamic && estimate?.calls !== undefined);
  return {
    id: node.id,
    calls: node.dynamic ? estimate?.calls ?? COST_DEFAULTS.dynamicCalls : 1,
    durationMs: estimate?.durationMs ?? COST_DEFAULTS.durationMs,
    dataBytes,
    source: fromEstimate ? "estimate option" : "default",
    dataSource,
  };
}

// Cloud Run functions: vCPU by memory (the platform's defaults).
function gcfVcpu(mb: number): number {
  if (mb <= 128) return 0.083;
  if (mb <= 256) return 0.167;
  if (mb <= 512) return 0.333;
  if (mb <= 1024) return 0.583;
  if (mb <= 2048) return 1;
  if (mb <= 8192) return 2;
  if (mb <= 16384) return 4;
  return 8;
}

function scheme(uri: string): "s3" | "gs" | "az" {
  return uri.slice(0, uri.indexOf(":")) as "s3" | "gs" | "az";
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  return items.reduce((a, t) => a + f(t), 0);
}

function round(n: number, digits: number): number {
  const p = 10 ** digits;
  return Math.round(n * p) / p;
}
