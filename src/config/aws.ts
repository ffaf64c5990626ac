/**
 * Amazon Web Services: the provider config and the Lambda, EC2 and EMR
 * execution configs.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { envNames, matches, oneOf, required, stagingPrefix } from "../_validate.ts";
import { VMConfigBase, type VMConfigOptions } from "./vm.ts";
import { envVar, inRange, validUrl } from "./_util.ts";
import { serviceClouds, SERVICES } from "./services.ts";

const LAMBDA = SERVICES.lambda;
const EC2 = SERVICES.ec2;
const EMR = SERVICES.emr;

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
 * import { AwsConfig } from "./aws.ts";
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
 * import { LambdaConfig } from "./aws.ts";
 * assert.ok(new LambdaConfig({ memory: 2048 }).timeout === 300);
 * ```
 */
export class LambdaConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind: "serverless" = LAMBDA.kind;
  /** Always `"lambda"`. */
  readonly service = "lambda" as const;
  /** Only AWS. */
  readonly clouds: readonly Cloud[] = serviceClouds("lambda");
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
    inRange("LambdaConfig", "memory", options.memory, LAMBDA.limits.memory);
    inRange("LambdaConfig", "timeout", options.timeout, LAMBDA.limits.timeout);
    inRange("LambdaConfig", "concurrency", options.concurrency, LAMBDA.limits.concurrency);
    inRange("LambdaConfig", "ephemeralStorage", options.ephemeralStorage, LAMBDA.limits.ephemeralStorage);
    oneOf("LambdaConfig", "architecture", options.architecture, LAMBDA.choices.architecture);
    matches(
      "LambdaConfig",
      "functionName",
      options.functionName,
      /^[A-Za-z0-9_-]{1,64}$/,
      "1-64 letters, digits, '-' or '_'",
    );
    envNames("LambdaConfig", "environment", options.environment);
    this.memory = options.memory ?? LAMBDA.defaults.memory;
    this.timeout = options.timeout ?? LAMBDA.defaults.timeout;
    this.concurrency = options.concurrency;
    this.ephemeralStorage = options.ephemeralStorage ?? LAMBDA.defaults.ephemeralStorage;
    this.architecture = options.architecture ?? LAMBDA.defaults.architecture;
    this.functionName = options.functionName;
    this.environment = [...(options.environment ?? [])];
  }
}

/** Options for {@linkcode EC2Config}. */
export interface EC2ConfigOptions extends VMConfigOptions {
  /** The instance type, such as `m7i.large`. @default {"m7i.large"} */
  instanceType?: string;
  /** An existing instance id (`i-…`). @default {undefined} */
  instanceId?: string;
  /** The subnet a generated instance is launched in (`subnet-…`). @default {the default VPC's default subnet} */
  subnetId?: string;
  /**
   * Whether a generated instance gets a public address (an Elastic IP); false
   * for a private subnet that SSH reaches through a VPN or bastion. @default {true}
   */
  publicIp?: boolean;
}

/**
 * An Amazon EC2 instance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EC2Config } from "./aws.ts";
 * assert.ok(new EC2Config({ instanceType: "c7g.xlarge" }).service === "ec2");
 * ```
 */
export class EC2Config extends VMConfigBase {
  /** Always `"ec2"`. */
  override readonly service = "ec2" as const;
  /** Only AWS. */
  override readonly clouds: readonly Cloud[] = serviceClouds("ec2");
  /** The instance type. */
  readonly instanceType: string;
  /** An existing instance id. */
  readonly instanceId?: string;
  /** The subnet of a generated instance. */
  readonly subnetId?: string;
  /** Whether a generated instance gets a public address. */
  readonly publicIp: boolean;
  /**
   * Builds it.
   * @param options The instance and how to reach it.
   * @throws {RangeError} When the instance type, id, subnet or port are malformed.
   * @throws {TypeError} When `publicIp` is not a boolean.
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
    matches(
      "EC2Config",
      "subnetId",
      options.subnetId,
      /^subnet-[0-9a-f]{8,17}$/,
      'a subnet id such as "subnet-0abc12345def67890"',
    );
    if (options.publicIp !== undefined && typeof options.publicIp !== "boolean") {
      throw new TypeError(
        `EC2Config: "publicIp" must be true or false, got ${JSON.stringify(options.publicIp)}`,
      );
    }
    this.instanceType = options.instanceType ?? EC2.defaults.instanceType;
    this.instanceId = options.instanceId;
    this.subnetId = options.subnetId;
    this.publicIp = options.publicIp ?? true;
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
 * import { EMRConfig } from "./aws.ts";
 * assert.ok(new EMRConfig({ clusterId: "j-2AXXXXXXGAPLF" }).service === "emr");
 * ```
 */
export class EMRConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind: "cluster" = EMR.kind;
  /** Always `"emr"`. */
  readonly service = "emr" as const;
  /** Only AWS. */
  readonly clouds: readonly Cloud[] = serviceClouds("emr");
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
    inRange("EMRConfig", "nodes", options.nodes, EMR.limits.nodes);
    this.instanceType = options.instanceType ?? EMR.defaults.instanceType;
    this.nodes = options.nodes ?? EMR.defaults.nodes;
  }
}
