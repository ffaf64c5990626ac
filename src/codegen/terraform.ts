/**
 * Terraform from a pipeline's infrastructure model: one file per concern
 * (`main.tf` with providers and variables, then compute, storage, IAM,
 * orchestration and outputs). A file that would be empty is left out.
 *
 * @module
 */
import {
  type ExecutorModel,
  type Grant,
  headerLines,
  type InfraModel,
  remoteExecutors,
  shortName,
} from "./_model.ts";
import { type AwsEnvValue, type AwsNetwork, type AwsRef, type AwsResource, awsStack } from "./_aws_stack.ts";
import { GlacierError } from "../errors.ts";
import {
  base64Heredoc,
  type Block,
  block,
  type Entry,
  hclFile,
  heredoc,
  interp,
  Raw,
  raw,
  str,
} from "./_hcl.ts";
import { celStr } from "./_escape.ts";
import {
  databricksLauncher,
  DATAPROC_LAUNCHER_OBJECT,
  dataprocLauncher,
  denoInstallScript,
} from "./_scripts.ts";
import { jobName } from "./_databricks.ts";
import { CLOUD_FUNCTION_ENTRY } from "./naming.ts";
import { serviceCloud, serviceRecord, SERVICES } from "../config/services.ts";
import {
  SSH_CIDR_INPUT,
  SSH_INPUT_DESCRIPTIONS,
  SSH_PUBLIC_KEY_INPUT,
  vmAccess,
  vmBootScript,
  vmHostHint,
} from "./_vm.ts";

// Where the init script and the Dataproc launcher are in the staging bucket, under the staging prefix.
const SCRIPTS_PREFIX = "scripts/";
const DENO_INIT_OBJECT = `${SCRIPTS_PREFIX}init_deno.sh`;
import type { GeneratedFiles } from "./write_files.ts";
import { type IamResource, type IamStatement, policyDocument } from "./iam.ts";

/** Options for {@linkcode generateTerraform}. */
export interface TerraformOptions {
  /**
   * The project root (where `glacier build` writes `.glacier/build`) relative
   * to the Terraform directory.
   * @default {"."}
   */
  artifactRoot?: string;
}

/**
 * Renders Terraform for a model.
 *
 * @param model The infrastructure model.
 * @param options Where artifacts are found.
 * @returns The files, keyed by name (`main.tf`, `lambda.tf`, …).
 */
export function generateTerraform(model: InfraModel, options: TerraformOptions = {}): GeneratedFiles {
  const ctx = new Context(model, options.artifactRoot ?? ".");
  const files = model.target.cloud === "aws"
    ? aws(ctx)
    : model.target.cloud === "gcp"
    ? gcp(ctx)
    : azure(ctx);
  const out: GeneratedFiles = {};
  for (const [name, blocks] of Object.entries(files)) {
    if (blocks.length) out[name] = hclFile(headerLines(model), blocks);
  }
  return out;
}

class Context {
  readonly model: InfraModel;
  readonly artifactRoot: string;
  constructor(model: InfraModel, artifactRoot: string) {
    this.model = model;
    this.artifactRoot = artifactRoot;
  }
  artifact(e: ExecutorModel): Raw {
    return interp(raw("var.artifact_root"), `/${e.artifact}`);
  }
  get tags(): Record<string, string> {
    return { "glacier:pipeline": this.model.pipeline, "glacier:version": this.model.version };
  }
}

const variable = (
  name: string,
  description: string,
  def?: string | number,
  sensitive = false,
  validation?: Block,
): Block =>
  block("variable", [name], [
    ["description", description],
    ["type", raw("string")],
    def !== undefined && ["default", def],
    sensitive && ["sensitive", true],
    validation,
  ]);

// Refuses a value that is not an IPv4 CIDR before anything is planned.
const cidrValidation = (name: string): Block =>
  block("validation", [], [
    ["condition", raw(`can(cidrnetmask(var.${name}))`)],
    ["error_message", `${name} must be an IPv4 CIDR such as 203.0.113.7/32.`],
  ]);

const output = (name: string, description: string, value: Raw): Block =>
  block("output", [name], [["description", description], ["value", value]]);

function taskList(e: ExecutorModel): string {
  return e.tasks.map((t) => t.node.id).join(", ");
}

// ---------------------------------------------------------------- AWS

// Terraform's address of each stack resource kind.
const TF_TYPE: Record<AwsResource["kind"], string> = {
  bucket: "aws_s3_bucket",
  existingBucket: "data.aws_s3_bucket",
  artifactObject: "aws_s3_object",
  logGroup: "aws_cloudwatch_log_group",
  secret: "aws_secretsmanager_secret",
  function: "aws_lambda_function",
  role: "aws_iam_role",
  instanceProfile: "aws_iam_instance_profile",
  ami: "data.aws_ssm_parameter",
  network: "data.aws_subnet",
  securityGroup: "aws_security_group",
  keyPair: "aws_key_pair",
  eip: "aws_eip",
  instance: "aws_instance",
  existingInstance: "data.aws_instance",
  managedPolicy: "aws_iam_policy",
};

// Terraform's name of each reference attribute, where it is not the same.
const TF_ATTR: Partial<Record<AwsRef["attr"], string>> = {
  privateIp: "private_ip",
  publicIp: "public_ip",
  vpcId: "vpc_id",
};

function tfRef(r: AwsRef): Raw {
  const attr = r.ref === "ami"
    ? "value"
    : r.ref === "keyPair" && r.attr === "name"
    ? "key_name"
    : r.attr === "name" && (r.ref === "bucket" || r.ref === "existingBucket")
    ? "bucket"
    : TF_ATTR[r.attr] ?? r.attr;
  return raw(`${TF_TYPE[r.ref]}.${r.id}.${attr}`);
}

// A network is the subnet the config names (data.aws_subnet), or the default
// VPC (data.aws_vpc) and the first of its default subnets (data.aws_subnets).
function tfNetworkRef(network: AwsNetwork, attr: AwsRef["attr"]): Raw {
  if (network.subnetId !== undefined) {
    return raw(`data.aws_subnet.${network.id}.${attr === "vpcId" ? "vpc_id" : "id"}`);
  }
  return raw(
    attr === "vpcId" ? `data.aws_vpc.${network.id}.id` : `sort(data.aws_subnets.${network.id}.ids)[0]`,
  );
}

const tfText = (v: AwsEnvValue): string | Raw =>
  typeof v === "string" ? v : "input" in v ? raw(`var.${v.input}`) : tfRef(v);

/** The Terraform address of the staging bucket's ARN (a resource, or a data source when the bucket exists). */
export function stagingArn(model: InfraModel): string {
  return `${model.staging.configured ? "data." : ""}aws_s3_bucket.staging.arn`;
}

function aws(ctx: Context): Record<string, Block[]> {
  const { model } = ctx;
  const stack = awsStack(model, { uploads: true });
  const databricks = remoteExecutors(model).filter((e) =>
    serviceRecord(e.resource.service)?.adapter === "databricks"
  );
  const byId = new Map(stack.resources.map((r) => [`${r.kind}:${r.id}`, r]));
  const bucketArn = (bucket: string) => {
    const id = stack.bucketIds[bucket];
    return `${byId.has(`bucket:${id}`) ? "" : "data."}aws_s3_bucket.${id}.arn`;
  };
  const policy = (statements: readonly IamStatement[]) => awsPolicy(statements, bucketArn);

  const main: Block[] = [
    block("terraform", [], [
      ["required_version", ">= 1.5.0"],
      block("required_providers", [], [
        ["aws", { source: "hashicorp/aws", version: "~> 5.0" }],
        // 1.106 uploads workspace files up to 500 MB (the artifact is ~60 MB); older versions import at most 10 MiB.
        databricks.length > 0 && ["databricks", { source: "databricks/databricks", version: "~> 1.106" }],
      ]),
    ]),
    block("provider", ["aws"], [
      ["region", raw("var.region")],
      block("default_tags", [], [["tags", raw("local.tags")]]),
    ]),
    ...(databricks.length
      ? [block(
        "provider",
        ["databricks"],
        [["host", raw("var.databricks_host")]],
        "The token is read from DATABRICKS_TOKEN in the environment, never written here.",
      )]
      : []),
    block("locals", [], [["pipeline", model.pipeline], ["tags", ctx.tags]]),
    variable("region", "The AWS region.", model.target.region),
    variable(
      "artifact_root",
      "The project root, where `glacier build` writes .glacier/build/, relative to this directory.",
      ctx.artifactRoot,
    ),
    ...(databricks.length
      ? [variable(
        "databricks_host",
        "The Databricks workspace URL.",
        databricks.map((d) => d.config.host).find((h): h is string => typeof h === "string"),
      )]
      : []),
    ...(databricks.some((d) => d.config.newCluster)
      ? [variable(
        "databricks_cross_account_role",
        "The name of the IAM role the Databricks workspace launches clusters with (its cross-account role).",
      )]
      : []),
    ...stack.inputs.map((i) =>
      variable(
        i.name,
        `${i.description}.`,
        i.default,
        i.secret,
        i.cidr ? cidrValidation(i.name) : undefined,
      )
    ),
  ];

  const files: Record<string, Block[]> = {
    "main.tf": main,
    "lambda.tf": [],
    "secrets.tf": [],
    "databricks.tf": [],
    "vm.tf": [],
    "s3.tf": [],
    "iam.tf": [],
    "orchestration.tf": [],
    "outputs.tf": [],
  };
  for (const r of stack.resources) {
    switch (r.kind) {
      case "existingBucket":
        files["s3.tf"].push(block("data", ["aws_s3_bucket", r.id], [["bucket", r.name]], r.comment));
        break;
      case "bucket": {
        const bucket = raw(`aws_s3_bucket.${r.id}.id`);
        files["s3.tf"].push(
          block("resource", ["aws_s3_bucket", r.id], [["bucket", r.name]], r.comment),
          block("resource", ["aws_s3_bucket_public_access_block", r.id], [
            ["bucket", bucket],
            ["block_public_acls", true],
            ["block_public_policy", true],
            ["ignore_public_acls", true],
            ["restrict_public_buckets", true],
          ]),
          block("resource", ["aws_s3_bucket_server_side_encryption_configuration", r.id], [
            ["bucket", bucket],
            block("rule", [], [
              block("apply_server_side_encryption_by_default", [], [["sse_algorithm", "AES256"]]),
            ]),
          ]),
          block("resource", ["aws_s3_bucket_lifecycle_configuration", r.id], [
            ["bucket", bucket],
            block("rule", [], [
              ["id", "expire-glacier-runs"],
              ["status", "Enabled"],
              block("filter", [], [["prefix", r.expire.prefix]]),
              block("expiration", [], [["days", r.expire.days]]),
              block("abort_incomplete_multipart_upload", [], [["days_after_initiation", 1]]),
            ]),
          ]),
        );
        break;
      }
      case "artifactObject": {
        const source = interp(raw("var.artifact_root"), `/${r.source}`);
        files["s3.tf"].push(block("resource", ["aws_s3_object", r.id], [
          ["bucket", tfRef(r.bucket)],
          ["key", r.key],
          ["source", source],
          ["etag", raw(`filemd5(${source.text})`)],
        ], "The `glacier build` artifact: Lambda reads code over 50 MB only from S3."));
        break;
      }
      case "secret":
        files["secrets.tf"].push(
          block("resource", ["aws_secretsmanager_secret", r.id], [
            ["name", r.name],
            ["description", r.description],
            // Deleted at once on destroy, so the stack can be applied again under the same name.
            ["recovery_window_in_days", 0],
          ], `${r.variable}: the functions get this secret's ARN, never its value.`),
          block("resource", ["aws_secretsmanager_secret_version", r.id], [
            ["secret_id", raw(`aws_secretsmanager_secret.${r.id}.id`)],
            ["secret_string", raw(`var.${r.value.input}`)],
          ], "The value is kept in the Terraform state (marked sensitive): protect the state."),
        );
        break;
      case "logGroup":
        files["lambda.tf"].push(block("resource", ["aws_cloudwatch_log_group", r.id], [
          ["name", r.name],
          ["retention_in_days", r.retentionDays],
        ]));
        break;
      case "function": {
        const code = r.code;
        const key = typeof code.key === "string" ? code.key : tfRef(code.key);
        const bucket = "input" in code.bucket ? raw(`var.${code.bucket.input}`) : tfRef(code.bucket);
        const env: Record<string, string | Raw> = {};
        for (const [k, v] of Object.entries(r.environment)) env[k] = tfText(v);
        // Deploy's launcher function submits Databricks runs to the workspace the provider uses.
        if (r.id === "launcher" && databricks.length) env.DATABRICKS_HOST = raw("var.databricks_host");
        files["lambda.tf"].push(block("resource", ["aws_lambda_function", r.id], [
          ["function_name", r.name],
          ["description", r.description],
          ["role", tfRef(r.role)],
          ["s3_bucket", bucket],
          ["s3_key", key],
          code.hashOf !== undefined &&
          [
            "source_code_hash",
            raw(`filebase64sha256(${interp(raw("var.artifact_root"), `/${code.hashOf}`).text})`),
          ],
          ["runtime", r.runtime],
          ["handler", r.handler],
          ["architectures", [r.architecture]],
          ["memory_size", r.memory],
          ["timeout", r.timeout],
          block("ephemeral_storage", [], [["size", r.ephemeralStorage]]),
          block("environment", [], [["variables", env]]),
          ["depends_on", [
            raw(`${TF_TYPE.logGroup}.${r.logGroup.id}`),
            ...r.secrets.map((x) => raw(`aws_secretsmanager_secret_version.${x.id}`)),
          ]],
        ], r.comment));
        break;
      }
      case "role": {
        const file = r.id === "orchestrator" ? "orchestration.tf" : "iam.tf";
        files[file].push(
          block("resource", ["aws_iam_role", r.id], [
            ["name", r.name],
            ["description", r.description],
            ["assume_role_policy", assumeRole(r.service)],
          ]),
          block("resource", ["aws_iam_role_policy", r.id], [
            ["name", r.policyName],
            ["role", raw(`aws_iam_role.${r.id}.id`)],
            ["policy", policy(r.statements)],
          ]),
        );
        break;
      }
      case "instanceProfile":
        files["iam.tf"].push(block("resource", ["aws_iam_instance_profile", r.id], [
          ["name", r.name],
          ["role", tfRef(r.role)],
        ]));
        break;
      case "managedPolicy":
        files["iam.tf"].push(block("resource", ["aws_iam_policy", r.id], [
          ["name", r.name],
          ["description", r.description],
          ["policy", policy(r.statements)],
        ], r.comment));
        break;
      case "ami":
        files["vm.tf"].push(block("data", ["aws_ssm_parameter", r.id], [["name", r.parameter]]));
        break;
      case "existingInstance":
        files["vm.tf"].push(
          block("data", ["aws_instance", r.id], [["instance_id", r.instanceId]], r.comment),
        );
        break;
      case "network":
        files["vm.tf"].push(
          ...(r.subnetId !== undefined
            ? [
              block(
                "data",
                ["aws_subnet", r.id],
                [["id", r.subnetId]],
                "The subnet EC2Config({ subnetId }) names.",
              ),
            ]
            : [
              block(
                "data",
                ["aws_vpc", r.id],
                [["default", true]],
                "The default VPC and its default subnets.",
              ),
              block("data", ["aws_subnets", r.id], [
                block("filter", [], [["name", "vpc-id"], ["values", [raw(`data.aws_vpc.${r.id}.id`)]]]),
                block("filter", [], [["name", "default-for-az"], ["values", ["true"]]]),
              ]),
            ]),
        );
        break;
      case "securityGroup": {
        const group = raw(`aws_security_group.${r.id}.id`);
        files["vm.tf"].push(
          block("resource", ["aws_security_group", r.id], [
            ["name", r.name],
            ["description", r.description],
            ["vpc_id", tfNetworkRef(byId.get(`network:${r.vpc.id}`) as AwsNetwork, "vpcId")],
          ]),
          block("resource", ["aws_vpc_security_group_ingress_rule", `${r.id}_ssh`], [
            ["security_group_id", group],
            ["description", "SSH from the ssh_cidr input only"],
            ["cidr_ipv4", raw(`var.${r.ssh.from.input}`)],
            ["ip_protocol", "tcp"],
            ["from_port", r.ssh.port],
            ["to_port", r.ssh.port],
          ]),
          block("resource", ["aws_vpc_security_group_egress_rule", `${r.id}_all`], [
            ["security_group_id", group],
            ["description", "Out to Deno, npm and AWS APIs"],
            ["cidr_ipv4", "0.0.0.0/0"],
            ["ip_protocol", "-1"],
          ]),
        );
        break;
      }
      case "keyPair":
        files["vm.tf"].push(block("resource", ["aws_key_pair", r.id], [
          ["key_name", r.name],
          ["public_key", raw(`var.${r.publicKey.input}`)],
        ], "The key the VMs' boot script gives the SSH user."));
        break;
      case "instance":
        files["vm.tf"].push(block("resource", ["aws_instance", r.id], [
          ["ami", tfRef(r.ami)],
          ["instance_type", r.instanceType],
          ["iam_instance_profile", tfRef(r.profile)],
          ["key_name", tfRef(r.keyName)],
          ["subnet_id", tfNetworkRef(byId.get(`network:${r.subnet.id}`) as AwsNetwork, "subnetId")],
          ["vpc_security_group_ids", r.securityGroups.map(tfRef)],
          // The boot script reads the key with an IMDSv2 token; IMDSv1 stays off.
          block("metadata_options", [], [["http_tokens", "required"]]),
          ["user_data", heredoc(r.userData)],
          ["tags", { Name: r.name }],
        ], r.comment));
        break;
      case "eip":
        files["vm.tf"].push(block("resource", ["aws_eip", r.id], [
          ["domain", "vpc"],
          ["instance", tfRef(r.instance)],
          ["tags", { Name: r.name }],
        ], "A public address that stays through stops and starts (the host the VM config names)."));
        break;
    }
  }

  files["databricks.tf"] = databricks.length
    ? [
      block("resource", ["databricks_workspace_file", "deno_init"], [
        ["path", `/Shared/glacier/${model.pipeline}/init_deno.sh`],
        ["content_base64", base64Heredoc(denoInstallScript())],
      ], "Installs Deno on cluster nodes (attach as a cluster-scoped init script to existing clusters)."),
      block("resource", ["databricks_workspace_file", "launcher"], [
        ["path", `/Shared/glacier/${model.pipeline}/glacier_launcher.py`],
        ["content_base64", base64Heredoc(databricksLauncher())],
      ]),
      ...databricks.flatMap((e) => [
        ...(e.config.newCluster
          ? [
            block(
              "resource",
              ["databricks_instance_profile", e.id],
              [["instance_profile_arn", raw(`aws_iam_instance_profile.${e.id}.arn`)]],
              "A job cluster may use only an instance profile registered with the workspace.",
            ),
            block(
              "resource",
              ["aws_iam_role_policy", `${e.id}_pass_role`],
              [
                ["name", `glacier-${model.pipeline}-${e.resource.name}-pass-role`.slice(0, 128)],
                ["role", raw("var.databricks_cross_account_role")],
                ["policy", passRole(e)],
              ],
              "The workspace's cross-account role launches the job cluster, so it must pass the cluster's role.",
            ),
          ]
          : []),
        block("resource", ["databricks_workspace_file", `${e.id}_artifact`], [
          ["path", `/Shared/glacier/${model.pipeline}/${e.resource.name}.zip`],
          ["source", ctx.artifact(e)],
        ]),
        ...e.tasks.map((t) => databricksJob(e, t.node.id, t.options)),
      ]),
    ]
    : [];

  files["outputs.tf"] = [
    ...stack.outputs.filter((o) => o.value.ref === "function").map((o) =>
      output(o.name, `${o.description}.`, tfRef(o.value))
    ),
    ...databricks.flatMap((e) =>
      e.tasks.map((t) =>
        output(
          `${jobId(e, t.node.id)}_job_id`,
          `The Databricks job of node "${t.node.id}".`,
          raw(`databricks_job.${jobId(e, t.node.id)}.id`),
        )
      )
    ),
    ...stack.outputs.filter((o) => o.value.ref !== "function").map((o) =>
      output(o.name, `${o.description}.`, tfRef(o.value))
    ),
  ];
  return files;
}

function jobId(e: ExecutorModel, node: string): string {
  return `${e.id}_${node.toLowerCase().replace(/[^a-z0-9_]+/g, "_")}`;
}

function databricksJob(e: ExecutorModel, node: string, options: Readonly<Record<string, unknown>>): Block {
  const c = e.config;
  const cluster = c.newCluster as
    | { sparkVersion: string; nodeTypeId: string; numWorkers: number }
    | undefined;
  const timeout = typeof options.timeout === "number" ? Math.ceil(options.timeout / 1000) : undefined;
  return block("resource", ["databricks_job", jobId(e, node)], [
    ["name", jobName(e, node)],
    ["max_concurrent_runs", 100],
    block("task", [], [
      ["task_key", node.replace(/[^A-Za-z0-9_-]+/g, "_")],
      cluster === undefined && ["existing_cluster_id", String(c.clusterId)],
      cluster !== undefined && block("new_cluster", [], [
        ["spark_version", cluster.sparkVersion],
        ["node_type_id", cluster.nodeTypeId],
        ["num_workers", cluster.numWorkers],
        block("aws_attributes", [], [[
          "instance_profile_arn",
          raw(`databricks_instance_profile.${e.id}.id`),
        ]]),
        block("init_scripts", [], [
          block("workspace", [], [["destination", raw("databricks_workspace_file.deno_init.path")]]),
        ]),
      ]),
      block("spark_python_task", [], [
        ["python_file", raw("databricks_workspace_file.launcher.path")],
        ["source", "WORKSPACE"],
        ["parameters", [
          interp("/Workspace", raw(`databricks_workspace_file.${e.id}_artifact.path`)),
          interp("/Workspace", raw("databricks_workspace_file.deno_init.path")),
          "{{job.parameters.payload}}",
        ]],
      ]),
      timeout !== undefined && ["timeout_seconds", timeout],
      typeof options.retries === "number" && options.retries > 0 && ["max_retries", options.retries],
    ]),
    block("parameter", [], [["name", "payload"], ["default", "{}"]]),
  ], `Node "${node}" on "${e.resource.name}": runs one Glacier payload per run.`);
}

function passRole(e: ExecutorModel): Raw {
  return raw(`jsonencode(${
    hclValueText({
      Version: "2012-10-17",
      Statement: [{
        Sid: "PassClusterRole",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: [raw(`aws_iam_role.${e.id}.arn`)],
      }],
    })
  })`);
}

function assumeRole(service: string): Raw {
  return raw(`jsonencode(${
    hclValueText({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    })
  })`);
}

function awsPolicy(statements: readonly IamStatement[], bucketArn: (bucket: string) => string): Raw {
  const resource = (r: IamResource): string | Raw => {
    if (typeof r === "string") return r;
    if (r.ref === "bucket") {
      return r.path === undefined ? raw(bucketArn(r.bucket)) : interp(raw(bucketArn(r.bucket)), `/${r.path}`);
    }
    if (r.ref === "logGroup") return interp(raw(`aws_cloudwatch_log_group.${r.executor}.arn`), ":*");
    if (r.ref === "secret") return raw(`aws_secretsmanager_secret.${r.id}.arn`);
    return r.qualified
      ? interp(raw(`aws_lambda_function.${r.executor}.arn`), ":*")
      : raw(`aws_lambda_function.${r.executor}.arn`);
  };
  const doc = policyDocument(statements, resource);
  return raw(`jsonencode(${hclValueText(doc)})`);
}

// Renders a value the way an attribute would be, for use inside jsonencode().
function hclValueText(v: unknown, indent = ""): string {
  if (v instanceof Raw) return v.text;
  if (typeof v === "string") return str(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const items = v.map((x) => hclValueText(x, indent + "  "));
    const flat = `[${items.join(", ")}]`;
    return flat.length <= 90 ? flat : `[\n${items.map((i) => `${indent}  ${i},`).join("\n")}\n${indent}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o); // policy documents keep AWS's conventional key order
  const k = (s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s);
  return `{\n${
    keys.map((key) => `${indent}  ${k(key)} = ${hclValueText(o[key], indent + "  ")}`).join("\n")
  }\n${indent}}`;
}

// The SSH inputs of a configuration that creates VMs: both required.
function sshVariables(): Block[] {
  return [
    variable(SSH_PUBLIC_KEY_INPUT, `${SSH_INPUT_DESCRIPTIONS[SSH_PUBLIC_KEY_INPUT]}.`),
    variable(
      SSH_CIDR_INPUT,
      `${SSH_INPUT_DESCRIPTIONS[SSH_CIDR_INPUT]}.`,
      undefined,
      false,
      cidrValidation(SSH_CIDR_INPUT),
    ),
  ];
}

// ---------------------------------------------------------------- GCP

const CLOUD_FUNCTION = SERVICES["cloud-function"];
const AZURE_FUNCTION = SERVICES["azure-function"];

// Dataproc: GCP's cluster service (Databricks and Spark are clusters of no one cloud).
const isDataproc = (e: ExecutorModel): boolean =>
  e.resource.kind === "cluster" && serviceCloud(e.resource.service) === "gcp";

// A Compute Engine name: lower-case letters, digits and hyphens, starting with a letter, at most 63.
function gcpName(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").slice(0, 63);
  return name.replace(/-+$/, "") || "glacier";
}

const gcpZone = (e: ExecutorModel): string =>
  String(e.config.zone ?? SERVICES["compute-engine"].defaults.zone);

// A zone's region: us-central1-a is in us-central1.
const gcpRegion = (e: ExecutorModel): string => gcpZone(e).replace(/-[a-z]$/, "");

/** A Google API a GCP configuration enables (`<name>.googleapis.com`), as its `google_project_service` label. */
export type GcpApi =
  | "artifactregistry"
  | "cloudbuild"
  | "cloudfunctions"
  | "cloudresourcemanager"
  | "compute"
  | "dataproc"
  | "iam"
  | "run"
  | "storage";

// The APIs each kind of resource needs enabled first: Cloud Run functions
// are built by Cloud Build into Artifact Registry and run on Cloud Run;
// Dataproc clusters are Compute Engine VMs; project IAM is Resource Manager.
const GCP_APIS = {
  bucket: ["storage"],
  serviceAccount: ["iam"],
  projectIam: ["cloudresourcemanager"],
  function: ["artifactregistry", "cloudbuild", "cloudfunctions", "run"],
  dataproc: ["compute", "dataproc"],
  vm: ["compute"],
} as const satisfies Record<string, readonly GcpApi[]>;

/** The role Dataproc documents for a cluster's VM service account (its data plane: agents, logging, staging). */
export const DATAPROC_WORKER_ROLE = "roles/dataproc.worker";

/** The role Google documents for a custom Cloud Build service account building Cloud Run functions. */
export const CLOUD_BUILD_ROLE = "roles/cloudbuild.builds.builder";

function gcp(ctx: Context): Record<string, Block[]> {
  const { model } = ctx;
  const remote = remoteExecutors(model);
  const functions = remote.filter((e) => e.resource.kind === "serverless");
  const dataproc = remote.filter(isDataproc);
  const vms = remote.filter((e) => e.resource.kind === "vm");
  const accounts = remote;
  const used = new Set<GcpApi>(GCP_APIS.bucket);
  if (accounts.length) GCP_APIS.serviceAccount.forEach((a) => used.add(a));
  if (functions.length) [...GCP_APIS.function, ...GCP_APIS.projectIam].forEach((a) => used.add(a));
  if (dataproc.length) [...GCP_APIS.dataproc, ...GCP_APIS.projectIam].forEach((a) => used.add(a));
  if (vms.length) GCP_APIS.vm.forEach((a) => used.add(a));
  const needs = (
    apis: readonly GcpApi[],
    ...more: string[]
  ): Entry => ["depends_on", [...apis.map((a) => raw(`google_project_service.${a}`)), ...more.map(raw)]];
  const apis: Block[] = [...used].sort().map((a, i) =>
    block(
      "resource",
      ["google_project_service", a],
      [["project", raw("var.project")], ["service", `${a}.googleapis.com`], ["disable_on_destroy", false]],
      i === 0
        ? "The APIs this configuration uses, enabled before what needs them and left enabled on destroy (other configurations may use them)."
        : undefined,
    )
  );

  const main: Block[] = [
    block("terraform", [], [
      ["required_version", ">= 1.5.0"],
      block("required_providers", [], [["google", { source: "hashicorp/google", version: "~> 6.0" }]]),
    ]),
    block("provider", ["google"], [
      ["project", raw("var.project")],
      ["region", raw("var.region")],
      ["default_labels", raw("local.labels")],
    ]),
    block("locals", [], [["pipeline", model.pipeline], ["labels", {
      "glacier-pipeline": model.pipeline.toLowerCase().replace(/[^a-z0-9_-]/g, "-"),
      "glacier-version": model.version.replace(/\./g, "-"),
    }]]),
    variable("project", "The GCP project id.", model.target.project),
    variable("region", "The GCP region.", model.target.region),
    variable(
      "artifact_root",
      "The project root, where `glacier build` writes .glacier/build/, relative to this directory.",
      ctx.artifactRoot,
    ),
    ...(vms.length ? sshVariables() : []),
  ];

  const storage: Block[] = [
    ...model.buckets.map((b) =>
      block(
        "data",
        ["google_storage_bucket", b.id],
        [["name", b.name]],
        "Existing data bucket (needs uniform bucket-level access for the conditional grants).",
      )
    ),
    block("resource", ["google_storage_bucket", "staging"], [
      ["name", model.staging.bucket],
      ["location", raw("upper(var.region)")],
      ["uniform_bucket_level_access", true],
      ["public_access_prevention", "enforced"],
      block("lifecycle_rule", [], [
        block("condition", [], [["age", model.staging.expireDays], ["matches_prefix", [
          `${model.staging.prefix}runs/`,
        ]]]),
        block("action", [], [["type", "Delete"]]),
      ]),
      needs(GCP_APIS.bucket),
    ], "Data handed between executors."),
    ...functions.map((e) =>
      block("resource", ["google_storage_bucket_object", `${e.id}_artifact`], [
        // The name carries the zip's hash: the function's source names the object, so a new
        // build is a new name and Cloud Build rebuilds (a new object under the same name is not).
        [
          "name",
          interp(
            `${model.staging.prefix}artifacts/${e.resource.name}-`,
            raw(`substr(filesha256(${ctx.artifact(e).text}), 0, 16)`),
            ".zip",
          ),
        ],
        ["bucket", raw("google_storage_bucket.staging.name")],
        ["source", ctx.artifact(e)],
      ])
    ),
  ];

  const iam: Block[] = [];
  for (const e of accounts) {
    iam.push(block("resource", ["google_service_account", e.id], [
      ["account_id", shortName(e.name.replace(/_/g, "-"), 30)],
      ["display_name", `Glacier ${model.pipeline}: ${e.resource.name}`],
      needs(GCP_APIS.serviceAccount),
    ]));
    if (isDataproc(e)) iam.push(...dataprocVmGrants(model, e, needs));
    const grants = [
      ...e.grants,
      ...(["read", "write"] as const).map((access) => ({
        bucket: model.staging.bucket,
        pattern: `${model.staging.prefix}runs/*`,
        prefix: `${model.staging.prefix}runs/`,
        access,
      })),
    ];
    for (const g of grants) {
      const bucket = g.bucket === model.staging.bucket
        ? "google_storage_bucket.staging.name"
        : `data.google_storage_bucket.${model.buckets.find((b) => b.name === g.bucket)!.id}.name`;
      const exact = !g.pattern.endsWith("*");
      const id = `${e.id}_${g.access}_${g.bucket}_${g.prefix}`.toLowerCase().replace(/[^a-z0-9_]+/g, "_")
        .replace(/_+$/, "");
      // storage.objects.list is checked against the bucket, not an object, so
      // a prefix read also matches the bucket: the names in it, not their data.
      const listed = !exact && g.access === "read";
      iam.push(block(
        "resource",
        ["google_storage_bucket_iam_member", id],
        [
          ["bucket", raw(bucket)],
          // Writing over an object needs storage.objects.delete, which objectCreator lacks.
          ["role", g.access === "read" ? "roles/storage.objectViewer" : "roles/storage.objectUser"],
          ["member", interp("serviceAccount:", raw(`google_service_account.${e.id}.email`))],
          block("condition", [], [
            ["title", `${g.access} ${g.pattern}`.slice(0, 100)],
            [
              "expression",
              `${listed ? `resource.type == "storage.googleapis.com/Bucket" || ` : ""}resource.name${
                exact ? " == " : ".startsWith("
              }${celStr(`projects/_/buckets/${g.bucket}/objects/${g.prefix}`)}${exact ? "" : ")"}`,
            ],
          ]),
        ],
        listed
          ? `Listing is checked on the bucket: ${e.resource.name} may list every name in ${g.bucket}.`
          : undefined,
      ));
    }
  }

  const fns: Block[] = functions.map((e) =>
    block(
      "resource",
      ["google_cloudfunctions2_function", e.id],
      [
        ["name", e.name.replace(/_/g, "-")],
        ["location", raw("var.region")],
        ["description", `Glacier pipeline ${model.pipeline}: ${taskList(e)}`],
        block("build_config", [], [
          ["runtime", CLOUD_FUNCTION_ENTRY.runtime],
          ["entry_point", CLOUD_FUNCTION_ENTRY.entryPoint],
          ["service_account", raw("google_service_account.function_build.id")],
          block("source", [], [block("storage_source", [], [
            ["bucket", raw("google_storage_bucket.staging.name")],
            ["object", raw(`google_storage_bucket_object.${e.id}_artifact.name`)],
          ])]),
        ]),
        block("service_config", [], [
          ["available_memory", `${Number(e.config.memory ?? CLOUD_FUNCTION.defaults.memory)}M`],
          ["timeout_seconds", Number(e.config.timeout ?? CLOUD_FUNCTION.defaults.timeout)],
          ["max_instance_count", Number(e.config.maxInstances ?? CLOUD_FUNCTION.defaults.maxInstances)],
          ["service_account_email", raw(`google_service_account.${e.id}.email`)],
          ["environment_variables", {
            GLACIER_PIPELINE: model.pipeline,
            GLACIER_STAGING: `gs://${model.staging.bucket}/${model.staging.prefix}`,
          }],
        ]),
        needs(GCP_APIS.function, "google_project_iam_member.function_build"),
      ],
      "The artifact's Node.js shim starts Deno (Cloud Functions has no Deno runtime).",
    )
  );
  // Cloud Build builds each function's source as this account, not the project's default
  // compute account (which new projects no longer give roles): it holds the one role Google
  // documents for a custom build account. Whoever applies needs iam.serviceAccountUser on it.
  if (functions.length) {
    iam.push(
      block(
        "resource",
        ["google_service_account", "function_build"],
        [
          ["account_id", shortName(`glacier-${model.pipeline.replace(/_/g, "-")}-build`, 30)],
          ["display_name", `Glacier ${model.pipeline}: builds its Cloud Run functions`],
          needs(GCP_APIS.serviceAccount),
        ],
        "Cloud Build builds the functions as this account; whoever applies needs iam.serviceAccountUser on it.",
      ),
      block("resource", ["google_project_iam_member", "function_build"], [
        ["project", raw("var.project")],
        ["role", CLOUD_BUILD_ROLE],
        ["member", interp("serviceAccount:", raw("google_service_account.function_build.email"))],
        needs(GCP_APIS.projectIam),
      ]),
    );
  }

  const dp: Block[] = dataproc.length
    ? [
      block("resource", ["google_storage_bucket_object", "deno_init"], [
        ["name", `${model.staging.prefix}${DENO_INIT_OBJECT}`],
        ["bucket", raw("google_storage_bucket.staging.name")],
        ["content", heredoc(denoInstallScript())],
      ]),
      block("resource", ["google_storage_bucket_object", "dataproc_launcher"], [
        ["name", `${model.staging.prefix}${DATAPROC_LAUNCHER_OBJECT}`],
        ["bucket", raw("google_storage_bucket.staging.name")],
        ["content", heredoc(dataprocLauncher())],
      ], "The main file of every Dataproc job (a PySpark job): runs one task payload with Deno."),
      ...dataproc.map((e) => {
        const nodes = Number(e.config.nodes ?? SERVICES.dataproc.defaults.nodes);
        const machine = String(e.config.machineType ?? SERVICES.dataproc.defaults.machineType);
        return block("resource", ["google_dataproc_cluster", e.id], [
          ["name", String(e.config.cluster)],
          ["region", e.config.region ? String(e.config.region) : raw("var.region")],
          block("cluster_config", [], [
            ["staging_bucket", raw("google_storage_bucket.staging.name")],
            block("master_config", [], [["num_instances", 1], ["machine_type", machine]]),
            block("worker_config", [], [["num_instances", Math.max(2, nodes - 1)], [
              "machine_type",
              machine,
            ]]),
            block("gce_cluster_config", [], [
              ["service_account", raw(`google_service_account.${e.id}.email`)],
              ["service_account_scopes", ["cloud-platform"]],
            ]),
            block("initialization_action", [], [[
              "script",
              interp(
                "gs://",
                raw("google_storage_bucket.staging.name"),
                "/",
                raw("google_storage_bucket_object.deno_init.name"),
              ),
            ]]),
          ]),
          // The VMs run the init script at creation: their account must hold its roles by then.
          needs(
            GCP_APIS.dataproc,
            `google_project_iam_member.${e.id}_dataproc_worker`,
            `google_storage_bucket_iam_member.${e.id}_read_scripts`,
          ),
        ], `Tasks ${taskList(e)}.`);
      }),
    ]
    : [];

  // One network for the pipeline's VMs, a subnetwork in each region they are in, SSH from ssh_cidr only
  // to instances with the tag; egress is open in a VPC network (Deno, npm, Google APIs).
  const sshTag = gcpName(`glacier-${model.pipeline}-ssh`);
  const regions = [...new Set(vms.map((e) => gcpRegion(e)))].sort();
  const subnetwork = (e: ExecutorModel) => `glacier_${gcpRegion(e).replace(/-/g, "_")}`;
  const vm: Block[] = vms.length
    ? [
      block("resource", ["google_compute_network", "glacier"], [
        ["name", gcpName(`glacier-${model.pipeline}`)],
        ["auto_create_subnetworks", false],
        needs(GCP_APIS.vm),
      ], "The network of the pipeline's VMs."),
      ...regions.map((region, i) =>
        block("resource", ["google_compute_subnetwork", `glacier_${region.replace(/-/g, "_")}`], [
          ["name", gcpName(`glacier-${model.pipeline}-${region}`)],
          ["region", region],
          ["network", raw("google_compute_network.glacier.id")],
          ["ip_cidr_range", `10.42.${i}.0/24`],
          needs(GCP_APIS.vm),
        ])
      ),
      block("resource", ["google_compute_firewall", "glacier_ssh"], [
        ["name", sshTag],
        ["network", raw("google_compute_network.glacier.name")],
        ["direction", "INGRESS"],
        ["source_ranges", [raw(`var.${SSH_CIDR_INPUT}`)]],
        ["target_tags", [sshTag]],
        block("allow", [], [["protocol", "tcp"], ["ports", ["22"]]]),
        needs(GCP_APIS.vm),
      ], "SSH from the ssh_cidr input only."),
      ...vms.map((e) => {
        const access = vmAccess(model, e);
        return block("resource", ["google_compute_instance", e.id], [
          ["name", e.name.replace(/_/g, "-")],
          ["machine_type", String(e.config.machineType ?? SERVICES["compute-engine"].defaults.machineType)],
          ["zone", gcpZone(e)],
          ["tags", [sshTag]],
          block("boot_disk", [], [block("initialize_params", [], [["image", "debian-cloud/debian-12"]])]),
          block("network_interface", [], [
            ["subnetwork", raw(`google_compute_subnetwork.${subnetwork(e)}.id`)],
            // An ephemeral external address: the host the VM config names.
            block("access_config", [], []),
          ]),
          block("service_account", [], [["email", raw(`google_service_account.${e.id}.email`)], ["scopes", [
            "cloud-platform",
          ]]]),
          // The guest agent makes the user and gives it the key; the startup script runs at every boot.
          ["metadata", { "ssh-keys": interp(`${access.user}:`, raw(`var.${SSH_PUBLIC_KEY_INPUT}`)) }],
          ["metadata_startup_script", heredoc(vmBootScript(access, "cloud"))],
          needs(GCP_APIS.vm),
        ], `Tasks ${taskList(e)}, reached over SSH as ${access.user}; tasks run from ${access.dir}.`);
      }),
    ]
    : [];

  const outputs: Block[] = [
    ...functions.map((e) =>
      output(
        `${e.id}_function_url`,
        `The function of "${e.resource.name}".`,
        raw(`google_cloudfunctions2_function.${e.id}.url`),
      )
    ),
    ...dataproc.map((e) =>
      output(
        `${e.id}_cluster`,
        `The Dataproc cluster of "${e.resource.name}".`,
        raw(`google_dataproc_cluster.${e.id}.name`),
      )
    ),
    ...vms.map((e) =>
      output(
        `${e.id}_external_ip`,
        `${vmHostHint(e, vmAccess(model, e), "ComputeEngineConfig")}.`,
        raw(`google_compute_instance.${e.id}.network_interface[0].access_config[0].nat_ip`),
      )
    ),
    output("staging_bucket", "The staging bucket.", raw("google_storage_bucket.staging.name")),
  ];
  return {
    "main.tf": main,
    "apis.tf": apis,
    "functions.tf": fns,
    "dataproc.tf": dp,
    "vm.tf": vm,
    "storage.tf": storage,
    "iam.tf": iam,
    "outputs.tf": outputs,
  };
}

// A Dataproc cluster's VM service account: the Dataproc Worker role (what
// Dataproc documents as a custom VM account's minimum), and read of the
// scripts prefix of the staging bucket, which holds only the init script and
// the launcher every job runs.
function dataprocVmGrants(
  model: InfraModel,
  e: ExecutorModel,
  needs: (apis: readonly GcpApi[], ...more: string[]) => Entry,
): Block[] {
  const member = interp("serviceAccount:", raw(`google_service_account.${e.id}.email`));
  const scripts = `${model.staging.prefix}${SCRIPTS_PREFIX}`;
  return [
    block("resource", ["google_project_iam_member", `${e.id}_dataproc_worker`], [
      ["project", raw("var.project")],
      ["role", DATAPROC_WORKER_ROLE],
      ["member", member],
      needs(GCP_APIS.projectIam),
    ], `The VM service account of Dataproc cluster "${e.config.cluster}".`),
    block("resource", ["google_storage_bucket_iam_member", `${e.id}_read_scripts`], [
      ["bucket", raw("google_storage_bucket.staging.name")],
      ["role", "roles/storage.objectViewer"],
      ["member", member],
      block("condition", [], [
        ["title", `read ${scripts}*: the init script and the launcher`],
        [
          "expression",
          `resource.name.startsWith(${
            celStr(`projects/_/buckets/${model.staging.bucket}/objects/${scripts}`)
          })`,
        ],
      ]),
    ]),
  ];
}

// ---------------------------------------------------------------- Azure

// What every storage account Glacier creates has besides its name: the pipeline's resource
// group, standard locally redundant storage, nothing public, the pipeline's tags.
const STORAGE_ACCOUNT: readonly Entry[] = [
  ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
  ["location", raw("azurerm_resource_group.glacier.location")],
  ["account_tier", "Standard"],
  ["account_replication_type", "LRS"],
  ["allow_nested_items_to_be_public", false],
  ["tags", raw("local.tags")],
];

function azure(ctx: Context): Record<string, Block[]> {
  const { model } = ctx;
  const remote = remoteExecutors(model);
  const functions = remote.filter((e) => e.resource.kind === "serverless");
  const vms = remote.filter((e) => e.resource.kind === "vm");
  const account = model.target.storageAccount;
  const accountRef = account ? "data.azurerm_storage_account.data" : "azurerm_storage_account.glacier";
  const main: Block[] = [
    block("terraform", [], [
      ["required_version", ">= 1.5.0"],
      block("required_providers", [], [["azurerm", { source: "hashicorp/azurerm", version: "~> 4.0" }]]),
    ]),
    block("provider", ["azurerm"], [block("features", [], [])]),
    block("locals", [], [["pipeline", model.pipeline], ["tags", ctx.tags]]),
    variable("location", "The Azure location.", model.target.region),
    variable("resource_group", "The resource group.", model.target.resourceGroup),
    variable(
      "artifact_root",
      "The project root, where `glacier build` writes .glacier/build/, relative to this directory.",
      ctx.artifactRoot,
    ),
    ...(vms.length ? sshVariables() : []),
    block("resource", ["azurerm_resource_group", "glacier"], [
      ["name", raw("var.resource_group")],
      ["location", raw("var.location")],
      ["tags", raw("local.tags")],
    ]),
  ];
  const accountName = account ??
    `glacier${model.pipeline.toLowerCase().replace(/[^a-z0-9]/g, "")}`.slice(0, 24);
  const storage: Block[] = [
    account
      ? block("data", ["azurerm_storage_account", "data"], [["name", account], [
        "resource_group_name",
        raw("azurerm_resource_group.glacier.name"),
      ]], "Existing storage account with the data containers.")
      : block("resource", ["azurerm_storage_account", "glacier"], [
        ["name", accountName],
        ...STORAGE_ACCOUNT,
      ]),
    block("resource", ["azurerm_storage_container", "staging"], [
      ["name", model.staging.bucket],
      ["storage_account_id", raw(`${accountRef}.id`)],
      ["container_access_type", "private"],
    ], "Data handed between executors."),
    block("resource", ["azurerm_storage_management_policy", "staging"], [
      ["storage_account_id", raw(`${accountRef}.id`)],
      block("rule", [], [
        ["name", "expire-glacier-runs"],
        ["enabled", true],
        block("filters", [], [["blob_types", ["blockBlob"]], ["prefix_match", [
          `${model.staging.bucket}/${model.staging.prefix}runs/`,
        ]]]),
        block("actions", [], [
          block("base_blob", [], [[
            "delete_after_days_since_modification_greater_than",
            model.staging.expireDays,
          ]]),
        ]),
      ]),
    ]),
    // A role can only be assigned on a container that exists: an existing account's data containers
    // are looked up (plan fails on a missing one), a new account's are created.
    ...model.buckets.map((b) =>
      account
        ? block("data", ["azurerm_storage_container", b.id], [
          ["name", b.name],
          ["storage_account_id", raw(`${accountRef}.id`)],
        ], `Existing data container ${b.name}.`)
        : block(
          "resource",
          ["azurerm_storage_container", b.id],
          [
            ["name", b.name],
            ["storage_account_id", raw(`${accountRef}.id`)],
            ["container_access_type", "private"],
          ],
          `Data container ${b.name}, in the account this configuration creates; name an existing account with AzureConfig({ storageAccount }) to use data already in one.`,
        )
    ),
    ...functions.map((e) =>
      block("resource", ["azurerm_storage_container", `${e.id}_package`], [
        ["name", packageContainer(e)],
        ["storage_account_id", raw(`${accountRef}.id`)],
        ["container_access_type", "private"],
      ], `The code package of ${appName(e)}.`)
    ),
    ...functions.filter((e) => planOf(e) !== "flex").map((e) =>
      block("resource", ["azurerm_storage_blob", `${e.id}_package`], [
        // The name carries the zip's hash, so a new build is a new URL and the app restarts on it.
        [
          "name",
          interp(`${e.resource.name}-`, raw(`substr(filesha256(${ctx.artifact(e).text}), 0, 16)`), ".zip"),
        ],
        ["storage_account_name", raw(`${accountRef}.name`)],
        ["storage_container_name", raw(`azurerm_storage_container.${e.id}_package.name`)],
        ["type", "Block"],
        ["source", ctx.artifact(e)],
        ["content_md5", raw(`filemd5(${ctx.artifact(e).text})`)],
      ], `The \`glacier build\` artifact the app runs from (WEBSITE_RUN_FROM_PACKAGE).`)
    ),
    ...(functions.length
      ? [block("data", ["azurerm_client_config", "current"], [], "The subscription, for host storage names.")]
      : []),
    ...functions.map((e) =>
      block("resource", ["azurerm_storage_account", `${e.id}_host`], [
        // Storage account names are global: 24 lower-case letters and digits, unique per subscription here.
        [
          "name",
          interp(
            "gh",
            raw(`substr(sha1(${
              interp(
                raw("data.azurerm_client_config.current.subscription_id"),
                `/${model.pipeline}/${e.resource.name}`,
              ).text
            }), 0, 22)`),
          ),
        ],
        ...STORAGE_ACCOUNT,
      ], `The Functions host storage of ${appName(e)} (AzureWebJobsStorage), apart from the data.`)
    ),
  ];
  const containerRef = (name: string): string => {
    if (name === model.staging.bucket) return "azurerm_storage_container.staging";
    const b = model.buckets.find((x) => x.name === name);
    if (!b) {
      throw new GlacierError(
        "SYSTEM:GENERATE_MODEL",
        `Pipeline "${model.pipeline}": container "${name}" has a grant but no bucket of the model`,
      );
    }
    return `${account ? "data." : ""}azurerm_storage_container.${b.id}`;
  };
  const principal = (e: ExecutorModel) =>
    e.resource.kind === "serverless"
      ? `${
        planOf(e) === "flex" ? "azurerm_function_app_flex_consumption" : "azurerm_linux_function_app"
      }.${e.id}.identity[0].principal_id`
      : `azurerm_linux_virtual_machine.${e.id}.identity[0].principal_id`;
  const fns: Block[] = functions.flatMap((e) => {
    const plan = planOf(e);
    const sku = plan === "flex" ? "FC1" : plan === "premium" ? "EP1" : "Y1";
    const loader = raw(`azurerm_user_assigned_identity.${e.id}_package.id`);
    const host = raw(`azurerm_user_assigned_identity.${e.id}_host.id`);
    const common: Entry[] = [
      ["name", appName(e)],
      ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
      ["location", raw("azurerm_resource_group.glacier.location")],
      ["service_plan_id", raw(`azurerm_service_plan.${e.id}.id`)],
      // The system identity reaches the data; the user-assigned ones, which exist and hold their
      // roles before the app does, only the code package and the host storage.
      block("identity", [], [["type", "SystemAssigned, UserAssigned"], ["identity_ids", [loader, host]]]),
    ];
    const after: Entry = ["depends_on", [
      raw(`azurerm_role_assignment.${e.id}_package`),
      raw(`azurerm_role_assignment.${e.id}_host`),
    ]];
    const settings = {
      GLACIER_PIPELINE: model.pipeline,
      GLACIER_STAGING: `az://${model.staging.bucket}/${model.staging.prefix}`,
    };
    // The host's own storage (AzureWebJobsStorage: leases, keys) through the host identity, by client id.
    const hostStorage = {
      AzureWebJobsStorage__credential: "managedidentity",
      AzureWebJobsStorage__clientId: raw(`azurerm_user_assigned_identity.${e.id}_host.client_id`),
    };
    return [
      block("resource", ["azurerm_user_assigned_identity", `${e.id}_host`], [
        ["name", `${appName(e)}-host`],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["location", raw("azurerm_resource_group.glacier.location")],
      ], `Owns the host storage of ${appName(e)} (its own account) and nothing else.`),
      block("resource", ["azurerm_user_assigned_identity", `${e.id}_package`], [
        ["name", `${appName(e)}-package`],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["location", raw("azurerm_resource_group.glacier.location")],
      ], `Reads (${plan === "flex" ? "and writes" : "only"}) the code package of ${appName(e)}.`),
      block("resource", ["azurerm_service_plan", e.id], [
        ["name", `${appName(e)}-plan`],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["location", raw("azurerm_resource_group.glacier.location")],
        ["os_type", "Linux"],
        ["sku_name", sku],
      ]),
      plan === "flex"
        ? block(
          "resource",
          ["azurerm_function_app_flex_consumption", e.id],
          [
            ...common,
            ["storage_container_type", "blobContainer"],
            [
              "storage_container_endpoint",
              interp(
                raw(`${accountRef}.primary_blob_endpoint`),
                raw(`azurerm_storage_container.${e.id}_package.name`),
              ),
            ],
            ["storage_authentication_type", "UserAssignedIdentity"],
            ["storage_user_assigned_identity_id", loader],
            ["runtime_name", AZURE_FUNCTION.entry.runtime],
            ["runtime_version", "1.0"],
            ["instance_memory_in_mb", Number(e.config.memory ?? AZURE_FUNCTION.defaults.memory)],
            // Flex Consumption deploys into its deployment container (one deploy).
            ["zip_deploy_file", ctx.artifact(e)],
            ["app_settings", {
              ...settings,
              ...hostStorage,
              AzureWebJobsStorage__accountName: raw(`azurerm_storage_account.${e.id}_host.name`),
            }],
            block("site_config", [], []),
            after,
          ],
          `Tasks ${taskList(e)}: ${AZURE_FUNCTION.runtime}.`,
        )
        : block("resource", ["azurerm_linux_function_app", e.id], [
          ...common,
          // The provider sets AzureWebJobsStorage__accountName; the settings below name the identity.
          ["storage_account_name", raw(`azurerm_storage_account.${e.id}_host.name`)],
          ["storage_uses_managed_identity", true],
          // Linux Consumption runs only from a package URL (no zip deploy): the blob, fetched with the
          // user-assigned identity, never a SAS.
          ["app_settings", {
            ...settings,
            ...hostStorage,
            AzureFunctionsJobHost__functionTimeout: durationText(
              Number(e.config.timeout ?? AZURE_FUNCTION.defaults.timeout),
            ),
            WEBSITE_RUN_FROM_PACKAGE: raw(`azurerm_storage_blob.${e.id}_package.url`),
            WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: loader,
          }],
          block("site_config", [], [block("application_stack", [], [["use_custom_runtime", true]])]),
          after,
        ], `Tasks ${taskList(e)}: ${AZURE_FUNCTION.runtime}.`),
    ];
  });
  const vm: Block[] = vms.length
    ? [
      block("resource", ["azurerm_virtual_network", "glacier"], [
        ["name", `glacier-${model.pipeline}-vnet`.replace(/_/g, "-")],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["location", raw("azurerm_resource_group.glacier.location")],
        ["address_space", ["10.42.0.0/16"]],
      ]),
      block("resource", ["azurerm_subnet", "glacier"], [
        ["name", "tasks"],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["virtual_network_name", raw("azurerm_virtual_network.glacier.name")],
        ["address_prefixes", ["10.42.1.0/24"]],
      ]),
      block("resource", ["azurerm_network_security_group", "glacier"], [
        ["name", `glacier-${model.pipeline}-ssh`.replace(/_/g, "-")],
        ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
        ["location", raw("azurerm_resource_group.glacier.location")],
        block("security_rule", [], [
          ["name", "ssh"],
          ["description", "SSH from the ssh_cidr input only"],
          ["priority", 100],
          ["direction", "Inbound"],
          ["access", "Allow"],
          ["protocol", "Tcp"],
          ["source_port_range", "*"],
          ["destination_port_range", "22"],
          ["source_address_prefix", raw(`var.${SSH_CIDR_INPUT}`)],
          ["destination_address_prefix", "*"],
        ]),
      ], "SSH from the ssh_cidr input only; the rest of the inbound traffic is denied by default."),
      block("resource", ["azurerm_subnet_network_security_group_association", "glacier"], [
        ["subnet_id", raw("azurerm_subnet.glacier.id")],
        ["network_security_group_id", raw("azurerm_network_security_group.glacier.id")],
      ]),
      ...vms.flatMap((e) => {
        const access = vmAccess(model, e);
        return [
          block("resource", ["azurerm_public_ip", e.id], [
            ["name", `${e.name.replace(/_/g, "-")}-ip`],
            ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
            ["location", raw("azurerm_resource_group.glacier.location")],
            ["allocation_method", "Static"],
            ["sku", "Standard"],
          ], "The host the VM config names (a Standard address: closed but for the security group's rules)."),
          block("resource", ["azurerm_network_interface", e.id], [
            ["name", `${e.name.replace(/_/g, "-")}-nic`],
            ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
            ["location", raw("azurerm_resource_group.glacier.location")],
            block("ip_configuration", [], [
              ["name", "internal"],
              ["subnet_id", raw("azurerm_subnet.glacier.id")],
              ["private_ip_address_allocation", "Dynamic"],
              ["public_ip_address_id", raw(`azurerm_public_ip.${e.id}.id`)],
            ]),
          ]),
          block("resource", ["azurerm_linux_virtual_machine", e.id], [
            ["name", e.name.replace(/_/g, "-")],
            ["resource_group_name", raw("azurerm_resource_group.glacier.name")],
            ["location", raw("azurerm_resource_group.glacier.location")],
            ["size", String(e.config.size ?? SERVICES["azure-vm"].defaults.size)],
            ["admin_username", access.user],
            ["network_interface_ids", [raw(`azurerm_network_interface.${e.id}.id`)]],
            ["custom_data", base64Heredoc(vmBootScript(access, "cloud"))],
            block("admin_ssh_key", [], [["username", access.user], [
              "public_key",
              raw(`var.${SSH_PUBLIC_KEY_INPUT}`),
            ]]),
            block("identity", [], [["type", "SystemAssigned"]]),
            block("os_disk", [], [["caching", "ReadWrite"], ["storage_account_type", "Standard_LRS"]]),
            block("source_image_reference", [], [
              ["publisher", "Canonical"],
              ["offer", "ubuntu-24_04-lts"],
              ["sku", "server"],
              ["version", "latest"],
            ]),
            // The subnet admits SSH only once its security group is attached.
            ["depends_on", [raw("azurerm_subnet_network_security_group_association.glacier")]],
          ], `Tasks ${taskList(e)}, reached over SSH as ${access.user}; tasks run from ${access.dir}.`),
        ];
      }),
    ]
    : [];
  const iam: Block[] = functions.map((e) =>
    block("resource", ["azurerm_role_assignment", `${e.id}_package`], [
      ["scope", raw(`azurerm_storage_container.${e.id}_package.resource_manager_id`)],
      [
        "role_definition_name",
        planOf(e) === "flex" ? "Storage Blob Data Contributor" : "Storage Blob Data Reader",
      ],
      ["principal_id", raw(`azurerm_user_assigned_identity.${e.id}_package.principal_id`)],
    ], `The package identity of ${appName(e)} on its package container.`)
  );
  // Azure documents Storage Blob Data Owner on the host storage account for the Functions host; the
  // account is the app's own, so the role reaches no data and no other app's keys.
  iam.push(...functions.map((e) =>
    block("resource", ["azurerm_role_assignment", `${e.id}_host`], [
      ["scope", raw(`azurerm_storage_account.${e.id}_host.id`)],
      ["role_definition_name", "Storage Blob Data Owner"],
      ["principal_id", raw(`azurerm_user_assigned_identity.${e.id}_host.principal_id`)],
    ], `The host identity of ${appName(e)} on its host storage account.`)
  ));
  for (const e of remote) {
    const containers = new Map<string, Grant[]>();
    for (const g of e.grants) containers.set(g.bucket, [...containers.get(g.bucket) ?? [], g]);
    // The staging container is the executor's own: all of it.
    const whole = (access: Grant["access"]): Grant => ({
      bucket: model.staging.bucket,
      pattern: "*",
      prefix: "",
      access,
    });
    containers.set(model.staging.bucket, [whole("read"), whole("write")]);
    for (const [container, grants] of [...containers].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
      const writes = grants.some((g) => g.access === "write");
      const { condition, widened } = azurePathCondition(grants);
      const scoped = `${e.resource.name} in container ${container}: ${
        grants.map((g) => `${g.access} ${g.pattern}`).join(", ")
      }`;
      iam.push(
        block(
          "resource",
          ["azurerm_role_assignment", `${e.id}_${container.replace(/[^a-z0-9_]+/gi, "_").toLowerCase()}`],
          [
            ["scope", raw(`${containerRef(container)}.resource_manager_id`)],
            ["role_definition_name", writes ? "Storage Blob Data Contributor" : "Storage Blob Data Reader"],
            ["principal_id", raw(principal(e))],
            ...(condition ? [["condition_version", "2.0"], ["condition", condition]] as Entry[] : []),
          ],
          condition
            ? `${scoped} (a role condition on blob paths${
              widened
                ? "; a path is cut before a quote, backslash or control character, which a condition cannot hold"
                : ""
            }).`
            : `${e.resource.name} ${writes ? "reads and writes" : "reads"} container ${container}${
              widened
                ? " (a path starts with a quote, backslash or control character, which a condition cannot hold)"
                : ""
            }.`,
        ),
      );
    }
  }
  const outputs: Block[] = [
    ...functions.map((e) =>
      output(
        `${e.id}_function_app`,
        `The function app of "${e.resource.name}".`,
        raw(`${principal(e).split(".identity")[0]}.name`),
      )
    ),
    ...vms.map((e) =>
      output(
        `${e.id}_public_ip`,
        `${vmHostHint(e, vmAccess(model, e), "AzureVMConfig")}.`,
        raw(`azurerm_public_ip.${e.id}.ip_address`),
      )
    ),
    output("staging_container", "The staging container.", raw("azurerm_storage_container.staging.name")),
  ];
  return {
    "main.tf": main,
    "functions.tf": fns,
    "vm.tf": vm,
    "storage.tf": storage,
    "iam.tf": iam,
    "outputs.tf": outputs,
  };
}

const BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";

// An Azure ABAC condition (version 2.0) that keeps a container role
// assignment to the grants' blob paths: reads (and listings, by the request's
// prefix) to what the executor reads or writes, writes to what it writes.
// Undefined when the grants cover the whole container. A quote, backslash or
// control character cannot be written in a condition's string: a path is cut
// before the first one and granted as that prefix (`widened` says so).
function azurePathCondition(input: readonly Grant[]): { condition?: string; widened: boolean } {
  // deno-lint-ignore no-control-regex -- control characters are what it cuts at
  const bad = /['\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
  const cut = (text: string) => {
    const at = text.search(bad);
    return at < 0 ? text : text.slice(0, at);
  };
  // A grant's list prefix is a prefix of its path prefix: testing the path is enough.
  const widened = input.some((g) => bad.test(g.prefix));
  const grants = input.map((g) =>
    bad.test(g.prefix)
      ? { ...g, prefix: cut(g.prefix), pattern: `${cut(g.prefix)}*`, list: cut(g.list ?? g.prefix) }
      : g
  );
  const paths = (list: readonly Grant[], attribute: string, exactOp: string, of = (g: Grant) => g.prefix) =>
    list.some((g) => of(g) === "")
      ? undefined
      : `(${
        list.map((g) => `${attribute} ${g.pattern.endsWith("*") ? "StringStartsWith" : exactOp} '${of(g)}'`)
          .join(" OR ")
      })`;
  const writes = grants.filter((g) => g.access === "write");
  const clauses = [
    [
      `!(ActionMatches{'${BLOB}/read'} AND NOT SubOperationMatches{'Blob.List'})`,
      paths(grants, `@Resource[${BLOB}:path]`, "StringEquals"),
    ],
    [
      `!(ActionMatches{'${BLOB}/read'} AND SubOperationMatches{'Blob.List'})`,
      paths(grants, `@Request[${BLOB}:prefix]`, "StringStartsWith", (g) => g.list ?? g.prefix),
    ],
    ...(writes.length
      ? [[
        ["write", "add/action", "delete", "move/action"].map((a) => `!(ActionMatches{'${BLOB}/${a}'})`).join(
          " AND ",
        ),
        paths(writes, `@Resource[${BLOB}:path]`, "StringEquals"),
      ]]
      : []),
  ].filter((c): c is [string, string] => c[1] !== undefined);
  return {
    ...(clauses.length
      ? { condition: clauses.map(([action, where]) => `((${action}) OR ${where})`).join(" AND ") }
      : {}),
    widened,
  };
}

// An Azure Functions hosting plan: Flex Consumption unless the config says otherwise.
const planOf = (e: ExecutorModel): string => String(e.config.plan ?? AZURE_FUNCTION.defaults.plan);

const appName = (e: ExecutorModel): string => e.name.replace(/_/g, "-");

// A container name: 3-63 lower-case letters, digits and single hyphens.
function packageContainer(e: ExecutorModel): string {
  return `${appName(e)}-package`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-{2,}/g, "-")
    .slice(0, 63).replace(/^-+|-+$/g, "");
}

function durationText(seconds: number): string {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return [h, m, s].map((n) => String(n).padStart(2, "0")).join(":");
}
