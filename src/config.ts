/**
 * Provider configs (which cloud) and execution configs (which resource in it).
 * Fields follow each cloud's own names in camelCase and are checked against the
 * cloud's real limits when the config is built. Durations use the cloud's unit
 * (seconds for Lambda); a task's own `timeout` is milliseconds.
 *
 * @module
 */
import { envNames, intInRange, matches, oneOf, required, stagingPrefix } from "./_validate.ts";

/** The clouds a provider can target; `local` is the embedded default. */
export type Cloud = "local" | "aws" | "gcp" | "azure";

/** The config a {@linkcode Provider} is built from. */
export type ProviderConfig = LocalConfig | AwsConfig | GcpConfig | AzureConfig;

/** Options for {@linkcode LocalConfig}. */
export interface LocalConfigOptions {
  /** The folder under which each bucket is a sub-folder. @default {"./data"} */
  root?: string;
}

/**
 * The embedded local default: buckets are folders under `root`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalConfig } from "./config.ts";
 * assert.ok(new LocalConfig().root === "./data");
 * ```
 */
export class LocalConfig {
  /** Always `"local"`. */
  readonly cloud = "local" as const;
  /** The folder under which each bucket is a sub-folder. */
  readonly root: string;
  /**
   * Builds it.
   * @param options The root folder.
   */
  constructor(options: LocalConfigOptions = {}) {
    this.root = options.root ?? "./data";
    if (typeof this.root !== "string" || this.root === "") {
      throw new TypeError(`LocalConfig: "root" must be a folder path, got ${JSON.stringify(this.root)}`);
    }
  }
}

/** Options for {@linkcode AwsConfig}. */
export interface AwsConfigOptions {
  /** The AWS region, such as `us-east-1`. @default {Deno.env AWS_REGION, else "us-east-1"} */
  region?: string;
  /** A named profile of the shared config files. @default {undefined} */
  profile?: string;
  /** The 12-digit account id, used in generated ARNs. @default {undefined} */
  accountId?: string;
  /**
   * Where data between executors is staged, such as `s3://bucket/prefix`; the prefix takes letters,
   * digits, `.`, `_`, `=`, `-` and `/`. @default {undefined}
   */
  stagingBucket?: string;
  /** An S3-compatible endpoint URL. @default {Deno.env AWS_ENDPOINT_URL_S3} */
  endpoint?: string;
  /** Address buckets by path (`host/bucket/key`), as most S3-compatible stores need. @default {false} */
  forcePathStyle?: boolean;
}

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/**
 * Amazon Web Services.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AwsConfig } from "./config.ts";
 * assert.ok(new AwsConfig({ region: "eu-west-1" }).cloud === "aws");
 * ```
 */
export class AwsConfig {
  /** Always `"aws"`. */
  readonly cloud = "aws" as const;
  /** The AWS region. */
  readonly region: string;
  /** A named profile. */
  readonly profile?: string;
  /** The 12-digit account id. */
  readonly accountId?: string;
  /** Where data between executors is staged. */
  readonly stagingBucket?: string;
  /** An S3-compatible endpoint URL. */
  readonly endpoint?: string;
  /** Path-style bucket addressing. */
  readonly forcePathStyle: boolean;
  /**
   * Builds it.
   * @param options The region and account settings.
   * @throws {RangeError} When the region, account id or staging bucket are malformed (the staging prefix takes letters, digits, `.`, `_`, `=`, `-` and `/`).
   */
  constructor(options: AwsConfigOptions = {}) {
    this.region = options.region ?? envVar("AWS_REGION") ?? "us-east-1";
    matches("AwsConfig", "region", this.region, AWS_REGION, 'an AWS region such as "us-east-1"');
    matches("AwsConfig", "accountId", options.accountId, /^\d{12}$/, "a 12-digit AWS account id");
    matches(
      "AwsConfig",
      "stagingBucket",
      options.stagingBucket,
      /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/,
      'an S3 URI such as "s3://my-bucket/glacier"',
    );
    stagingPrefix("AwsConfig", "stagingBucket", options.stagingBucket);
    if (options.endpoint !== undefined) validUrl("AwsConfig", "endpoint", options.endpoint);
    this.profile = options.profile;
    this.accountId = options.accountId;
    this.stagingBucket = options.stagingBucket;
    this.endpoint = options.endpoint;
    this.forcePathStyle = options.forcePathStyle ?? false;
  }
}

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
 * import { GcpConfig } from "./config.ts";
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

/** Options for {@linkcode AzureConfig}. */
export interface AzureConfigOptions {
  /** The subscription id (a GUID). @default {undefined} */
  subscriptionId?: string;
  /** The resource group. @default {"glacier"} */
  resourceGroup?: string;
  /** The location, such as `eastus`. @default {"eastus"} */
  location?: string;
  /** The storage account that holds the containers. @default {undefined} */
  storageAccount?: string;
}

/**
 * Microsoft Azure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureConfig } from "./config.ts";
 * assert.ok(new AzureConfig({ location: "westeurope" }).cloud === "azure");
 * ```
 */
export class AzureConfig {
  /** Always `"azure"`. */
  readonly cloud = "azure" as const;
  /** The subscription id. */
  readonly subscriptionId?: string;
  /** The resource group. */
  readonly resourceGroup: string;
  /** The location. */
  readonly location: string;
  /** The storage account. */
  readonly storageAccount?: string;
  /**
   * Builds it.
   * @param options The subscription, group and location.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: AzureConfigOptions = {}) {
    matches(
      "AzureConfig",
      "subscriptionId",
      options.subscriptionId,
      /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i,
      "a subscription GUID",
    );
    this.subscriptionId = options.subscriptionId;
    this.resourceGroup = options.resourceGroup ?? "glacier";
    matches(
      "AzureConfig",
      "resourceGroup",
      this.resourceGroup,
      /^[\w.()-]{1,90}$/,
      "1-90 letters, digits, '.', '_', '-', '(' or ')'",
    );
    this.location = options.location ?? "eastus";
    matches("AzureConfig", "location", this.location, /^[a-z0-9]+$/, 'an Azure location such as "eastus"');
    matches(
      "AzureConfig",
      "storageAccount",
      options.storageAccount,
      /^[a-z0-9]{3,24}$/,
      "3-24 lower-case letters or digits",
    );
    this.storageAccount = options.storageAccount;
  }
}

/** The kinds of execution resource. */
export type ResourceKind = "local" | "serverless" | "vm" | "cluster";

/** What every execution config shares. */
export interface ExecutionConfigBase {
  /** The kind of resource this config describes. */
  readonly kind: ResourceKind;
  /** The cloud service, such as `lambda` or `databricks`. */
  readonly service: string;
  /** The clouds whose providers can bind it. */
  readonly clouds: readonly Cloud[];
}

/** Options for {@linkcode LambdaConfig}. */
export interface LambdaConfigOptions {
  /** Memory in MB, 128–10240. @default {1024} */
  memory?: number;
  /** Timeout in seconds, 1–900. @default {300} */
  timeout?: number;
  /** Reserved concurrency, also the bound on in-flight invocations of a fan-out. @default {undefined} */
  concurrency?: number;
  /** Ephemeral `/tmp` storage in MB, 512–10240. @default {512} */
  ephemeralStorage?: number;
  /** The instruction set. @default {"x86_64"} */
  architecture?: "x86_64" | "arm64";
  /** An explicit function name; by default generated from pipeline and resource. @default {undefined} */
  functionName?: string;
  /** Environment variable names passed through to the function: letters, digits and `_`. @default {[]} */
  environment?: readonly string[];
}

/**
 * An AWS Lambda function (the Deno custom runtime on `provided.al2023`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LambdaConfig } from "./config.ts";
 * assert.ok(new LambdaConfig({ memory: 2048 }).timeout === 300);
 * ```
 */
export class LambdaConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind = "serverless" as const;
  /** Always `"lambda"`. */
  readonly service = "lambda" as const;
  /** Only AWS. */
  readonly clouds: readonly Cloud[] = ["aws"];
  /** Memory in MB. */
  readonly memory: number;
  /** Timeout in seconds. */
  readonly timeout: number;
  /** Reserved concurrency. */
  readonly concurrency?: number;
  /** Ephemeral storage in MB. */
  readonly ephemeralStorage: number;
  /** The instruction set. */
  readonly architecture: "x86_64" | "arm64";
  /** An explicit function name. */
  readonly functionName?: string;
  /** Environment variable names passed through. */
  readonly environment: readonly string[];
  /**
   * Builds it.
   * @param options Memory, timeout and concurrency.
   * @throws {RangeError} When a field is outside Lambda's limits or an environment variable name is malformed.
   * @throws {TypeError} When `environment` is not a list.
   */
  constructor(options: LambdaConfigOptions = {}) {
    intInRange("LambdaConfig", "memory", options.memory, 128, 10_240, "MB");
    intInRange("LambdaConfig", "timeout", options.timeout, 1, 900, "seconds");
    intInRange("LambdaConfig", "concurrency", options.concurrency, 1, 10_000);
    intInRange("LambdaConfig", "ephemeralStorage", options.ephemeralStorage, 512, 10_240, "MB");
    oneOf("LambdaConfig", "architecture", options.architecture, ["x86_64", "arm64"]);
    matches(
      "LambdaConfig",
      "functionName",
      options.functionName,
      /^[A-Za-z0-9_-]{1,64}$/,
      "1-64 letters, digits, '-' or '_'",
    );
    envNames("LambdaConfig", "environment", options.environment);
    this.memory = options.memory ?? 1024;
    this.timeout = options.timeout ?? 300;
    this.concurrency = options.concurrency;
    this.ephemeralStorage = options.ephemeralStorage ?? 512;
    this.architecture = options.architecture ?? "x86_64";
    this.functionName = options.functionName;
    this.environment = [...(options.environment ?? [])];
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
 * import { CloudFunctionConfig } from "./config.ts";
 * assert.ok(new CloudFunctionConfig().service === "cloud-function");
 * ```
 */
export class CloudFunctionConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind = "serverless" as const;
  /** Always `"cloud-function"`. */
  readonly service = "cloud-function" as const;
  /** Only GCP. */
  readonly clouds: readonly Cloud[] = ["gcp"];
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
    intInRange("CloudFunctionConfig", "memory", options.memory, 128, 32_768, "MB");
    intInRange("CloudFunctionConfig", "timeout", options.timeout, 1, 3600, "seconds");
    intInRange("CloudFunctionConfig", "maxInstances", options.maxInstances, 1, 1000);
    this.memory = options.memory ?? 1024;
    this.timeout = options.timeout ?? 300;
    this.maxInstances = options.maxInstances ?? 100;
  }
}

/** Options for {@linkcode AzureFunctionConfig}. */
export interface AzureFunctionConfigOptions {
  /** The hosting plan. @default {"flex"} */
  plan?: "consumption" | "flex" | "premium";
  /** Instance memory in MB: 512, 2048 or 4096 on Flex Consumption. @default {2048} */
  memory?: number;
  /** Timeout in seconds: at most 600 on Consumption, 3600 otherwise (unbounded is not offered). @default {300} */
  timeout?: number;
}

/**
 * An Azure Function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureFunctionConfig } from "./config.ts";
 * assert.ok(new AzureFunctionConfig().plan === "flex");
 * ```
 */
export class AzureFunctionConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind = "serverless" as const;
  /** Always `"azure-function"`. */
  readonly service = "azure-function" as const;
  /** Only Azure. */
  readonly clouds: readonly Cloud[] = ["azure"];
  /** The hosting plan. */
  readonly plan: "consumption" | "flex" | "premium";
  /** Instance memory in MB. */
  readonly memory: number;
  /** Timeout in seconds. */
  readonly timeout: number;
  /**
   * Builds it.
   * @param options Plan, memory and timeout.
   * @throws {RangeError} When a field is outside the plan's limits.
   */
  constructor(options: AzureFunctionConfigOptions = {}) {
    oneOf("AzureFunctionConfig", "plan", options.plan, ["consumption", "flex", "premium"]);
    this.plan = options.plan ?? "flex";
    if (options.memory !== undefined && this.plan === "flex") {
      oneOf("AzureFunctionConfig", "memory", String(options.memory), ["512", "2048", "4096"]);
    }
    intInRange("AzureFunctionConfig", "memory", options.memory, 512, 14_336, "MB");
    intInRange(
      "AzureFunctionConfig",
      "timeout",
      options.timeout,
      1,
      this.plan === "consumption" ? 600 : 3600,
      "seconds",
    );
    this.memory = options.memory ?? 2048;
    this.timeout = options.timeout ?? 300;
  }
}

/** What the VM configs share: how to reach the machine over SSH and run tasks there. */
export interface VMConfigOptions {
  /** The host to reach over SSH; when absent the instance is resolved by id at run time. @default {undefined} */
  host?: string;
  /** The SSH port. @default {22} */
  port?: number;
  /** The SSH user. @default {"glacier"} */
  user?: string;
  /** A private key file; by default the SSH agent is used. Never copied into payloads. @default {undefined} */
  keyFile?: string;
  /** A known_hosts file to check the host key against; host keys are always checked. @default {ssh's own} */
  knownHostsFile?: string;
  /** Where the project is on the machine, when not at the same path as here. @default {undefined} */
  remoteDir?: string;
  /** The Deno executable on the machine. @default {"deno"} */
  deno?: string;
}

/**
 * What the VM configs share. Subclasses add the cloud's machine fields.
 */
export abstract class VMConfigBase implements ExecutionConfigBase {
  /** Always `"vm"`. */
  readonly kind = "vm" as const;
  /** The cloud service. */
  abstract readonly service: string;
  /** The clouds whose providers can bind it. */
  abstract readonly clouds: readonly Cloud[];
  /** The SSH host. */
  readonly host?: string;
  /** The SSH port. */
  readonly port: number;
  /** The SSH user. */
  readonly user: string;
  /** The private key file. */
  readonly keyFile?: string;
  /** The known_hosts file. */
  readonly knownHostsFile?: string;
  /** Where the project is on the machine. */
  readonly remoteDir?: string;
  /** The Deno executable on the machine. */
  readonly deno: string;

  /**
   * Checks and keeps the SSH fields.
   *
   * @param owner The config's name, for errors.
   * @param options The SSH fields.
   * @throws {RangeError} When the host or port are malformed.
   */
  constructor(owner: string, options: VMConfigOptions) {
    intInRange(owner, "port", options.port, 1, 65_535);
    matches(owner, "host", options.host, /^[A-Za-z0-9.:[\]-]+$/, "a host name or IP address");
    matches(owner, "user", options.user, /^[a-z_][a-z0-9_.-]{0,31}$/i, "a user name");
    this.host = options.host;
    this.port = options.port ?? 22;
    this.user = options.user ?? "glacier";
    this.keyFile = options.keyFile;
    this.knownHostsFile = options.knownHostsFile;
    this.remoteDir = options.remoteDir;
    this.deno = options.deno ?? "deno";
  }
}

/** Options for {@linkcode EC2Config}. */
export interface EC2ConfigOptions extends VMConfigOptions {
  /** The instance type, such as `m7i.large`. @default {"m7i.large"} */
  instanceType?: string;
  /** An existing instance id (`i-…`). @default {undefined} */
  instanceId?: string;
}

/**
 * An Amazon EC2 instance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EC2Config } from "./config.ts";
 * assert.ok(new EC2Config({ instanceType: "c7g.xlarge" }).service === "ec2");
 * ```
 */
export class EC2Config extends VMConfigBase {
  /** Always `"ec2"`. */
  override readonly service = "ec2" as const;
  /** Only AWS. */
  override readonly clouds: readonly Cloud[] = ["aws"];
  /** The instance type. */
  readonly instanceType: string;
  /** An existing instance id. */
  readonly instanceId?: string;
  /**
   * Builds it.
   * @param options The instance and how to reach it.
   * @throws {RangeError} When the instance type, id or port are malformed.
   */
  constructor(options: EC2ConfigOptions = {}) {
    super("EC2Config", options);
    matches(
      "EC2Config",
      "instanceType",
      options.instanceType,
      /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
      'an EC2 instance type such as "m7i.large"',
    );
    matches(
      "EC2Config",
      "instanceId",
      options.instanceId,
      /^i-[0-9a-f]{8,17}$/,
      'an instance id such as "i-0abc12345def67890"',
    );
    this.instanceType = options.instanceType ?? "m7i.large";
    this.instanceId = options.instanceId;
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
 * import { ComputeEngineConfig } from "./config.ts";
 * assert.ok(new ComputeEngineConfig().zone === "us-central1-a");
 * ```
 */
export class ComputeEngineConfig extends VMConfigBase {
  /** Always `"compute-engine"`. */
  override readonly service = "compute-engine" as const;
  /** Only GCP. */
  override readonly clouds: readonly Cloud[] = ["gcp"];
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
    this.machineType = options.machineType ?? "e2-standard-4";
    this.zone = options.zone ?? "us-central1-a";
  }
}

/** Options for {@linkcode AzureVMConfig}. */
export interface AzureVMConfigOptions extends VMConfigOptions {
  /** The VM size, such as `Standard_D4s_v5`. @default {"Standard_D4s_v5"} */
  size?: string;
}

/**
 * An Azure virtual machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureVMConfig } from "./config.ts";
 * assert.ok(new AzureVMConfig().size === "Standard_D4s_v5");
 * ```
 */
export class AzureVMConfig extends VMConfigBase {
  /** Always `"azure-vm"`. */
  override readonly service = "azure-vm" as const;
  /** Only Azure. */
  override readonly clouds: readonly Cloud[] = ["azure"];
  /** The VM size. */
  readonly size: string;
  /**
   * Builds it.
   * @param options The size and how to reach it.
   * @throws {RangeError} When the size or port are malformed.
   */
  constructor(options: AzureVMConfigOptions = {}) {
    super("AzureVMConfig", options);
    matches(
      "AzureVMConfig",
      "size",
      options.size,
      /^(Standard|Basic)_[A-Za-z0-9_]+$/,
      'a VM size such as "Standard_D4s_v5"',
    );
    this.size = options.size ?? "Standard_D4s_v5";
  }
}

/** A new job cluster for Databricks. */
export interface DatabricksNewCluster {
  /** The runtime, such as `15.4.x-scala2.12`. */
  sparkVersion: string;
  /** The node type, such as `i3.xlarge`. */
  nodeTypeId: string;
  /** Worker count, 0–1000. */
  numWorkers: number;
}

/** Options for {@linkcode DatabricksConfig}. */
export interface DatabricksConfigOptions {
  /** An existing all-purpose cluster. Give this or `newCluster`. @default {undefined} */
  clusterId?: string;
  /** A job cluster created for each run. @default {undefined} */
  newCluster?: DatabricksNewCluster;
  /** The workspace URL; by default `DATABRICKS_HOST`. Never holds the token. @default {undefined} */
  host?: string;
  /** The pricing SKU, for cost estimates. @default {"jobs-compute"} */
  sku?: "jobs-compute" | "all-purpose" | "jobs-light";
  /** Node count assumed by cost estimates for an existing cluster. @default {2} */
  nodes?: number;
}

/**
 * A Databricks cluster, reached through the Jobs API.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabricksConfig } from "./config.ts";
 * assert.ok(new DatabricksConfig({ clusterId: "0101-123456-abcdefgh" }).service === "databricks");
 * ```
 */
export class DatabricksConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind = "cluster" as const;
  /** Always `"databricks"`. */
  readonly service = "databricks" as const;
  /** Databricks runs on all three clouds. */
  readonly clouds: readonly Cloud[] = ["aws", "gcp", "azure"];
  /** An existing cluster. */
  readonly clusterId?: string;
  /** A job cluster spec. */
  readonly newCluster?: DatabricksNewCluster;
  /** The workspace URL. */
  readonly host?: string;
  /** The pricing SKU. */
  readonly sku: "jobs-compute" | "all-purpose" | "jobs-light";
  /** Node count for estimates. */
  readonly nodes: number;
  /**
   * Builds it.
   * @param options The cluster to run on.
   * @throws {TypeError} When neither or both of `clusterId` and `newCluster` are given.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: DatabricksConfigOptions) {
    if ((options?.clusterId === undefined) === (options?.newCluster === undefined)) {
      throw new TypeError(
        'DatabricksConfig: give exactly one of "clusterId" (an existing cluster) or "newCluster" (a job cluster spec)',
      );
    }
    matches(
      "DatabricksConfig",
      "clusterId",
      options.clusterId,
      /^[A-Za-z0-9-]{3,64}$/,
      'a cluster id such as "0101-123456-abcdefgh"',
    );
    if (options.newCluster) {
      required(
        "DatabricksConfig",
        "newCluster.sparkVersion",
        options.newCluster.sparkVersion,
        'e.g. "15.4.x-scala2.12"',
      );
      required(
        "DatabricksConfig",
        "newCluster.nodeTypeId",
        options.newCluster.nodeTypeId,
        'e.g. "i3.xlarge"',
      );
      matches(
        "DatabricksConfig",
        "newCluster.sparkVersion",
        options.newCluster.sparkVersion,
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'a Databricks runtime version such as "15.4.x-scala2.12"',
      );
      matches(
        "DatabricksConfig",
        "newCluster.nodeTypeId",
        options.newCluster.nodeTypeId,
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'a node type such as "i3.xlarge"',
      );
      intInRange("DatabricksConfig", "newCluster.numWorkers", options.newCluster.numWorkers, 0, 1000);
    }
    if (options.host !== undefined) validUrl("DatabricksConfig", "host", options.host);
    oneOf("DatabricksConfig", "sku", options.sku, ["jobs-compute", "all-purpose", "jobs-light"]);
    intInRange("DatabricksConfig", "nodes", options.nodes, 1, 1000);
    this.clusterId = options.clusterId;
    this.newCluster = options.newCluster ? { ...options.newCluster } : undefined;
    this.host = options.host;
    this.sku = options.sku ?? "jobs-compute";
    this.nodes = options.newCluster ? options.newCluster.numWorkers + 1 : options.nodes ?? 2;
  }
}

/** Options for {@linkcode SparkConfig}. */
export interface SparkConfigOptions {
  /** The Spark master URL of a self-managed cluster, such as `spark://host:7077`. @default {undefined} */
  master?: string;
  /** Executor count. @default {2} */
  numExecutors?: number;
  /** Memory per executor in MB, 512–262144. @default {4096} */
  executorMemory?: number;
}

/**
 * A Spark cluster of your own, or the cloud's managed Spark (EMR on AWS,
 * Dataproc on GCP) when no `master` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SparkConfig } from "./config.ts";
 * assert.ok(new SparkConfig().numExecutors === 2);
 * ```
 */
export class SparkConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind = "cluster" as const;
  /** Always `"spark"`. */
  readonly service = "spark" as const;
  /** Any cloud. */
  readonly clouds: readonly Cloud[] = ["aws", "gcp", "azure"];
  /** The master URL. */
  readonly master?: string;
  /** Executor count. */
  readonly numExecutors: number;
  /** Memory per executor in MB. */
  readonly executorMemory: number;
  /**
   * Builds it.
   * @param options The cluster's shape.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: SparkConfigOptions = {}) {
    matches(
      "SparkConfig",
      "master",
      options.master,
      /^(spark|yarn|k8s|local)(:\/\/.*|\[.*\])?$/,
      'a Spark master such as "spark://host:7077" or "yarn"',
    );
    intInRange("SparkConfig", "numExecutors", options.numExecutors, 1, 10_000);
    intInRange("SparkConfig", "executorMemory", options.executorMemory, 512, 262_144, "MB");
    this.master = options.master;
    this.numExecutors = options.numExecutors ?? 2;
    this.executorMemory = options.executorMemory ?? 4096;
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
 * import { DataprocConfig } from "./config.ts";
 * assert.ok(new DataprocConfig({ cluster: "etl-cluster" }).nodes === 3);
 * ```
 */
export class DataprocConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind = "cluster" as const;
  /** Always `"dataproc"`. */
  readonly service = "dataproc" as const;
  /** Only GCP. */
  readonly clouds: readonly Cloud[] = ["gcp"];
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
    intInRange("DataprocConfig", "nodes", options.nodes, 1, 1000);
    matches(
      "DataprocConfig",
      "machineType",
      options.machineType,
      /^[a-z0-9]+-[a-z0-9-]+$/,
      'a machine type such as "n2-standard-4"',
    );
    this.region = options.region;
    this.nodes = options.nodes ?? 3;
    this.machineType = options.machineType ?? "n2-standard-4";
  }
}

/** Options for {@linkcode EMRConfig}. */
export interface EMRConfigOptions {
  /** The cluster (job flow) id, `j-…`. */
  clusterId: string;
  /** Instance type of each node, for cost estimates. @default {"m7g.xlarge"} */
  instanceType?: string;
  /** Node count, for cost estimates. @default {3} */
  nodes?: number;
}

/**
 * An Amazon EMR cluster, reached through job-flow steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EMRConfig } from "./config.ts";
 * assert.ok(new EMRConfig({ clusterId: "j-2AXXXXXXGAPLF" }).service === "emr");
 * ```
 */
export class EMRConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind = "cluster" as const;
  /** Always `"emr"`. */
  readonly service = "emr" as const;
  /** Only AWS. */
  readonly clouds: readonly Cloud[] = ["aws"];
  /** The job flow id. */
  readonly clusterId: string;
  /** Instance type. */
  readonly instanceType: string;
  /** Node count. */
  readonly nodes: number;
  /**
   * Builds it.
   * @param options The cluster.
   * @throws {TypeError} When the cluster id is missing.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: EMRConfigOptions) {
    this.clusterId = required(
      "EMRConfig",
      "clusterId",
      options?.clusterId,
      'the EMR cluster id, such as "j-2AXXXXXXGAPLF"',
    );
    matches(
      "EMRConfig",
      "clusterId",
      this.clusterId,
      /^j-[A-Z0-9]{8,16}$/,
      'an EMR cluster id such as "j-2AXXXXXXGAPLF"',
    );
    intInRange("EMRConfig", "nodes", options.nodes, 1, 1000);
    this.instanceType = options.instanceType ?? "m7g.xlarge";
    this.nodes = options.nodes ?? 3;
  }
}

/** A serverless function config. */
export type ServerlessConfig = LambdaConfig | CloudFunctionConfig | AzureFunctionConfig;
/** A virtual machine config. */
export type VMConfig = EC2Config | ComputeEngineConfig | AzureVMConfig;
/** A cluster config. */
export type ClusterConfig = DatabricksConfig | SparkConfig | DataprocConfig | EMRConfig;
/** Any execution config. */
export type ExecutionConfig = ServerlessConfig | VMConfig | ClusterConfig;

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: fall back to the default
  }
}

function validUrl(owner: string, field: string, value: string): void {
  try {
    new URL(value);
  } catch {
    throw new RangeError(
      `${owner}: "${field}" is ${JSON.stringify(value)}, expected a URL such as "http://127.0.0.1:4569"`,
    );
  }
}

const SERVICE_CLOUD: Readonly<Record<string, Exclude<Cloud, "local">>> = {
  lambda: "aws",
  ec2: "aws",
  emr: "aws",
  "cloud-function": "gcp",
  "compute-engine": "gcp",
  dataproc: "gcp",
  "azure-function": "azure",
  "azure-vm": "azure",
};

/**
 * The one cloud a service belongs to, or undefined for services of any cloud
 * (local, Databricks, Spark).
 *
 * @param service The service, such as `lambda`.
 * @returns The cloud.
 */
export function serviceCloud(service: string): Exclude<Cloud, "local"> | undefined {
  return SERVICE_CLOUD[service];
}
