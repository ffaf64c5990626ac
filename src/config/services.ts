/**
 * The one service table: for each service Glacier knows, everything Glacier
 * knows about it — its kind and cloud, the config class that describes it, what
 * runs the task code there, the config's defaults and limits, the payload cap,
 * how it is priced, which executor adapter runs it, which artifact
 * `glacier build` makes for it and how orchestrators reach it.
 *
 * The config classes read their defaults and limits from here; analysis, cost,
 * codegen, `glacier build` and the executor wiring read the rest. Where a
 * reader owns an implementation (an executor adapter, a pricer, an artifact
 * layout, a config class), the table names it by key and the reader maps keys
 * to implementations in one record the compiler checks for completeness:
 * `executors/adapters.ts`, `src/analyze/cost.ts`, `executors/lambda/build.ts`,
 * `src/config/service_configs.ts`. Adding a service is one entry here, its
 * config class (named in `service_configs.ts` and the config unions of
 * `types.ts`, exported from `mod.ts`) and, when no adapter runs it yet, one
 * adapter folder under `executors/` named in `executors/adapters.ts`; the
 * compiler points at each place a key is missing.
 *
 * Kept free of runtime imports: the config classes import this table.
 *
 * @module
 */
import type { PriceTable } from "../analyze/pricing.ts";
import type { Cloud, ResourceKind } from "./base.ts";

/** A cloud a service belongs to. */
export type ServiceCloud = Exclude<Cloud, "local">;

/** A whole-number range a config field must fall in. */
export interface Range {
  /** The smallest value. */
  readonly min: number;
  /** The largest value. */
  readonly max: number;
  /** The unit, for messages (`MB`, `seconds`). */
  readonly unit?: string;
}

/**
 * Which executor adapter runs a service's tasks in cloud mode.
 * `executors/adapters.ts` maps each key to its adapter.
 */
export type AdapterKey =
  | "lambda"
  | "cloud-function"
  | "azure-function"
  | "databricks"
  | "emr"
  | "dataproc"
  | "ssh";

/**
 * Which artifact `glacier build` makes for a service: the Lambda zip (also the
 * workspace file of Databricks jobs), a Cloud Run function's source zip or an
 * Azure function app's zip. `executors/lambda/build.ts` maps each to its layout.
 */
export type ArtifactKind = "lambda" | "cloud-function" | "azure-function";

/** How the generated orchestrators (Step Functions, Airflow, Prefect, Dagster) reach a service. */
export type FlowVia = "lambda" | "databricks" | "ssh" | "local";

/**
 * How cost estimates price a service; `src/analyze/cost.ts` maps each model to
 * its pricer. `free` costs nothing (this machine); `unpriced` is left out with
 * the record's reason.
 */
export type PricingModel =
  | "free"
  | "unpriced"
  | "lambda"
  | "cloud-function"
  | "azure-function"
  | "instance-hours"
  | "databricks"
  | "emr"
  | "dataproc";

type PriceSection = "aws" | "gcp" | "azure";

/** A price in the dated price table (`src/analyze/pricing.ts`), such as `aws.lambdaRequest`. */
export type PriceKey =
  | { [C in PriceSection]: `${C}.${keyof PriceTable[C] & string}` }[PriceSection]
  | Exclude<keyof PriceTable, "asOf" | "regions" | PriceSection>;

/** How a service is priced: the model, and the prices it reads by role. */
export interface Pricing {
  /** The pricer. */
  readonly model: PricingModel;
  /** The prices it reads, by the role the pricer gives them (`hourly`, `request`). */
  readonly prices: Readonly<Record<string, PriceKey>>;
  /** The machine assumed when the config names none. */
  readonly assumedMachine?: string;
  /** Why an `unpriced` service has no estimate. */
  readonly reason?: string;
}

/** Which config fields size a resource (a dotted path for nested fields), or null where it has none. */
export interface Sizing {
  /** Memory in MB. */
  readonly memory: string | null;
  /** The service's own timeout in seconds. */
  readonly timeout: string | null;
  /** The machine: instance type, machine type, VM size or node type. */
  readonly machine: string | null;
  /** Machine count. */
  readonly nodes: string | null;
}

/** Everything Glacier knows about one service. Every field is stated, null where it does not apply. */
export interface ServiceRecord {
  /** The kind of execution resource. */
  readonly kind: ResourceKind;
  /** The one cloud it belongs to, or null for a service of any cloud. */
  readonly cloud: ServiceCloud | null;
  /** The name of its config class (`src/config/service_configs.ts` maps the service to it), or null for this machine. */
  readonly config: string | null;
  /** What runs the task code there. */
  readonly runtime: string;
  /** The config's defaults, by field. */
  readonly defaults: Readonly<Record<string, string | number>>;
  /** The config's numeric limits, by field. */
  readonly limits: Readonly<Record<string, Range>>;
  /** The config's fields that take one of a list of values. */
  readonly choices: Readonly<Record<string, readonly (string | number)[]>>;
  /** The cap on a request or response payload, in bytes; past it inputs and outputs travel through staging. */
  readonly payloadCap: number | null;
  /** How cost estimates price it. */
  readonly pricing: Pricing;
  /** The executor adapter of cloud runs, or null: this machine's tasks run on the wiring's local pool, and a service without one fails clearly in cloud mode. */
  readonly adapter: AdapterKey | null;
  /** What `glacier build` makes for it, or null when it runs the project as it is (VMs, EMR, Dataproc). */
  readonly artifact: ArtifactKind | null;
  /** How generated orchestrators reach it, or null when none can. */
  readonly flow: FlowVia | null;
  /** Whether Step Functions reaches it through the pipeline's launcher Lambda function (which `glacier build` makes on AWS). */
  readonly launcher: boolean;
  /** Which config fields size it, for requirements and estimates. */
  readonly sizing: Sizing;
  /** Limits on its deployed code, in bytes, by name (`unzipped`, `inlineZip`); empty where Glacier checks none. */
  readonly codeLimits: Readonly<Record<string, number>>;
  /**
   * How the service starts the deployed artifact of a function: the cloud's
   * runtime identifier and the entry it calls (Lambda's handler, a Cloud Run
   * function's entry point, an Azure custom handler's executable); null where
   * no function is deployed.
   */
  readonly entry: Entry | null;
}

/** How a function service starts Glacier's artifact. */
export interface Entry {
  /** The runtime identifier the cloud's API takes: `provided.al2023`, `nodejs22`, `custom`. */
  readonly runtime: string;
  /** What that runtime calls: the handler, entry point or executable. */
  readonly handler: string;
}

const MiB = 1024 * 1024;
const NO_SIZING = { memory: null, timeout: null, machine: null, nodes: null } as const;
const FUNCTION_SIZING = { memory: "memory", timeout: "timeout", machine: null, nodes: null } as const;

const TABLE = {
  local: {
    kind: "local",
    cloud: null,
    config: null,
    runtime: "Deno worker pool on this machine",
    defaults: {},
    limits: {},
    choices: {},
    payloadCap: null,
    pricing: { model: "free", prices: {} },
    adapter: null,
    artifact: null,
    flow: "local",
    launcher: true,
    sizing: NO_SIZING,
    codeLimits: {},
    entry: null,
  },
  lambda: {
    kind: "serverless",
    cloud: "aws",
    config: "LambdaConfig",
    runtime: "Deno on the provided.al2023 custom runtime",
    defaults: { memory: 1024, timeout: 300, ephemeralStorage: 512, architecture: "x86_64" },
    limits: {
      memory: { min: 128, max: 10_240, unit: "MB" },
      timeout: { min: 1, max: 900, unit: "seconds" },
      concurrency: { min: 1, max: 10_000 },
      ephemeralStorage: { min: 512, max: 10_240, unit: "MB" },
    },
    choices: { architecture: ["x86_64", "arm64"] },
    payloadCap: 6 * MiB,
    pricing: { model: "lambda", prices: { gbSecond: "aws.lambdaGbSecond", request: "aws.lambdaRequest" } },
    adapter: "lambda",
    artifact: "lambda",
    flow: "lambda",
    launcher: false,
    sizing: FUNCTION_SIZING,
    // 250 MB unzipped; a zip over 50 MB goes up through S3 rather than inline.
    codeLimits: { unzipped: 262_144_000, inlineZip: 50 * MiB },
    // The custom runtime starts the artifact's `bootstrap` script.
    entry: { runtime: "provided.al2023", handler: "bootstrap" },
  },
  ec2: {
    kind: "vm",
    cloud: "aws",
    config: "EC2Config",
    runtime: "Deno on the instance, over SSH",
    defaults: { instanceType: "m7i.large" },
    limits: {},
    choices: {},
    payloadCap: null,
    pricing: { model: "instance-hours", prices: { hourly: "aws.ec2Hourly" } },
    adapter: "ssh",
    artifact: null,
    flow: "ssh",
    launcher: false,
    sizing: { ...NO_SIZING, machine: "instanceType" },
    codeLimits: {},
    entry: null,
  },
  emr: {
    kind: "cluster",
    cloud: "aws",
    config: "EMRConfig",
    runtime: "Deno on the primary node, as a job-flow step",
    defaults: { instanceType: "m7g.xlarge", nodes: 3 },
    limits: { nodes: { min: 1, max: 1000 } },
    choices: {},
    payloadCap: null,
    pricing: { model: "emr", prices: { nodeHourly: "aws.ec2Hourly", fee: "aws.emrHourly" } },
    adapter: "emr",
    artifact: null,
    flow: null,
    launcher: false,
    sizing: { ...NO_SIZING, machine: "instanceType", nodes: "nodes" },
    codeLimits: {},
    entry: null,
  },
  "cloud-function": {
    kind: "serverless",
    cloud: "gcp",
    config: "CloudFunctionConfig",
    runtime: "Deno in a Cloud Run functions container",
    defaults: { memory: 1024, timeout: 300, maxInstances: 100 },
    limits: {
      memory: { min: 128, max: 32_768, unit: "MB" },
      timeout: { min: 1, max: 3600, unit: "seconds" },
      maxInstances: { min: 1, max: 1000 },
    },
    choices: {},
    payloadCap: 32 * MiB,
    pricing: {
      model: "cloud-function",
      prices: {
        vcpuSecond: "gcp.functionVcpuSecond",
        gibSecond: "gcp.functionGibSecond",
        invocation: "gcp.functionInvocation",
      },
    },
    adapter: "cloud-function",
    artifact: "cloud-function",
    flow: null,
    launcher: false,
    sizing: FUNCTION_SIZING,
    codeLimits: {},
    // The artifact's Node.js shim exports the entry point that starts Deno.
    entry: { runtime: "nodejs22", handler: "glacier" },
  },
  "compute-engine": {
    kind: "vm",
    cloud: "gcp",
    config: "ComputeEngineConfig",
    runtime: "Deno on the instance, over SSH",
    defaults: { machineType: "e2-standard-4", zone: "us-central1-a" },
    limits: {},
    choices: {},
    payloadCap: null,
    pricing: { model: "instance-hours", prices: { hourly: "gcp.computeHourly" } },
    adapter: "ssh",
    artifact: null,
    flow: "ssh",
    launcher: false,
    sizing: { ...NO_SIZING, machine: "machineType" },
    codeLimits: {},
    entry: null,
  },
  dataproc: {
    kind: "cluster",
    cloud: "gcp",
    config: "DataprocConfig",
    runtime: "Deno on the primary node, as a Dataproc job",
    defaults: { nodes: 3, machineType: "n2-standard-4" },
    limits: { nodes: { min: 1, max: 1000 } },
    choices: {},
    payloadCap: null,
    pricing: {
      model: "dataproc",
      prices: { nodeHourly: "gcp.computeHourly", vcpuHour: "gcp.dataprocVcpuHour" },
    },
    adapter: "dataproc",
    artifact: null,
    flow: null,
    launcher: false,
    sizing: { ...NO_SIZING, machine: "machineType", nodes: "nodes" },
    codeLimits: {},
    entry: null,
  },
  "azure-function": {
    kind: "serverless",
    cloud: "azure",
    config: "AzureFunctionConfig",
    runtime: "Deno as an Azure Functions custom handler",
    defaults: { plan: "flex", memory: 2048, timeout: 300 },
    limits: {
      memory: { min: 512, max: 14_336, unit: "MB" },
      timeout: { min: 1, max: 3600, unit: "seconds" },
      consumptionTimeout: { min: 1, max: 600, unit: "seconds" },
    },
    choices: { plan: ["consumption", "flex", "premium"], flexMemory: [512, 2048, 4096] },
    payloadCap: 64 * MiB,
    pricing: {
      model: "azure-function",
      prices: {
        gbSecond: "azure.functionsGbSecond",
        execution: "azure.functionsExecution",
        premiumHourly: "azure.functionsPremiumHourly",
      },
    },
    adapter: "azure-function",
    artifact: "azure-function",
    flow: null,
    launcher: false,
    sizing: FUNCTION_SIZING,
    codeLimits: {},
    // A custom handler: the host starts the artifact's `bootstrap` (host.json defaultExecutablePath).
    entry: { runtime: "custom", handler: "bootstrap" },
  },
  "azure-vm": {
    kind: "vm",
    cloud: "azure",
    config: "AzureVMConfig",
    runtime: "Deno on the VM, over SSH",
    defaults: { size: "Standard_D4s_v5" },
    limits: {},
    choices: {},
    payloadCap: null,
    pricing: { model: "instance-hours", prices: { hourly: "azure.vmHourly" } },
    adapter: "ssh",
    artifact: null,
    flow: "ssh",
    launcher: false,
    sizing: { ...NO_SIZING, machine: "size" },
    codeLimits: {},
    entry: null,
  },
  databricks: {
    kind: "cluster",
    cloud: null,
    config: "DatabricksConfig",
    runtime: "Deno on the driver node of a Jobs run",
    defaults: { sku: "jobs-compute", nodes: 2 },
    limits: { nodes: { min: 1, max: 1000 }, numWorkers: { min: 0, max: 1000 } },
    choices: { sku: ["jobs-compute", "all-purpose", "jobs-light"] },
    payloadCap: null,
    pricing: {
      model: "databricks",
      prices: {
        dbu: "databricksDbu",
        dbuPerNodeHour: "databricksDbuPerNodeHour",
        nodeHourly: "aws.ec2Hourly",
        fallbackNodeHourly: "databricksNodeHourly",
      },
      assumedMachine: "i3.xlarge",
    },
    adapter: "databricks",
    artifact: "lambda",
    flow: "databricks",
    launcher: true,
    sizing: { ...NO_SIZING, machine: "newCluster.nodeTypeId", nodes: "nodes" },
    codeLimits: {},
    entry: null,
  },
  spark: {
    kind: "cluster",
    cloud: null,
    config: "SparkConfig",
    runtime: "Deno on the Spark driver",
    defaults: { numExecutors: 2, executorMemory: 4096 },
    limits: {
      numExecutors: { min: 1, max: 10_000 },
      executorMemory: { min: 512, max: 262_144, unit: "MB" },
    },
    choices: {},
    payloadCap: null,
    pricing: {
      model: "unpriced",
      prices: {},
      reason: "is a self-managed cluster: its cost is not estimated",
    },
    adapter: null,
    artifact: null,
    flow: null,
    launcher: false,
    sizing: { ...NO_SIZING, memory: "executorMemory", nodes: "numExecutors" },
    codeLimits: {},
    entry: null,
  },
} as const satisfies Readonly<Record<string, ServiceRecord>>;

/** A service Glacier knows: `local`, `lambda`, `databricks`, … (the keys of {@linkcode SERVICES}). */
export type Service = keyof typeof TABLE;

/** A service with a config class: every one but `local`. */
export type ConfiguredService = Exclude<Service, "local">;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * The service table, frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SERVICES } from "./services.ts";
 * assert.equal(SERVICES.lambda.limits.timeout.max, 900);
 * assert.equal(SERVICES.lambda.payloadCap, 6 * 1024 * 1024);
 * assert.equal(SERVICES.databricks.cloud, null);
 * ```
 */
export const SERVICES: typeof TABLE = deepFreeze(TABLE);

/** Every service, in table order. */
export const SERVICE_NAMES: readonly Service[] = Object.freeze(Object.keys(TABLE) as Service[]);

/**
 * Whether a name is one of Glacier's services.
 *
 * @param service The name, such as `lambda`.
 * @returns Whether the table has it.
 */
export function isService(service: string): service is Service {
  return Object.hasOwn(TABLE, service);
}

/**
 * The record of a service.
 *
 * @param service The service, such as `lambda`.
 * @returns Its record, or undefined for a name that is none of Glacier's.
 */
export function serviceRecord(service: string): ServiceRecord | undefined {
  return isService(service) ? SERVICES[service] : undefined;
}

/**
 * The one cloud a service belongs to, or undefined for services of any cloud
 * (local, Databricks, Spark) and unknown names.
 *
 * @param service The service, such as `lambda`.
 * @returns The cloud.
 */
export function serviceCloud(service: string): ServiceCloud | undefined {
  return serviceRecord(service)?.cloud ?? undefined;
}

/**
 * The clouds whose providers can bind a service's resources.
 *
 * @param service The service.
 * @returns Its own cloud, or all three for a service of any cloud.
 */
export function serviceClouds(service: ConfiguredService): readonly Cloud[] {
  const cloud = SERVICES[service].cloud;
  return cloud ? [cloud] : ["aws", "gcp", "azure"];
}

/**
 * A config field of a service's resource, by the dotted path the table names it with.
 *
 * @param config The config as data (`resource.info().config`).
 * @param path The field, such as `newCluster.nodeTypeId`; null for none.
 * @returns The value, or undefined.
 */
export function configField(config: Readonly<Record<string, unknown>>, path: string | null): unknown {
  if (path === null) return undefined;
  let value: unknown = config;
  for (const part of path.split(".")) {
    value = value !== null && typeof value === "object"
      ? (value as Record<string, unknown>)[part]
      : undefined;
  }
  return value;
}
