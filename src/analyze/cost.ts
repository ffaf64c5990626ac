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
import {
  configField,
  type PricingModel,
  type ServiceCloud,
  serviceCloud,
  type ServiceRecord,
  serviceRecord,
} from "../config/services.ts";
import { STORAGE_SCHEMES } from "../provider.ts";
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
    const service = serviceRecord(r.service);
    if (!service) {
      assumptions.push(
        `"${executor}" (${r.service}) is none of Glacier's services: its cost is not estimated`,
      );
      continue;
    }
    PRICERS[service.pricing.model]({
      executor,
      service: r.service,
      record: service,
      config: c,
      nodes,
      calls,
      seconds,
      run,
      clouds,
      value: (field) => c[field] ?? (service.defaults as Record<string, unknown>)[field],
      rate: (role) => price(service, role) as number,
      rates: (role) => price(service, role) as Readonly<Record<string, number>>,
      add: (item, quantity, perRun) => add(item, executor, quantity, perRun),
      assume: (text) => assumptions.push(text),
      basis: (text) => basis = text,
    });
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

// What a pricer is given for one executor: its figures, its table record and where to write lines.
interface PriceContext {
  readonly executor: string;
  readonly service: string;
  readonly record: ServiceRecord;
  readonly config: Readonly<Record<string, unknown>>;
  readonly nodes: readonly DAGNode[];
  readonly calls: number;
  readonly seconds: number;
  readonly run: PastRun | undefined;
  readonly clouds: ReadonlySet<ServiceCloud>;
  // A config field, else the table's default for it.
  value(field: string): unknown;
  // A price the record's pricing names by role: one rate, or rates by type, plan or SKU.
  rate(role: string): number;
  rates(role: string): Readonly<Record<string, number>>;
  add(item: string, quantity: string, perRun: number): void;
  assume(text: string): void;
  basis(text: string): void;
}

// The price a service's pricing names by role, read from the dated table.
function price(service: ServiceRecord, role: string): unknown {
  const key = service.pricing.prices[role];
  let value: unknown = PRICES;
  for (const part of key?.split(".") ?? []) value = (value as Record<string, unknown>)[part];
  if (key === undefined || value === undefined) {
    throw new Error(`the service table prices ${service.config} with no "${role}" price (${key})`);
  }
  return value;
}

// One pricer per pricing model the service table names.
const PRICERS: { readonly [M in PricingModel]: (p: PriceContext) => void } = {
  free: () => {},
  unpriced: (p) => p.assume(`"${p.executor}" (${p.service}) ${p.record.pricing.reason}`),
  lambda: (p) => {
    const gbs = (Number(p.value("memory")) / 1024) * p.seconds;
    const arch = p.value("architecture") === "arm64" ? "arm64" : "x86_64";
    p.add("Lambda compute", `${round(gbs, 3)} GB-s`, gbs * p.rates("gbSecond")[arch]);
    p.add("Lambda requests", `${p.calls} requests`, p.calls * p.rate("request"));
  },
  "cloud-function": (p) => {
    const mb = Number(p.value("memory"));
    const vcpu = gcfVcpu(mb);
    const gib = mb / 1024;
    p.add(
      "Cloud Functions compute",
      `${round(vcpu * p.seconds, 3)} vCPU-s, ${round(gib * p.seconds, 3)} GiB-s`,
      vcpu * p.seconds * p.rate("vcpuSecond") + gib * p.seconds * p.rate("gibSecond"),
    );
    p.add("Cloud Functions invocations", `${p.calls} invocations`, p.calls * p.rate("invocation"));
  },
  "azure-function": (p) => {
    const plan = String(p.value("plan"));
    if (plan === "premium") {
      p.add(
        "Azure Functions Premium (EP1)",
        `${round(p.seconds / 3600, 4)} h`,
        (p.seconds / 3600) * p.rate("premiumHourly"),
      );
      p.assume(`"${p.executor}" on Premium is priced as EP1 instance time for its tasks only`);
      return;
    }
    const gbs = (Number(p.value("memory")) / 1024) * p.seconds;
    const rated = plan === "consumption" ? "consumption" : "flex";
    p.add("Azure Functions compute", `${round(gbs, 3)} GB-s`, gbs * p.rates("gbSecond")[rated]);
    p.add("Azure Functions executions", `${p.calls} executions`, p.calls * p.rates("execution")[rated]);
  },
  "instance-hours": (p) => {
    const type = String(p.value(p.record.sizing.machine ?? ""));
    const hourly = p.rates("hourly")[type];
    const billed = Math.max(60, p.seconds);
    if (hourly === undefined) {
      p.assume(`"${p.executor}": no list price for "${type}" in the table, so it is left out`);
      return;
    }
    p.add(`${type} instance`, `${round(billed / 3600, 4)} h`, (billed / 3600) * hourly);
    p.assume(
      `"${p.executor}" (${type}) is billed per second only while its tasks run, at least 60 s per run`,
    );
  },
  databricks: (p) => {
    const nodeCount = Number(p.value("nodes"));
    const nodeType = String(
      configField(p.config, p.record.sizing.machine) ?? p.record.pricing.assumedMachine,
    );
    const perNodeHour = p.rates("dbuPerNodeHour");
    const dbuRate = perNodeHour[nodeType] ?? perNodeHour.default;
    const cloud = [...p.clouds][0] ?? "aws";
    const vmRate = p.rates("nodeHourly")[nodeType] ?? p.rates("fallbackNodeHourly")[cloud];
    // An existing cluster is all-purpose compute, up for as long as its tasks span.
    const existing = typeof p.config.clusterId === "string";
    const sku = existing ? "all-purpose" : String(p.value("sku"));
    const window = existing ? uptimeSeconds(p.nodes, p.run) : undefined;
    const billed = window?.seconds ?? p.seconds;
    if (window) p.basis(`durations: uptime window in last run ${p.run!.runId}`);
    const hours = (billed / 3600) * nodeCount;
    p.add(
      `Databricks ${sku} DBUs`,
      `${round(hours * dbuRate, 4)} DBU`,
      hours * dbuRate * p.rates("dbu")[sku],
    );
    p.add("Databricks node VMs", `${round(hours, 4)} node-h`, hours * vmRate);
    p.assume(
      existing
        ? `"${p.executor}" is the existing cluster "${p.config.clusterId}": priced at all-purpose rates for ${nodeCount} ${nodeType} nodes at ${dbuRate} DBU per node-hour, up ${
          window
            ? `from its first task's start to its last task's end in the last run (${round(billed, 1)} s)`
            : "for the sum of its tasks' durations (no run to measure its uptime window)"
        }; idle time before and after, and auto-termination, are not counted`
        : `"${p.executor}": ${nodeCount} ${nodeType} nodes at ${dbuRate} DBU per node-hour, billed only while its tasks run (no start-up time)`,
    );
  },
  emr: (p) => {
    const type = String(p.value("instanceType"));
    const nodeCount = Number(p.value("nodes"));
    const ec2 = p.rates("nodeHourly")[type];
    // A type without a listed EMR fee is assumed at a quarter of its EC2 price.
    const emr = p.rates("fee")[type] ?? (ec2 ?? 0) * 0.25;
    const hours = (p.seconds / 3600) * nodeCount;
    p.add(`EMR ${type} nodes`, `${round(hours, 4)} node-h`, hours * ((ec2 ?? 0) + emr));
    p.assume(`"${p.executor}": ${nodeCount} ${type} nodes billed only while its tasks run`);
  },
  dataproc: (p) => {
    const type = String(p.value("machineType"));
    const nodeCount = Number(p.value("nodes"));
    const vcpus = Number(type.match(/-(\d+)$/)?.[1] ?? 4);
    const hours = (p.seconds / 3600) * nodeCount;
    const rate = (p.rates("nodeHourly")[type] ?? 0) + vcpus * p.rate("vcpuHour");
    p.add(`Dataproc ${type} nodes`, `${round(hours, 4)} node-h`, hours * rate);
    p.assume(`"${p.executor}": ${nodeCount} ${type} nodes billed only while its tasks run`);
  },
};

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
    const cap = serviceRecord(node.resource.service)?.payloadCap;
    if (cap === undefined || cap === null) continue;
    const provider = node.executor.providerConfig as { stagingBucket?: string } | undefined;
    if (provider?.stagingBucket) continue;
    const cloud = serviceCloud(node.resource.service) ?? "aws";
    const config = provider?.constructor?.name ?? `the ${CLOUD_LABEL[cloud]} provider's config`;
    for (const input of node.inputs) {
      const f = byId.get(input.id)!;
      if (f.dataSource === "default" || f.dataBytes <= cap) continue;
      out.push(
        `node "${node.id}" on "${node.executor.name}" (${node.resource.service}) takes the output of "${input.id}", which moves about ${
          round(f.dataBytes / 2 ** 20, 1)
        } MiB (${f.dataSource}), likely over the ${
          cap / 2 ** 20
        } MiB payload limit, and no staging bucket is set: set stagingBucket: "${
          STORAGE_SCHEMES[cloud]
        }://bucket/prefix" on ${config} so large tables travel by reference`,
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
