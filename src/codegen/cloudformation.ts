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
import { headerLines, type InfraModel, pascal } from "./_model.ts";
import {
  type AwsEnvValue,
  type AwsNetwork,
  type AwsRef,
  type AwsResource,
  awsStack,
  type AwsText,
  RESOURCE_SUFFIX,
} from "./_aws_stack.ts";
import { databricksJobsJson } from "./_databricks.ts";
import { databricksLauncher, denoInstallScript } from "./_scripts.ts";

const cfnRefId = (r: AwsRef) => logicalId(r.ref, r.id);
import { yamlDocument } from "./_yaml.ts";
import { cfnSub } from "./_escape.ts";
import { type IamResource, type IamStatement, policyDocument } from "./iam.ts";
import type { GeneratedFiles } from "./write_files.ts";

/** The logical id of a stack resource: `ApiFunction`, `StagingBucket`, … */
export function logicalId(kind: AwsResource["kind"], id: string): string {
  return `${pascal(id)}${RESOURCE_SUFFIX[kind]}`;
}

const param = (name: string) => pascal(name);

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
  const stack = awsStack(model, { uploads: false });
  const byId = new Map(stack.resources.map((r) => [`${r.kind}:${r.id}`, r]));
  const tags = [
    { Key: "glacier:pipeline", Value: model.pipeline },
    { Key: "glacier:version", Value: model.version },
  ];
  const parameters: Record<string, unknown> = {};
  for (const i of stack.inputs) {
    parameters[param(i.name)] = {
      Type: "String",
      ...(i.secret ? { NoEcho: true } : {}),
      ...(i.default !== undefined ? { Default: i.default } : {}),
      ...(i.cidr
        ? {
          AllowedPattern: "^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$",
          ConstraintDescription: "an IPv4 CIDR such as 203.0.113.7/32",
        }
        : {}),
      Description: i.description,
    };
  }
  // CloudFormation cannot look a subnet's VPC up: the person applying names it.
  const vpcParameter = (n: AwsNetwork) => `${pascal(n.id)}VpcId`;
  for (const n of stack.resources.filter((r): r is AwsNetwork => r.kind === "network")) {
    if (n.subnetId === undefined) continue;
    parameters[vpcParameter(n)] = {
      Type: "AWS::EC2::VPC::Id",
      Description: `The VPC of subnet ${n.subnetId} (EC2Config({ subnetId })), for the VMs' security groups`,
    };
  }
  const network = (r: AwsRef) => byId.get(`network:${r.id}`) as AwsNetwork;
  const text = (v: AwsText): unknown => typeof v === "string" ? v : { Ref: param(v.input) };
  const envText = (v: AwsEnvValue): unknown => typeof v === "string" || "input" in v ? text(v) : cfnRef(v);
  // A bucket the stack does not create has no logical id: its ARN is written out.
  const existing = (r: AwsRef) =>
    r.ref === "existingBucket" ? byId.get(`existingBucket:${r.id}`) as { name: string } : undefined;
  const cfnRef = (r: AwsRef): unknown => {
    const bucket = existing(r);
    if (bucket) {
      return r.attr === "arn"
        ? { "Fn::Sub": `arn:\${AWS::Partition}:s3:::${cfnSub(bucket.name)}` }
        : bucket.name;
    }
    const id = logicalId(r.ref, r.id);
    if (r.ref === "ami") {
      return `{{resolve:ssm:${(byId.get(`ami:${r.id}`) as { parameter: string }).parameter}}}`;
    }
    // Ref of a managed policy or a secret is its ARN.
    if (r.attr === "arn" && r.ref !== "managedPolicy" && r.ref !== "secret") {
      return { "Fn::GetAtt": [id, "Arn"] };
    }
    if (r.attr === "privateIp") return { "Fn::GetAtt": [id, "PrivateIp"] };
    if (r.attr === "publicIp") return { "Fn::GetAtt": [id, "PublicIp"] };
    return { Ref: id };
  };
  const bucketArn = (bucket: string, path?: string): unknown => {
    const id = stack.bucketIds[bucket];
    const r = byId.get(`bucket:${id}`);
    if (!r) {
      return {
        "Fn::Sub": `arn:\${AWS::Partition}:s3:::${cfnSub(bucket)}${
          path === undefined ? "" : `/${cfnSub(path)}`
        }`,
      };
    }
    const lid = logicalId("bucket", id);
    return path === undefined
      ? { "Fn::GetAtt": [lid, "Arn"] }
      : { "Fn::Sub": `\${${lid}.Arn}/${cfnSub(path)}` };
  };
  const resource = (r: IamResource): unknown => {
    if (typeof r === "string") return r;
    if (r.ref === "bucket") return bucketArn(r.bucket, r.path);
    if (r.ref === "logGroup") return { "Fn::GetAtt": [logicalId("logGroup", r.executor), "Arn"] };
    if (r.ref === "secret") return { Ref: logicalId("secret", r.id) };
    return r.qualified
      ? { "Fn::Sub": `\${${logicalId("function", r.executor)}.Arn}:*` }
      : { "Fn::GetAtt": [logicalId("function", r.executor), "Arn"] };
  };
  const policy = (statements: readonly IamStatement[]) => policyDocument(statements, resource);

  const resources: Record<string, unknown> = {};
  for (const r of stack.resources) {
    const id = logicalId(r.kind, r.id);
    switch (r.kind) {
      case "bucket":
        resources[id] = {
          Type: "AWS::S3::Bucket",
          Properties: {
            BucketName: r.name,
            BucketEncryption: {
              ServerSideEncryptionConfiguration: [{
                ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" },
              }],
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
                Prefix: r.expire.prefix,
                ExpirationInDays: r.expire.days,
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              }],
            },
            Tags: tags,
          },
        };
        break;
      case "logGroup":
        resources[id] = {
          Type: "AWS::Logs::LogGroup",
          Properties: { LogGroupName: r.name, RetentionInDays: r.retentionDays },
        };
        break;
      case "function": {
        const variables: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r.environment)) variables[k] = envText(v);
        resources[id] = {
          Type: "AWS::Lambda::Function",
          DependsOn: [cfnRefId(r.logGroup)],
          Properties: {
            FunctionName: r.name,
            Description: r.description,
            Role: cfnRef(r.role),
            Code: {
              S3Bucket: "input" in r.code.bucket ? text(r.code.bucket) : cfnRef(r.code.bucket),
              S3Key: typeof r.code.key === "string" ? r.code.key : cfnRef(r.code.key),
            },
            Runtime: r.runtime,
            Handler: r.handler,
            Architectures: [r.architecture],
            MemorySize: r.memory,
            Timeout: r.timeout,
            EphemeralStorage: { Size: r.ephemeralStorage },
            Environment: { Variables: variables },
            Tags: tags,
          },
        };
        break;
      }
      case "secret":
        resources[id] = {
          Type: "AWS::SecretsManager::Secret",
          Properties: {
            Name: r.name,
            Description: r.description,
            SecretString: text(r.value),
            Tags: tags,
          },
        };
        break;
      case "role":
        resources[id] = {
          Type: "AWS::IAM::Role",
          Properties: {
            RoleName: r.name,
            Description: r.description,
            AssumeRolePolicyDocument: {
              Version: "2012-10-17",
              Statement: [{
                Effect: "Allow",
                Principal: { Service: [r.service] },
                Action: ["sts:AssumeRole"],
              }],
            },
            Policies: [{ PolicyName: r.policyName, PolicyDocument: policy(r.statements) }],
            Tags: tags,
          },
        };
        break;
      case "instanceProfile":
        resources[id] = {
          Type: "AWS::IAM::InstanceProfile",
          Properties: { InstanceProfileName: r.name, Roles: [cfnRef(r.role)] },
        };
        break;
      case "securityGroup": {
        const n = network(r.vpc);
        resources[id] = {
          Type: "AWS::EC2::SecurityGroup",
          Properties: {
            GroupName: r.name,
            GroupDescription: r.description,
            // Without a VpcId the group is the default VPC's.
            ...(n.subnetId !== undefined ? { VpcId: { Ref: vpcParameter(n) } } : {}),
            SecurityGroupIngress: [{
              Description: "SSH from the ssh_cidr input only",
              IpProtocol: "tcp",
              FromPort: r.ssh.port,
              ToPort: r.ssh.port,
              CidrIp: text(r.ssh.from),
            }],
            SecurityGroupEgress: [{
              Description: "Out to Deno, npm and AWS APIs",
              IpProtocol: "-1",
              CidrIp: "0.0.0.0/0",
            }],
            Tags: tags,
          },
        };
        break;
      }
      case "keyPair":
        resources[id] = {
          Type: "AWS::EC2::KeyPair",
          Properties: { KeyName: r.name, PublicKeyMaterial: text(r.publicKey), Tags: tags },
        };
        break;
      case "instance": {
        const n = network(r.subnet);
        resources[id] = {
          Type: "AWS::EC2::Instance",
          Properties: {
            ImageId: cfnRef(r.ami),
            InstanceType: r.instanceType,
            IamInstanceProfile: cfnRef(r.profile),
            KeyName: cfnRef(r.keyName),
            // Without a SubnetId EC2 launches into a default subnet of the default VPC.
            ...(n.subnetId !== undefined ? { SubnetId: n.subnetId } : {}),
            SecurityGroupIds: r.securityGroups.map(cfnRef),
            MetadataOptions: { HttpTokens: "required" },
            UserData: { "Fn::Base64": r.userData },
            Tags: [...tags, { Key: "Name", Value: r.name }],
          },
        };
        break;
      }
      case "eip":
        resources[id] = {
          Type: "AWS::EC2::EIP",
          Properties: {
            Domain: "vpc",
            InstanceId: cfnRef(r.instance),
            Tags: [...tags, { Key: "Name", Value: r.name }],
          },
        };
        break;
      case "managedPolicy":
        resources[id] = {
          Type: "AWS::IAM::ManagedPolicy",
          Properties: {
            ManagedPolicyName: r.name,
            Description: r.description,
            PolicyDocument: policy(r.statements),
          },
        };
        break;
      // Looked up, not created: existing buckets and instances, AMIs (resolved from SSM), uploads (none here).
      case "existingBucket":
      case "existingInstance":
      case "ami":
      case "network":
      case "artifactObject":
        break;
    }
  }
  const outputs: Record<string, unknown> = {};
  for (const o of stack.outputs) {
    if (o.value.ref === "existingInstance") continue;
    outputs[pascal(o.name)] = { Description: o.description, Value: cfnRef(o.value) };
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
