/**
 * CloudFormation from a pipeline's infrastructure model: one YAML template
 * (`template.yaml`) with the same AWS resources as the Terraform output.
 * Intrinsic functions use their long form (`Fn::GetAtt`, `Ref`, `Fn::Sub`),
 * so the template is plain YAML any parser reads. Databricks has no
 * CloudFormation resource type here: its jobs are written next to the
 * template as Jobs API bodies (`databricks/jobs.json`).
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import { type ExecutorModel, headerLines, type InfraModel, pascal, remoteExecutors } from "./_model.ts";
import { databricksJobsJson } from "./_databricks.ts";
import { databricksLauncher, denoInstallScript } from "./_scripts.ts";
import { yamlDocument } from "./_yaml.ts";
import { cfnSub } from "./_escape.ts";
import {
  executorStatements,
  type IamResource,
  type IamStatement,
  orchestratorStatements,
  policyDocument,
  s3Statements,
} from "./iam.ts";
import type { GeneratedFiles } from "./write_files.ts";

/** The S3 key under the artifact bucket where a resource's `glacier build` artifact is uploaded. */
export function artifactKey(model: InfraModel, e: ExecutorModel): string {
  return `glacier/${model.pipeline}/${e.resource.name}.zip`;
}

/** Logical id of an executor's resource of some kind: `LambdaFunction`, `LambdaRole`, … */
export function logicalId(e: ExecutorModel, what: string): string {
  return `${pascal(e.id)}${what}`;
}

const envParam = (name: string) => `Env${pascal(name)}`;

/**
 * Renders the CloudFormation template.
 *
 * @param model The infrastructure model (AWS).
 * @returns `template.yaml`, and `databricks/…` files when the pipeline uses Databricks.
 * @throws {GlacierError} When the model is not for AWS (`USER:GENERATE_CLOUD_MISMATCH`).
 */
export function generateCloudFormation(model: InfraModel): GeneratedFiles {
  if (model.target.cloud !== "aws") {
    throw new GlacierError(
      "USER:GENERATE_CLOUD_MISMATCH",
      `Cannot generate cloudformation for pipeline "${model.pipeline}": CloudFormation is AWS only and the pipeline runs on ${model.target.cloud.toUpperCase()}; use format "terraform"`,
    );
  }
  const remote = remoteExecutors(model);
  const lambdas = remote.filter((e) => e.resource.service === "lambda");
  const vms = remote.filter((e) => e.resource.service === "ec2");
  const profiled = remote.filter((e) => e.resource.service !== "lambda");
  const locals = model.executors.filter((e) => e.resource.kind === "local");
  const envNames = [...new Set(lambdas.flatMap((e) => (e.config.environment as string[] | undefined) ?? []))]
    .sort();
  const tags = [
    { Key: "glacier:pipeline", Value: model.pipeline },
    { Key: "glacier:version", Value: model.version },
  ];

  const parameters: Record<string, unknown> = {};
  if (lambdas.length) {
    parameters.ArtifactBucket = {
      Type: "String",
      Description:
        `The S3 bucket holding the glacier build artifacts (uploaded under glacier/${model.pipeline}/)`,
    };
  }
  if (vms.some((v) => !v.config.instanceId)) {
    parameters.SshKeyName = {
      Type: "AWS::EC2::KeyPair::KeyName",
      Description: "The key pair for SSH to the task VMs",
    };
  }
  for (const n of envNames) {
    parameters[envParam(n)] = {
      Type: "String",
      NoEcho: true,
      Description: `The value of ${n} for the pipeline's functions`,
    };
  }

  const bucketArn = (bucket: string, path?: string): unknown =>
    bucket === model.staging.bucket
      ? path === undefined
        ? { "Fn::GetAtt": ["StagingBucket", "Arn"] }
        : { "Fn::Sub": `\${StagingBucket.Arn}/${cfnSub(path)}` }
      : {
        "Fn::Sub": `arn:\${AWS::Partition}:s3:::${cfnSub(bucket)}${
          path === undefined ? "" : `/${cfnSub(path)}`
        }`,
      };
  const resource = (r: IamResource): unknown => {
    if (typeof r === "string") return r;
    if (r.ref === "bucket") return bucketArn(r.bucket, r.path);
    const e = model.executors.find((x) => x.id === r.executor)!;
    if (r.ref === "logGroup") return { "Fn::GetAtt": [logicalId(e, "LogGroup"), "Arn"] };
    return r.qualified
      ? { "Fn::Sub": `\${${logicalId(e, "Function")}.Arn}:*` }
      : { "Fn::GetAtt": [logicalId(e, "Function"), "Arn"] };
  };
  const policy = (statements: readonly IamStatement[]) => policyDocument(statements, resource);
  const assume = (service: string) => ({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: [service] }, Action: ["sts:AssumeRole"] }],
  });

  const resources: Record<string, unknown> = {
    StagingBucket: {
      Type: "AWS::S3::Bucket",
      Properties: {
        BucketName: model.staging.bucket,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [{
            Id: "expire-glacier-runs",
            Status: "Enabled",
            Prefix: `${model.staging.prefix}runs/`,
            ExpirationInDays: model.staging.expireDays,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }],
        },
        Tags: tags,
      },
    },
  };
  for (const e of lambdas) {
    const c = e.config;
    const variables: Record<string, unknown> = {
      GLACIER_PIPELINE: model.pipeline,
      GLACIER_STAGING: `s3://${model.staging.bucket}/${model.staging.prefix}`,
    };
    for (const n of (c.environment as string[] | undefined) ?? []) variables[n] = { Ref: envParam(n) };
    resources[logicalId(e, "LogGroup")] = {
      Type: "AWS::Logs::LogGroup",
      Properties: { LogGroupName: `/aws/lambda/${e.name}`, RetentionInDays: 14 },
    };
    resources[logicalId(e, "Function")] = {
      Type: "AWS::Lambda::Function",
      DependsOn: [logicalId(e, "LogGroup")],
      Properties: {
        FunctionName: e.name,
        Description: `Glacier pipeline ${model.pipeline}: ${e.tasks.map((t) => t.node.id).join(", ")}`,
        Role: { "Fn::GetAtt": [logicalId(e, "Role"), "Arn"] },
        Code: { S3Bucket: { Ref: "ArtifactBucket" }, S3Key: artifactKey(model, e) },
        Runtime: "provided.al2023",
        Handler: "bootstrap",
        Architectures: [String(c.architecture ?? "x86_64")],
        MemorySize: Number(c.memory ?? 1024),
        Timeout: Number(c.timeout ?? 300),
        EphemeralStorage: { Size: Number(c.ephemeralStorage ?? 512) },
        ...(typeof c.concurrency === "number" ? { ReservedConcurrentExecutions: c.concurrency } : {}),
        Environment: { Variables: variables },
        Tags: tags,
      },
    };
  }
  for (const e of [...lambdas, ...profiled]) {
    resources[logicalId(e, "Role")] = {
      Type: "AWS::IAM::Role",
      Properties: {
        RoleName: e.name,
        Description: `Glacier ${model.pipeline}: ${e.resource.service} executor ${e.resource.name}`,
        AssumeRolePolicyDocument: assume(
          e.resource.service === "lambda" ? "lambda.amazonaws.com" : "ec2.amazonaws.com",
        ),
        Policies: [{
          PolicyName: "glacier-least-privilege",
          PolicyDocument: policy(executorStatements(model, e)),
        }],
        Tags: tags,
      },
    };
    if (e.resource.service !== "lambda") {
      resources[logicalId(e, "InstanceProfile")] = {
        Type: "AWS::IAM::InstanceProfile",
        Properties: { InstanceProfileName: e.name, Roles: [{ Ref: logicalId(e, "Role") }] },
      };
    }
  }
  for (const e of vms) {
    if (e.config.instanceId) continue;
    resources[logicalId(e, "Instance")] = {
      Type: "AWS::EC2::Instance",
      Properties: {
        ImageId: "{{resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64}}",
        InstanceType: String(e.config.instanceType ?? "m7i.large"),
        IamInstanceProfile: { Ref: logicalId(e, "InstanceProfile") },
        KeyName: { Ref: "SshKeyName" },
        UserData: { "Fn::Base64": denoInstallScript() },
        Tags: [...tags, { Key: "Name", Value: e.name }],
      },
    };
  }
  for (const e of locals) {
    resources[logicalId(e, "Policy")] = {
      Type: "AWS::IAM::ManagedPolicy",
      Properties: {
        ManagedPolicyName: e.name,
        Description: `Glacier ${model.pipeline}: for whoever runs the local tasks (${
          e.tasks.map((t) => t.node.id).join(", ")
        })`,
        PolicyDocument: policy(s3Statements(e.grants, model, true)),
      },
    };
  }
  const invoke = orchestratorStatements(model);
  if (invoke.length) {
    resources.OrchestratorRole = {
      Type: "AWS::IAM::Role",
      Properties: {
        RoleName: `glacier-${model.pipeline}-orchestrator`.toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(
          0,
          64,
        ),
        Description: `Glacier ${model.pipeline}: may invoke exactly the pipeline's functions`,
        AssumeRolePolicyDocument: assume("states.amazonaws.com"),
        Policies: [{ PolicyName: "glacier-invoke-functions", PolicyDocument: policy(invoke) }],
        Tags: tags,
      },
    };
  }

  const outputs: Record<string, unknown> = {
    StagingBucketName: { Description: "The staging bucket", Value: { Ref: "StagingBucket" } },
  };
  for (const e of lambdas) {
    outputs[logicalId(e, "FunctionArn")] = {
      Description: `The Lambda function of ${e.resource.name}`,
      Value: { "Fn::GetAtt": [logicalId(e, "Function"), "Arn"] },
    };
  }
  for (const e of profiled) {
    outputs[logicalId(e, "InstanceProfileArn")] = {
      Description: `The instance profile for ${e.resource.name}`,
      Value: { "Fn::GetAtt": [logicalId(e, "InstanceProfile"), "Arn"] },
    };
  }
  for (const e of locals) {
    outputs[logicalId(e, "PolicyArn")] = {
      Description: "The policy for whoever runs the local tasks",
      Value: { Ref: logicalId(e, "Policy") },
    };
  }
  if (invoke.length) {
    outputs.OrchestratorRoleArn = {
      Description: "The role orchestrators assume",
      Value: { "Fn::GetAtt": ["OrchestratorRole", "Arn"] },
    };
  }

  const template = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `Glacier pipeline ${model.pipeline}${model.description ? `: ${model.description}` : ""}`,
    ...(Object.keys(parameters).length ? { Parameters: parameters } : {}),
    Resources: resources,
    Outputs: outputs,
  };
  const files: GeneratedFiles = { "template.yaml": yamlDocument(headerLines(model), template) };
  const jobs = databricksJobsJson(model);
  if (jobs) {
    files["databricks/jobs.json"] = jobs;
    files["databricks/init_deno.sh"] = denoInstallScript(headerLines(model));
    files["databricks/glacier_launcher.py"] = databricksLauncher(headerLines(model));
  }
  return files;
}
