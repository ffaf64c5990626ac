// The AWS resources of a pipeline, decided once: which resources exist, with
// which properties and which references between them. Terraform,
// CloudFormation and Pulumi print this stack and decide nothing themselves,
// so a fix to a resource is made here once.
import { GlacierError } from "../errors.ts";
import { SERVICES } from "../config/services.ts";
import {
  SSH_CIDR_INPUT,
  SSH_INPUT_DESCRIPTIONS,
  SSH_PUBLIC_KEY_INPUT,
  vmAccess,
  vmBootScript,
  vmHostHint,
} from "./_vm.ts";
import { type ExecutorModel, type InfraModel, remoteExecutors, taskTimeoutSeconds } from "./_model.ts";
import {
  executorStatements,
  type IamStatement,
  orchestratorStatements,
  s3Statements,
  secretVariables,
} from "./iam.ts";
import { SECRET_ENV_PREFIX, secretId, secretName } from "./_secret_env.ts";

/** A reference to an attribute of another resource of the stack. */
export interface AwsRef {
  readonly ref: AwsResource["kind"];
  readonly id: string;
  readonly attr: "arn" | "name" | "id" | "key" | "privateIp" | "publicIp" | "vpcId" | "subnetId";
}

/** A value the person applying the stack gives (a Terraform variable, a CloudFormation parameter, Pulumi config). */
export interface AwsInput {
  readonly input: string;
}

/** What the person applying must give. */
export interface AwsInputSpec {
  /** A snake_case name: `ssh_cidr`. */
  readonly name: string;
  readonly description: string;
  readonly default?: string;
  /** A secret: never shown, never written. */
  readonly secret?: boolean;
  /** An IPv4 CIDR (the tools check its form before anything is created). */
  readonly cidr?: boolean;
}

/** A text value: literal, or an input. */
export type AwsText = string | AwsInput;

/** A function environment value: literal, an input, or another resource's attribute (a secret's ARN). */
export type AwsEnvValue = AwsText | AwsRef;

/** A bucket the stack creates (the staging bucket). */
export interface AwsBucket {
  readonly kind: "bucket";
  readonly id: string;
  readonly name: string;
  readonly comment: string;
  /** Objects under this prefix expire after `days`. */
  readonly expire: { readonly prefix: string; readonly days: number };
}

/** A bucket that exists already and is only referred to. */
export interface AwsExistingBucket {
  readonly kind: "existingBucket";
  readonly id: string;
  readonly name: string;
  readonly comment: string;
}

/** A `glacier build` artifact uploaded to S3, so Lambda reads its code from S3 (no 50 MB direct-upload cap). */
export interface AwsArtifactObject {
  readonly kind: "artifactObject";
  readonly id: string;
  readonly bucket: AwsRef;
  readonly key: string;
  /** The artifact's path relative to the project root (where `glacier build` writes it). */
  readonly source: string;
}

/** A CloudWatch log group. */
export interface AwsLogGroup {
  readonly kind: "logGroup";
  readonly id: string;
  readonly name: string;
  readonly retentionDays: number;
}

/** Where a function's code is. */
export interface AwsCode {
  readonly bucket: AwsRef | AwsInput;
  readonly key: AwsRef | string;
  /** The artifact, relative to the project root, whose hash redeploys the function when it changes; absent when the printer cannot read it. */
  readonly hashOf?: string;
}

/** A Lambda function. */
export interface AwsFunction {
  readonly kind: "function";
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly comment: string;
  readonly role: AwsRef;
  readonly code: AwsCode;
  /** Lambda's runtime identifier (the service table's). */
  readonly runtime: string;
  /** The handler the runtime starts. */
  readonly handler: string;
  readonly architecture: "x86_64";
  readonly memory: number;
  readonly timeout: number;
  readonly ephemeralStorage: number;
  readonly environment: Readonly<Record<string, AwsEnvValue>>;
  /** The secrets its runtime reads at start (named in `environment` as `GLACIER_SECRET_<NAME>`): they need a value first. */
  readonly secrets: readonly AwsRef[];
  readonly logGroup: AwsRef;
}

/**
 * A Secrets Manager secret holding the value of a function's environment
 * variable, given at apply time; the functions get its ARN, never the value,
 * and their roles may read exactly it. Encrypted with the AWS managed key.
 */
export interface AwsSecret {
  readonly kind: "secret";
  /** `env_<name>`, also the input's name. */
  readonly id: string;
  /** `glacier/<pipeline>/<NAME>`. */
  readonly name: string;
  readonly description: string;
  /** The variable whose value it holds. */
  readonly variable: string;
  readonly value: AwsInput;
}

/** An IAM role with one inline least-privilege policy. */
export interface AwsRole {
  readonly kind: "role";
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The service that assumes it: `lambda.amazonaws.com`. */
  readonly service: string;
  readonly policyName: string;
  readonly statements: readonly IamStatement[];
}

/** An instance profile of a role. */
export interface AwsInstanceProfile {
  readonly kind: "instanceProfile";
  readonly id: string;
  readonly name: string;
  readonly role: AwsRef;
}

/** The latest Amazon Linux 2023 AMI of one architecture, read from its public SSM parameter. */
export interface AwsAmi {
  readonly kind: "ami";
  readonly id: string;
  readonly architecture: "x86_64" | "arm64";
  readonly parameter: string;
}

/**
 * Where an instance is launched, looked up (never created): the subnet the
 * config names, or the default VPC's default subnet (the first by id). Its
 * `vpcId` is the VPC its security group belongs to.
 */
export interface AwsNetwork {
  readonly kind: "network";
  readonly id: string;
  /** The subnet the config names; absent for the default VPC's default subnet. */
  readonly subnetId?: string;
}

/** A security group admitting SSH from one CIDR the person applying gives; all egress (Deno, npm, S3). */
export interface AwsSecurityGroup {
  readonly kind: "securityGroup";
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The VPC: its network's `vpcId`. */
  readonly vpc: AwsRef;
  readonly ssh: { readonly port: number; readonly from: AwsInput };
}

/** The EC2 key pair of the stack's VMs, imported from a public key the person applying gives. */
export interface AwsKeyPair {
  readonly kind: "keyPair";
  readonly id: string;
  readonly name: string;
  readonly publicKey: AwsInput;
}

/** An Elastic IP on an instance: a public address that stays through stops and starts. */
export interface AwsElasticIp {
  readonly kind: "eip";
  readonly id: string;
  readonly name: string;
  readonly instance: AwsRef;
}

/** An EC2 instance the stack creates. */
export interface AwsInstance {
  readonly kind: "instance";
  readonly id: string;
  readonly name: string;
  readonly comment: string;
  readonly ami: AwsRef;
  readonly instanceType: string;
  readonly profile: AwsRef;
  readonly keyName: AwsRef;
  /** The subnet: its network's `subnetId`. */
  readonly subnet: AwsRef;
  /** Whether the network is the default VPC's (CloudFormation, which cannot look it up, lets EC2 pick). */
  readonly defaultSubnet: boolean;
  readonly securityGroups: readonly AwsRef[];
  /** The cloud-init user data: installs Deno, makes the SSH user and the project folder. */
  readonly userData: string;
}

/** An EC2 instance that exists already. */
export interface AwsExistingInstance {
  readonly kind: "existingInstance";
  readonly id: string;
  readonly instanceId: string;
  readonly comment: string;
}

/** A managed policy for someone outside the stack to attach (whoever runs the local tasks). */
export interface AwsManagedPolicy {
  readonly kind: "managedPolicy";
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly comment: string;
  readonly statements: readonly IamStatement[];
}

/** Every AWS resource kind the stack holds. */
export type AwsResource =
  | AwsBucket
  | AwsExistingBucket
  | AwsArtifactObject
  | AwsLogGroup
  | AwsSecret
  | AwsFunction
  | AwsRole
  | AwsInstanceProfile
  | AwsAmi
  | AwsNetwork
  | AwsSecurityGroup
  | AwsKeyPair
  | AwsElasticIp
  | AwsInstance
  | AwsExistingInstance
  | AwsManagedPolicy;

/** The name suffix of each kind in CloudFormation logical ids and Pulumi variables. */
export const RESOURCE_SUFFIX: Record<AwsResource["kind"], string> = {
  bucket: "Bucket",
  existingBucket: "Bucket",
  artifactObject: "Artifact",
  logGroup: "LogGroup",
  secret: "Secret",
  function: "Function",
  role: "Role",
  instanceProfile: "InstanceProfile",
  ami: "Ami",
  network: "Network",
  securityGroup: "SecurityGroup",
  keyPair: "KeyPair",
  eip: "Eip",
  instance: "Instance",
  existingInstance: "Instance",
  managedPolicy: "Policy",
};

/** A stack output. */
export interface AwsOutput {
  /** snake_case. */
  readonly name: string;
  readonly description: string;
  readonly value: AwsRef;
}

/** The AWS stack of a pipeline. */
export interface AwsStack {
  readonly inputs: readonly AwsInputSpec[];
  /** In dependency order: every resource after the ones it refers to. */
  readonly resources: readonly AwsResource[];
  readonly outputs: readonly AwsOutput[];
  /** Bucket name to the resource that stands for it, for IAM references. */
  readonly bucketIds: Readonly<Record<string, string>>;
}

/** What the format can do, which decides how code reaches Lambda. */
export interface AwsStackOptions {
  /**
   * Whether the tool uploads local files (Terraform, Pulumi): then artifacts
   * go to the staging bucket as objects; else (CloudFormation) the person
   * applying uploads them to a bucket given as the `artifact_bucket` input.
   */
  readonly uploads: boolean;
}

const LAMBDA = SERVICES.lambda;

/** An input reference. */
export const input = (name: string): AwsInput => ({ input: name });
const ref = (kind: AwsResource["kind"], id: string, attr: AwsRef["attr"] = "arn"): AwsRef => ({
  ref: kind,
  id,
  attr,
});

/** The input name of a function environment variable given at apply time (its secret's id). */
export const envInput = (name: string): string => secretId(name);

/** The S3 key an executor's artifact has in the artifact bucket. */
export function artifactKey(model: InfraModel, e: ExecutorModel, uploads: boolean): string {
  return uploads
    ? `${model.staging.prefix}artifacts/${e.resource.name}.zip`
    : `glacier/${model.pipeline}/${e.resource.name}.zip`;
}

/** The orchestration role's name. */
export function orchestratorName(model: InfraModel): string {
  return `glacier-${model.pipeline}-orchestrator`.toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(0, 64);
}

const tasksOf = (e: ExecutorModel) => e.tasks.map((t) => t.node.id).join(", ");

// Graviton families carry a "g" right after their generation: c7g, m6gd, t4g, x2gd, im4gn, a1.
const ARM_FAMILY = /^(a1|[a-z]+[0-9]+g[a-z0-9]*)\./;

/**
 * The CPU architecture of an EC2 instance type.
 *
 * @param instanceType An instance type such as `c7g.xlarge`.
 * @returns `arm64` for Graviton families, else `x86_64`.
 */
export function instanceArchitecture(instanceType: string): "x86_64" | "arm64" {
  return ARM_FAMILY.test(instanceType) ? "arm64" : "x86_64";
}

/** The Lambda timeout in seconds: the config's, else the longest task timeout (at least the config's default). */
export function lambdaTimeout(model: InfraModel, e: ExecutorModel): number {
  const configured = typeof e.config.timeout === "number" ? e.config.timeout : undefined;
  const longest = taskTimeoutSeconds(e);
  const longestTask = e.tasks.find((t) =>
    typeof t.options.timeout === "number" &&
    Math.ceil(t.options.timeout / 1000) === longest
  );
  if (longest !== undefined && longest > LAMBDA.limits.timeout.max) {
    throw new GlacierError(
      "USER:GENERATE_TIMEOUT",
      `Pipeline "${model.pipeline}": task "${longestTask?.node.task.name}" (node "${longestTask?.node.id}") has timeout ${longest} s, over Lambda's ${LAMBDA.limits.timeout.max} s cap for resource "${e.resource.name}"; lower the task's timeout or bind it to provider.vm() or provider.cluster()`,
    );
  }
  if (configured !== undefined && longest !== undefined && configured < longest) {
    throw new GlacierError(
      "USER:GENERATE_TIMEOUT",
      `Pipeline "${model.pipeline}": task "${longestTask?.node.task.name}" (node "${longestTask?.node.id}") has timeout ${longest} s, longer than LambdaConfig({ timeout: ${configured} }) of resource "${e.resource.name}", so Lambda would stop it first; raise the config's timeout to ${longest} or lower the task's`,
    );
  }
  return configured ?? Math.max(LAMBDA.defaults.timeout, longest ?? 0);
}

/**
 * Decides the AWS stack of a model.
 *
 * @param model The infrastructure model (AWS).
 * @param options What the format can do.
 * @returns The stack.
 * @throws {GlacierError} `USER:GENERATE_ARCHITECTURE` for an arm64 Lambda (`glacier build` builds x86_64 only);
 *   `USER:GENERATE_TIMEOUT` when a task's timeout does not fit its Lambda function.
 */
export function awsStack(model: InfraModel, options: AwsStackOptions): AwsStack {
  const remote = remoteExecutors(model);
  // On AWS the functions are Lambda's, the VMs EC2's; every other executor runs on instances with a profile.
  const lambdas = remote.filter((e) => e.resource.kind === "serverless");
  const profiled = remote.filter((e) => e.resource.kind !== "serverless");
  const vms = remote.filter((e) => e.resource.kind === "vm");
  const locals = model.executors.filter((e) => e.resource.kind === "local");
  const inputs: AwsInputSpec[] = [];
  const resources: AwsResource[] = [];
  const outputs: AwsOutput[] = [];
  const staging = model.staging;

  for (const e of lambdas) {
    const arch = String(e.config.architecture ?? LAMBDA.defaults.architecture);
    if (arch !== "x86_64") {
      throw new GlacierError(
        "USER:GENERATE_ARCHITECTURE",
        `Pipeline "${model.pipeline}": resource "${e.resource.name}" asks for an ${arch} Lambda function, which \`glacier build\` cannot build (it packages x86_64 Deno and native modules); use LambdaConfig({ architecture: "x86_64" })`,
      );
    }
  }

  const bucketIds: Record<string, string> = {};
  for (const b of model.buckets) {
    bucketIds[b.name] = b.id;
    resources.push({
      kind: "existingBucket",
      id: b.id,
      name: b.name,
      comment: `Existing data bucket: ${
        [...b.reads.map((u) => `reads ${u}`), ...b.writes.map((u) => `writes ${u}`)].join(", ")
      }`,
    });
  }
  bucketIds[staging.bucket] = "staging";
  resources.push(
    staging.configured
      ? {
        kind: "existingBucket",
        id: "staging",
        name: staging.bucket,
        comment:
          `The staging bucket AwsConfig({ stagingBucket }) names: it must exist (pipelines may share it, each under its own prefix); expire ${staging.prefix}runs/ with a lifecycle rule of your own`,
      }
      : {
        kind: "bucket",
        id: "staging",
        name: staging.bucket,
        comment: "Data handed between executors (and, in Terraform and Pulumi, the function code).",
        expire: { prefix: `${staging.prefix}runs/`, days: staging.expireDays },
      },
  );
  const stagingRef = ref(staging.configured ? "existingBucket" : "bucket", "staging", "name");

  if (lambdas.length && !options.uploads) {
    inputs.push({
      name: "artifact_bucket",
      description:
        `The S3 bucket holding the glacier build artifacts, uploaded under glacier/${model.pipeline}/ (same region as the stack)`,
    });
  }
  const created = vms.filter((v) => typeof v.config.instanceId !== "string");
  if (created.length) {
    inputs.push(
      { name: SSH_PUBLIC_KEY_INPUT, description: SSH_INPUT_DESCRIPTIONS[SSH_PUBLIC_KEY_INPUT] },
      { name: SSH_CIDR_INPUT, description: SSH_INPUT_DESCRIPTIONS[SSH_CIDR_INPUT], cidr: true },
    );
  }
  const envNames = [...new Set(lambdas.flatMap(secretVariables))].sort();
  for (const n of envNames) {
    inputs.push({
      name: envInput(n),
      description: `The value of ${n} for the pipeline's functions (stored in Secrets Manager as ${
        secretName(model.pipeline, n)
      })`,
      secret: true,
    });
    resources.push({
      kind: "secret",
      id: secretId(n),
      name: secretName(model.pipeline, n),
      description: `Glacier ${model.pipeline}: the value of ${n}, read by ${
        lambdas.filter((e) => secretVariables(e).includes(n)).map((e) => e.name).join(", ")
      } at start`,
      variable: n,
      value: input(envInput(n)),
    });
  }

  const roles = (e: ExecutorModel, service: string) => {
    resources.push({
      kind: "role",
      id: e.id,
      name: e.name,
      description: `Glacier ${model.pipeline}: ${e.resource.service} executor "${e.resource.name}" (${
        tasksOf(e)
      })`,
      service,
      policyName: "glacier-least-privilege",
      statements: executorStatements(model, e),
    });
  };

  for (const e of lambdas) {
    const environment: Record<string, AwsEnvValue> = {
      GLACIER_PIPELINE: model.pipeline,
      GLACIER_STAGING: `s3://${staging.bucket}/${staging.prefix}`,
    };
    // The value stays in Secrets Manager: the function gets where it is, its runtime reads it at start.
    const secrets = secretVariables(e).map((n) => ref("secret", secretId(n)));
    for (const [i, n] of secretVariables(e).entries()) environment[`${SECRET_ENV_PREFIX}${n}`] = secrets[i];
    resources.push({ kind: "logGroup", id: e.id, name: `/aws/lambda/${e.name}`, retentionDays: 14 });
    roles(e, "lambda.amazonaws.com");
    let code: AwsCode;
    if (options.uploads) {
      const id = e.id;
      resources.push({
        kind: "artifactObject",
        id,
        bucket: stagingRef,
        key: artifactKey(model, e, true),
        source: e.artifact,
      });
      code = { bucket: stagingRef, key: ref("artifactObject", id, "key"), hashOf: e.artifact };
    } else {
      code = { bucket: input("artifact_bucket"), key: artifactKey(model, e, false) };
    }
    resources.push({
      kind: "function",
      id: e.id,
      name: e.name,
      description: `Glacier pipeline ${model.pipeline}: ${tasksOf(e)}`,
      comment: `Tasks ${tasksOf(e)}: the artifact is built by \`glacier build\` and read from S3.`,
      role: ref("role", e.id),
      code,
      runtime: LAMBDA.entry.runtime,
      handler: LAMBDA.entry.handler,
      architecture: "x86_64",
      memory: Number(e.config.memory ?? LAMBDA.defaults.memory),
      timeout: lambdaTimeout(model, e),
      ephemeralStorage: Number(e.config.ephemeralStorage ?? LAMBDA.defaults.ephemeralStorage),
      environment,
      secrets,
      logGroup: ref("logGroup", e.id),
    });
    outputs.push({
      name: `${e.id}_function_arn`,
      description: `The Lambda function of "${e.resource.name}"`,
      value: ref("function", e.id),
    });
  }

  for (const e of profiled) {
    roles(e, "ec2.amazonaws.com");
    resources.push({ kind: "instanceProfile", id: e.id, name: e.name, role: ref("role", e.id, "name") });
  }
  const amis = new Set<"x86_64" | "arm64">();
  const networks = new Set<string>();
  if (created.length) {
    resources.push({
      kind: "keyPair",
      id: "ssh",
      name: `glacier-${model.pipeline}`.slice(0, 255),
      publicKey: input(SSH_PUBLIC_KEY_INPUT),
    });
  }
  for (const e of vms) {
    if (typeof e.config.instanceId === "string") {
      resources.push({
        kind: "existingInstance",
        id: e.id,
        instanceId: e.config.instanceId,
        comment: `Existing instance: associate the instance profile ${e.name} with it.`,
      });
      continue;
    }
    const access = vmAccess(model, e);
    const instanceType = String(e.config.instanceType ?? SERVICES.ec2.defaults.instanceType);
    const architecture = instanceArchitecture(instanceType);
    const amiId = `al2023_${architecture}`;
    if (!amis.has(architecture)) {
      amis.add(architecture);
      resources.push({
        kind: "ami",
        id: amiId,
        architecture,
        parameter: `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`,
      });
    }
    const subnetId = typeof e.config.subnetId === "string" ? e.config.subnetId : undefined;
    const networkId = subnetId ? `subnet_${subnetId.replace(/^subnet-/, "")}` : "default";
    if (!networks.has(networkId)) {
      networks.add(networkId);
      resources.push(
        subnetId ? { kind: "network", id: networkId, subnetId } : { kind: "network", id: networkId },
      );
    }
    resources.push({
      kind: "securityGroup",
      id: e.id,
      name: `${e.name}-ssh`.slice(0, 255),
      description: `Glacier ${model.pipeline}: SSH to VM ${e.resource.name} from the ssh_cidr input`,
      vpc: ref("network", networkId, "vpcId"),
      ssh: { port: access.port, from: input(SSH_CIDR_INPUT) },
    });
    resources.push({
      kind: "instance",
      id: e.id,
      name: e.name,
      comment: `Tasks ${
        tasksOf(e)
      } (${architecture}), reached over SSH as ${access.user}; tasks run from ${access.dir}.`,
      ami: ref("ami", amiId, "id"),
      instanceType,
      profile: ref("instanceProfile", e.id, "name"),
      keyName: ref("keyPair", "ssh", "name"),
      subnet: ref("network", networkId, "subnetId"),
      defaultSubnet: !subnetId,
      securityGroups: [ref("securityGroup", e.id, "id")],
      userData: vmBootScript(access, "aws"),
    });
    if (access.publicIp) {
      resources.push({ kind: "eip", id: e.id, name: e.name, instance: ref("instance", e.id, "id") });
    }
  }
  for (const e of profiled) {
    outputs.push({
      name: `${e.id}_instance_profile_arn`,
      description: `The instance profile for "${e.resource.name}"`,
      value: ref("instanceProfile", e.id),
    });
  }
  for (const e of created) {
    const access = vmAccess(model, e);
    outputs.push(
      access.publicIp
        ? {
          name: `${e.id}_public_ip`,
          description: vmHostHint(e, access, "EC2Config"),
          value: ref("eip", e.id, "publicIp"),
        }
        : {
          name: `${e.id}_private_ip`,
          description: vmHostHint(e, access, "EC2Config"),
          value: ref("instance", e.id, "privateIp"),
        },
    );
  }
  for (const e of locals) {
    resources.push({
      kind: "managedPolicy",
      id: e.id,
      name: e.name,
      description: `Glacier ${model.pipeline}: what the tasks on this machine (${tasksOf(e)}) may touch`,
      comment: "Local tasks run where `glacier run` runs: attach this policy to that role or user.",
      statements: s3Statements(e.grants, model, true),
    });
    outputs.push({
      name: `${e.id}_policy_arn`,
      description: "The policy for whoever runs the local tasks",
      value: ref("managedPolicy", e.id),
    });
  }
  const invoke = orchestratorStatements(model);
  if (invoke.length) {
    resources.push({
      kind: "role",
      id: "orchestrator",
      name: orchestratorName(model),
      description: `Glacier ${model.pipeline}: may invoke exactly the pipeline's functions`,
      service: "states.amazonaws.com",
      policyName: "glacier-invoke-functions",
      statements: invoke,
    });
    outputs.push({
      name: "orchestrator_role_arn",
      description: "The role orchestrators assume",
      value: ref("role", "orchestrator"),
    });
  }
  outputs.push({ name: "staging_bucket_name", description: "The staging bucket", value: stagingRef });
  return { inputs, resources, outputs, bucketIds };
}

/** The resources of one kind, typed. */
export function ofKind<K extends AwsResource["kind"]>(
  stack: AwsStack,
  kind: K,
): Extract<AwsResource, { kind: K }>[] {
  return stack.resources.filter((r): r is Extract<AwsResource, { kind: K }> => r.kind === kind);
}
