/**
 * The dated price table behind {@linkcode PipelineAnalysis.estimateCost}:
 * public on-demand list prices in US dollars, one region per cloud, without
 * free tiers, discounts or savings plans. Prices change: check the providers'
 * pages before relying on an estimate, and update this table with its date.
 *
 * @module
 */

/** The price table's shape. */
export interface PriceTable {
  /** When these list prices were taken from the providers' pages (ISO date). */
  readonly asOf: string;
  /** The region each cloud's prices are for. */
  readonly regions: Readonly<Record<"aws" | "gcp" | "azure", string>>;
  /** AWS prices. */
  readonly aws: {
    /** Lambda per GB-second, by architecture. */
    readonly lambdaGbSecond: Readonly<Record<"x86_64" | "arm64", number>>;
    /** Lambda per request. */
    readonly lambdaRequest: number;
    /** EC2 Linux on-demand per hour, by instance type. */
    readonly ec2Hourly: Readonly<Record<string, number>>;
    /** The EMR fee on top of EC2, per instance-hour, by instance type. */
    readonly emrHourly: Readonly<Record<string, number>>;
    /** S3 Standard per GB-month. */
    readonly s3GbMonth: number;
    /** S3 PUT, COPY, POST, LIST per request. */
    readonly s3Write: number;
    /** S3 GET and other reads per request. */
    readonly s3Read: number;
    /** Step Functions Standard per state transition. */
    readonly stepFunctionsTransition: number;
  };
  /** Google Cloud prices. */
  readonly gcp: {
    /** Cloud Run functions (2nd gen, tier 1) per vCPU-second. */
    readonly functionVcpuSecond: number;
    /** Cloud Run functions per GiB-second. */
    readonly functionGibSecond: number;
    /** Per invocation. */
    readonly functionInvocation: number;
    /** Compute Engine on-demand per hour, by machine type. */
    readonly computeHourly: Readonly<Record<string, number>>;
    /** The Dataproc fee per vCPU-hour. */
    readonly dataprocVcpuHour: number;
    /** Cloud Storage Standard per GB-month. */
    readonly gcsGbMonth: number;
    /** Class A operations (writes, lists) per operation. */
    readonly gcsWrite: number;
    /** Class B operations (reads) per operation. */
    readonly gcsRead: number;
    /** Workflows per internal step. */
    readonly workflowsStep: number;
  };
  /** Azure prices. */
  readonly azure: {
    /** Functions per GB-second, by plan (premium: see `functionsPremiumHourly`). */
    readonly functionsGbSecond: Readonly<Record<"consumption" | "flex", number>>;
    /** Functions per execution, by plan. */
    readonly functionsExecution: Readonly<Record<"consumption" | "flex", number>>;
    /** Functions Premium EP1 per instance-hour. */
    readonly functionsPremiumHourly: number;
    /** VMs (Linux, pay as you go) per hour, by size. */
    readonly vmHourly: Readonly<Record<string, number>>;
    /** Blob Storage Hot LRS per GB-month. */
    readonly blobGbMonth: number;
    /** Blob write operations per operation. */
    readonly blobWrite: number;
    /** Blob read operations per operation. */
    readonly blobRead: number;
    /** Logic Apps (consumption) per action. */
    readonly logicAppsAction: number;
  };
  /** Databricks (Premium tier, classic compute) per DBU, by SKU. */
  readonly databricksDbu: Readonly<Record<"jobs-compute" | "all-purpose" | "jobs-light", number>>;
  /** DBUs per node-hour, by node type; `default` when the node type is not listed. */
  readonly databricksDbuPerNodeHour: Readonly<Record<string, number>>;
  /** The VM price of one Databricks node per hour when the node type is not in the cloud's table. */
  readonly databricksNodeHourly: Readonly<Record<"aws" | "gcp" | "azure", number>>;
}

/**
 * Public list prices, taken 2025-06-01 for us-east-1 (AWS), us-central1 (GCP)
 * and eastus (Azure), on demand, without free tiers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PRICES } from "./pricing.ts";
 * assert.ok(PRICES.aws.lambdaRequest === 0.2 / 1_000_000);
 * ```
 */
export const PRICES: PriceTable = Object.freeze({
  asOf: "2025-06-01",
  regions: { aws: "us-east-1", gcp: "us-central1", azure: "eastus" },
  aws: {
    lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
    lambdaRequest: 0.2 / 1_000_000,
    ec2Hourly: {
      "t3.medium": 0.0416,
      "t3.large": 0.0832,
      "m5.large": 0.096,
      "m5.xlarge": 0.192,
      "m6i.large": 0.096,
      "m6i.xlarge": 0.192,
      "m7i.large": 0.1008,
      "m7i.xlarge": 0.2016,
      "m7g.large": 0.0816,
      "m7g.xlarge": 0.1632,
      "c7i.large": 0.08925,
      "c7g.xlarge": 0.145,
      "r7i.large": 0.1323,
      "i3.xlarge": 0.312,
      "i3.2xlarge": 0.624,
      "g5.xlarge": 1.006,
    },
    emrHourly: {
      "m5.xlarge": 0.048,
      "m6i.xlarge": 0.048,
      "m7g.xlarge": 0.0408,
      "r7i.large": 0.0331,
      "i3.xlarge": 0.078,
    },
    s3GbMonth: 0.023,
    s3Write: 0.005 / 1000,
    s3Read: 0.0004 / 1000,
    stepFunctionsTransition: 0.025 / 1000,
  },
  gcp: {
    functionVcpuSecond: 0.000024,
    functionGibSecond: 0.0000025,
    functionInvocation: 0.4 / 1_000_000,
    computeHourly: {
      "e2-standard-2": 0.067006,
      "e2-standard-4": 0.134012,
      "e2-standard-8": 0.268024,
      "n2-standard-2": 0.097118,
      "n2-standard-4": 0.194236,
      "n2-standard-8": 0.388472,
      "n2-highmem-4": 0.262036,
    },
    dataprocVcpuHour: 0.01,
    gcsGbMonth: 0.02,
    gcsWrite: 0.005 / 1000,
    gcsRead: 0.0004 / 1000,
    workflowsStep: 0.01 / 1000,
  },
  azure: {
    functionsGbSecond: { consumption: 0.000016, flex: 0.000026 },
    functionsExecution: { consumption: 0.2 / 1_000_000, flex: 0.4 / 1_000_000 },
    functionsPremiumHourly: 0.1598,
    vmHourly: {
      Standard_D2s_v5: 0.096,
      Standard_D4s_v5: 0.192,
      Standard_D8s_v5: 0.384,
      Standard_DS3_v2: 0.293,
      Standard_E4s_v5: 0.252,
    },
    blobGbMonth: 0.0184,
    blobWrite: 0.0065 / 1000,
    blobRead: 0.0005 / 1000,
    logicAppsAction: 0.000025,
  },
  databricksDbu: { "jobs-compute": 0.15, "all-purpose": 0.55, "jobs-light": 0.1 },
  databricksDbuPerNodeHour: { "i3.xlarge": 1, "i3.2xlarge": 2, "m5d.large": 0.34, default: 1 },
  databricksNodeHourly: { aws: 0.312, gcp: 0.262036, azure: 0.293 },
});
