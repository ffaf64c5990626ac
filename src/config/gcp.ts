/**
 * Google Cloud: the provider config and the Cloud Functions, Compute Engine
 * and Dataproc execution configs.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { matches, required, stagingPrefix } from "../_validate.ts";
import { VMConfigBase, type VMConfigOptions } from "./vm.ts";
import { inRange } from "./_util.ts";
import { serviceClouds, SERVICES } from "./services.ts";

const FUNCTION = SERVICES["cloud-function"];
const COMPUTE = SERVICES["compute-engine"];
const DATAPROC = SERVICES.dataproc;

/** Options for {@linkcode GcpConfig}. */
export interface GcpConfigOptions {
  /** The project id (6–30 characters: lower-case letters, digits, hyphens). */
  project: string;
  /** The region, such as `us-central1`. @default {"us-central1"} */
  region?: string;
  /**
   * Where data between executors is staged, such as `gs://bucket/prefix`; the prefix takes letters,
   * digits, `.`, `_`, `=`, `-` and `/`. @default {undefined}
   */
  stagingBucket?: string;
}

/**
 * Google Cloud.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GcpConfig } from "./gcp.ts";
 * assert.ok(new GcpConfig({ project: "my-project" }).region === "us-central1");
 * ```
 */
export class GcpConfig {
  /** Always `"gcp"`. */
  readonly cloud = "gcp" as const;
  /** The project id. */
  readonly project: string;
  /** The region. */
  readonly region: string;
  /** Where data between executors is staged. */
  readonly stagingBucket?: string;
  /**
   * Builds it.
   * @param options The project and region.
   * @throws {TypeError} When the project is missing.
   * @throws {RangeError} When the project, region or staging bucket is malformed.
   */
  constructor(options: GcpConfigOptions) {
    this.project = required(
      "GcpConfig",
      "project",
      options?.project,
      'the GCP project id, such as "my-project"',
    );
    matches(
      "GcpConfig",
      "project",
      this.project,
      /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
      "6-30 lower-case letters, digits or hyphens, starting with a letter",
    );
    this.region = options.region ?? "us-central1";
    matches("GcpConfig", "region", this.region, /^[a-z]+-[a-z]+\d+$/, 'a GCP region such as "us-central1"');
    matches(
      "GcpConfig",
      "stagingBucket",
      options.stagingBucket,
      /^gs:\/\/[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](\/.*)?$/,
      'a GCS URI such as "gs://my-bucket/glacier"',
    );
    stagingPrefix("GcpConfig", "stagingBucket", options.stagingBucket);
    this.stagingBucket = options.stagingBucket;
  }
}

/** Options for {@linkcode CloudFunctionConfig}. */
export interface CloudFunctionConfigOptions {
  /** Memory in MB, 128–32768. @default {1024} */
  memory?: number;
  /** Timeout in seconds, 1–3600 (2nd gen, HTTP). @default {300} */
  timeout?: number;
  /** Maximum instances. @default {100} */
  maxInstances?: number;
}

/**
 * A Google Cloud Function (2nd gen).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CloudFunctionConfig } from "./gcp.ts";
 * assert.ok(new CloudFunctionConfig().service === "cloud-function");
 * ```
 */
export class CloudFunctionConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind: "serverless" = FUNCTION.kind;
  /** Always `"cloud-function"`. */
  readonly service = "cloud-function" as const;
  /** Only GCP. */
  readonly clouds: readonly Cloud[] = serviceClouds("cloud-function");
  /** Memory in MB. */
  readonly memory: number;
  /** Timeout in seconds. */
  readonly timeout: number;
  /** Maximum instances. */
  readonly maxInstances: number;
  /**
   * Builds it.
   * @param options Memory, timeout and scale.
   * @throws {RangeError} When a field is outside Cloud Functions' limits.
   */
  constructor(options: CloudFunctionConfigOptions = {}) {
    inRange("CloudFunctionConfig", "memory", options.memory, FUNCTION.limits.memory);
    inRange("CloudFunctionConfig", "timeout", options.timeout, FUNCTION.limits.timeout);
    inRange("CloudFunctionConfig", "maxInstances", options.maxInstances, FUNCTION.limits.maxInstances);
    this.memory = options.memory ?? FUNCTION.defaults.memory;
    this.timeout = options.timeout ?? FUNCTION.defaults.timeout;
    this.maxInstances = options.maxInstances ?? FUNCTION.defaults.maxInstances;
  }
}

/** Options for {@linkcode ComputeEngineConfig}. */
export interface ComputeEngineConfigOptions extends VMConfigOptions {
  /** The machine type, such as `e2-standard-4`. @default {"e2-standard-4"} */
  machineType?: string;
  /** The zone, such as `us-central1-a`. @default {"us-central1-a"} */
  zone?: string;
}

/**
 * A Google Compute Engine VM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ComputeEngineConfig } from "./gcp.ts";
 * assert.ok(new ComputeEngineConfig().zone === "us-central1-a");
 * ```
 */
export class ComputeEngineConfig extends VMConfigBase {
  /** Always `"compute-engine"`. */
  override readonly service = "compute-engine" as const;
  /** Only GCP. */
  override readonly clouds: readonly Cloud[] = serviceClouds("compute-engine");
  /** The machine type. */
  readonly machineType: string;
  /** The zone. */
  readonly zone: string;
  /**
   * Builds it.
   * @param options The machine and how to reach it.
   * @throws {RangeError} When the machine type, zone or port are malformed.
   */
  constructor(options: ComputeEngineConfigOptions = {}) {
    super("ComputeEngineConfig", options);
    matches(
      "ComputeEngineConfig",
      "machineType",
      options.machineType,
      /^[a-z0-9]+-[a-z0-9-]+$/,
      'a machine type such as "e2-standard-4"',
    );
    matches(
      "ComputeEngineConfig",
      "zone",
      options.zone,
      /^[a-z]+-[a-z]+\d+-[a-z]$/,
      'a zone such as "us-central1-a"',
    );
    this.machineType = options.machineType ?? COMPUTE.defaults.machineType;
    this.zone = options.zone ?? COMPUTE.defaults.zone;
  }
}

/** Options for {@linkcode DataprocConfig}. */
export interface DataprocConfigOptions {
  /** The cluster name. */
  cluster: string;
  /** The region; by default the provider's. @default {undefined} */
  region?: string;
  /** Node count, for cost estimates. @default {3} */
  nodes?: number;
  /** Machine type of each node, for cost estimates. @default {"n2-standard-4"} */
  machineType?: string;
}

/**
 * A Google Dataproc cluster.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataprocConfig } from "./gcp.ts";
 * assert.ok(new DataprocConfig({ cluster: "etl-cluster" }).nodes === 3);
 * ```
 */
export class DataprocConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind: "cluster" = DATAPROC.kind;
  /** Always `"dataproc"`. */
  readonly service = "dataproc" as const;
  /** Only GCP. */
  readonly clouds: readonly Cloud[] = serviceClouds("dataproc");
  /** The cluster name. */
  readonly cluster: string;
  /** The region. */
  readonly region?: string;
  /** Node count. */
  readonly nodes: number;
  /** Machine type. */
  readonly machineType: string;
  /**
   * Builds it.
   * @param options The cluster.
   * @throws {TypeError} When the cluster is missing.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: DataprocConfigOptions) {
    this.cluster = required(
      "DataprocConfig",
      "cluster",
      options?.cluster,
      'the Dataproc cluster name, such as "etl-cluster"',
    );
    matches(
      "DataprocConfig",
      "cluster",
      this.cluster,
      /^[a-z]([-a-z0-9]{0,49}[a-z0-9])?$/,
      "up to 51 lower-case letters, digits or hyphens",
    );
    matches(
      "DataprocConfig",
      "region",
      options.region,
      /^[a-z]+-[a-z]+\d+$/,
      'a GCP region such as "us-central1"',
    );
    inRange("DataprocConfig", "nodes", options.nodes, DATAPROC.limits.nodes);
    matches(
      "DataprocConfig",
      "machineType",
      options.machineType,
      /^[a-z0-9]+-[a-z0-9-]+$/,
      'a machine type such as "n2-standard-4"',
    );
    this.region = options.region;
    this.nodes = options.nodes ?? DATAPROC.defaults.nodes;
    this.machineType = options.machineType ?? DATAPROC.defaults.machineType;
  }
}
