/**
 * Cost estimates: what one run and a month of runs of a pipeline would cost
 * on its executors and storage, from the dated {@linkcode PRICES} table, with
 * every assumption stated. Per-task duration comes from the newest run report
 * in `.glacier/runs/` when there is one, else from the task's `estimate`
 * option, else from stated defaults.
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
  options: CostOptions & { pipelineSchedule?: string } = {},
): CostEstimate {
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

  const figures = dag.nodes.map((node) => figuresFor(node, dag, estimates.get(node.id), run));
  if (figures.some((f) => f.source.startsWith("last run"))) {
    assumptions.push(`Task durations from the last run ${run!.runId}`);
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
  const add = (item: string, executor: string, quantity: string, perRun: number) => {
    if (perRun > 0) lines.push({ item, executor, quantity, perRun, perMonth: perRun * runs });
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
        const sku = (c.sku ?? "jobs-compute") as keyof typeof PRICES.databricksDbu;
        const nodeCount = Number(c.nodes ?? 2);
        const nodeType = String(
          (c.newCluster as { nodeTypeId?: string } | undefined)?.nodeTypeId ?? "i3.xlarge",
        );
        const dbuRate = PRICES.databricksDbuPerNodeHour[nodeType] ?? PRICES.databricksDbuPerNodeHour.default;
        const cloud = [...clouds][0] ?? "aws";
        const vmRate = PRICES.aws.ec2Hourly[nodeType] ?? PRICES.databricksNodeHourly[cloud];
        const hours = (seconds / 3600) * nodeCount;
        add(
          `Databricks ${sku} DBUs`,
          executor,
          `${round(hours * dbuRate, 4)} DBU`,
          hours * dbuRate * PRICES.databricksDbu[sku],
        );
        add("Databricks node VMs", executor, `${round(hours, 4)} node-h`, hours * vmRate);
        assumptions.push(
          `"${executor}": ${nodeCount} ${nodeType} nodes at ${dbuRate} DBU per node-hour, billed only while its tasks run (no start-up time)`,
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
  };
}

function figuresFor(
  node: DAGNode,
  dag: PipelineDAG,
  estimate: TaskEstimate | undefined,
  run: PastRun | undefined,
): TaskFigures {
  const measured = (run?.tasks ?? []).filter((t) =>
    (t.id === node.id || (node.dynamic && t.task === node.task.name && !dag.get(t.id))) &&
    typeof t.durationMs === "number" && !t.cached
  );
  const dataBytes = estimate?.dataBytes ?? COST_DEFAULTS.dataBytes;
  if (measured.length > 0) {
    return {
      id: node.id,
      calls: measured.length,
      durationMs: sum(measured, (t) => t.durationMs!) / measured.length,
      dataBytes,
      source: `last run ${run!.runId}`,
    };
  }
  const fromEstimate = estimate?.durationMs !== undefined || (node.dynamic && estimate?.calls !== undefined);
  return {
    id: node.id,
    calls: node.dynamic ? estimate?.calls ?? COST_DEFAULTS.dynamicCalls : 1,
    durationMs: estimate?.durationMs ?? COST_DEFAULTS.durationMs,
    dataBytes,
    source: fromEstimate ? "estimate option" : "default",
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
