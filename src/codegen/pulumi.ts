/**
 * Pulumi from a pipeline's infrastructure model: a TypeScript program
 * (`index.ts`) using `@pulumi/aws`, with `Pulumi.yaml`, `package.json` and
 * `tsconfig.json` to run it, declaring the same AWS resources as the
 * Terraform output. Databricks jobs are written as Jobs API bodies next to it.
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import { headerLines, type InfraModel } from "./_model.ts";
import {
  type AwsEnvValue,
  type AwsNetwork,
  type AwsRef,
  awsStack,
  type AwsText,
  RESOURCE_SUFFIX,
} from "./_aws_stack.ts";
import { databricksJobsJson } from "./_databricks.ts";
import { databricksLauncher, denoInstallScript } from "./_scripts.ts";
import { type IamResource, type IamStatement, policyDocument } from "./iam.ts";
import type { GeneratedFiles } from "./write_files.ts";
import { commentText, tsStr, tsTemplate, yamlStr } from "./_escape.ts";

/** The npm versions the generated Pulumi program is written against. */
export const PULUMI_VERSIONS: Readonly<Record<string, string>> = Object.freeze({
  "@pulumi/aws": "7.48.0",
  "@pulumi/pulumi": "3.276.0",
});

class Code {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}
const code = (text: string) => new Code(text);

function ts(v: unknown, indent = ""): string {
  if (v instanceof Code) return v.text;
  if (typeof v === "string") return tsStr(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const items = v.map((x) => ts(x, indent + "  "));
    const flat = `[${items.join(", ")}]`;
    return flat.length <= 80 && !flat.includes("\n")
      ? flat
      : `[\n${items.map((i) => `${indent}  ${i},`).join("\n")}\n${indent}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined);
  if (keys.length === 0) return "{}";
  const k = (s: string) => /^[A-Za-z_$][\w$]*$/.test(s) ? s : tsStr(s);
  return `{\n${
    keys.map((key) => `${indent}  ${k(key)}: ${ts(o[key], indent + "  ")},`).join("\n")
  }\n${indent}}`;
}

const camel = (id: string) => id.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const tpl = tsTemplate;

/**
 * Renders the Pulumi program.
 *
 * @param model The infrastructure model (AWS).
 * @param options Where artifacts are found, relative to the program's folder.
 * @returns `index.ts`, `Pulumi.yaml`, `package.json`, `tsconfig.json`, and `databricks/…` when used.
 * @throws {GlacierError} When the model is not for AWS (`USER:GENERATE_CLOUD_MISMATCH`).
 */
export function generatePulumi(model: InfraModel, options: { artifactRoot?: string } = {}): GeneratedFiles {
  if (model.target.cloud !== "aws") {
    throw new GlacierError(
      "USER:GENERATE_CLOUD_MISMATCH",
      `Cannot generate pulumi for pipeline "${model.pipeline}": the Pulumi program uses @pulumi/aws and the pipeline runs on ${model.target.cloud.toUpperCase()}; use format "terraform"`,
    );
  }
  const artifactRoot = options.artifactRoot ?? ".";
  const stack = awsStack(model, { uploads: true });
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  const hashes = stack.resources.some((r) => r.kind === "function" && r.code.hashOf !== undefined);

  out.push(...headerLines(model).map((l) => `// ${commentText(l)}`));
  if (hashes) {
    line('import { createHash } from "node:crypto";');
    line('import { readFileSync } from "node:fs";');
  }
  line('import * as aws from "@pulumi/aws";');
  line('import * as pulumi from "@pulumi/pulumi";');
  line();
  line('const config = new pulumi.Config("glacier");');
  line(`/** The project root, where \`glacier build\` writes .glacier/build/, relative to this folder. */`);
  line(`const artifactRoot = config.get("artifactRoot") ?? ${tsStr(artifactRoot)};`);
  line(`const tags = ${ts({ "glacier:pipeline": model.pipeline, "glacier:version": model.version })};`);
  for (const i of stack.inputs) {
    line(
      `const ${camel(i.name)} = config.${i.secret ? "requireSecret" : "require"}(${
        tsStr(camel(i.name))
      }); // ${commentText(i.description)}`,
    );
    if (i.cidr) {
      line(`if (!/^(\\d{1,3}\\.){3}\\d{1,3}\\/(\\d|[12]\\d|3[0-2])$/.test(${camel(i.name)})) {`);
      line(
        `  throw new Error(${
          tsStr(`glacier:${camel(i.name)} must be an IPv4 CIDR such as 203.0.113.7/32`)
        });`,
      );
      line("}");
    }
  }
  line();

  const name = (r: AwsRef) => `${camel(r.id)}${RESOURCE_SUFFIX[r.ref]}`;
  const attr: Record<AwsRef["attr"], string> = {
    arn: "arn",
    name: "name",
    id: "id",
    key: "key",
    privateIp: "privateIp",
    publicIp: "publicIp",
    vpcId: "vpcId",
    subnetId: "id",
  };
  const networks = new Map(
    stack.resources.filter((r): r is AwsNetwork => r.kind === "network").map((n) => [n.id, n]),
  );
  const pref = (r: AwsRef): Code => {
    if (r.ref === "ami") return code(`${name(r)}.value`);
    if (r.ref === "keyPair" && r.attr === "name") return code(`${name(r)}.keyName`);
    // The default VPC's first default subnet by id, as Terraform picks it.
    if (r.ref === "network" && networks.get(r.id)!.subnetId === undefined) {
      return code(
        r.attr === "vpcId" ? `${name(r)}Vpc.id` : `${name(r)}.ids.apply((ids) => [...ids].sort()[0])`,
      );
    }
    if ((r.ref === "bucket" || r.ref === "existingBucket") && r.attr === "name") {
      return code(`${name(r)}.bucket`);
    }
    return code(`${name(r)}.${attr[r.attr]}`);
  };
  const text = (v: AwsText): unknown => typeof v === "string" ? v : code(camel(v.input));
  const envText = (v: AwsEnvValue): unknown => typeof v === "string" || "input" in v ? text(v) : pref(v);
  const bucketVar = (bucket: string) => {
    const id = stack.bucketIds[bucket];
    return `${camel(id)}Bucket`;
  };
  const resource = (r: IamResource): Code | string => {
    if (typeof r === "string") return r;
    if (r.ref === "bucket") {
      return code(
        r.path === undefined
          ? `${bucketVar(r.bucket)}.arn`
          : `pulumi.interpolate\`\${${bucketVar(r.bucket)}.arn}/${tpl(r.path)}\``,
      );
    }
    if (r.ref === "logGroup") return code(`pulumi.interpolate\`\${${camel(r.executor)}LogGroup.arn}:*\``);
    if (r.ref === "secret") return code(`${camel(r.id)}Secret.arn`);
    return code(
      r.qualified
        ? `pulumi.interpolate\`\${${camel(r.executor)}Function.arn}:*\``
        : `${camel(r.executor)}Function.arn`,
    );
  };
  const policy = (statements: readonly IamStatement[], indent: string) =>
    code(`pulumi.jsonStringify(${ts(policyDocument(statements, resource), indent)})`);
  const assume = (service: string) =>
    code(`JSON.stringify(${
      ts({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
      }, "  ")
    })`);
  const path = (source: string) => code(`\`\${artifactRoot}/${tpl(source)}\``);

  for (const r of stack.resources) {
    const v = name({ ref: r.kind, id: r.id, attr: "id" });
    switch (r.kind) {
      case "bucket":
        line(`// ${commentText(r.comment)}`);
        line(
          `const ${v} = new aws.s3.Bucket(${tsStr(r.id)}, ${ts({ bucket: r.name, tags: code("tags") })});`,
        );
        line(`new aws.s3.BucketPublicAccessBlock(${tsStr(r.id)}, ${
          ts({
            bucket: code(`${v}.id`),
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
          })
        });`);
        line(`new aws.s3.BucketServerSideEncryptionConfiguration(${tsStr(r.id)}, ${
          ts({
            bucket: code(`${v}.id`),
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
          })
        });`);
        line(`new aws.s3.BucketLifecycleConfiguration(${tsStr(r.id)}, ${
          ts({
            bucket: code(`${v}.id`),
            rules: [{
              id: "expire-glacier-runs",
              status: "Enabled",
              filter: { prefix: r.expire.prefix },
              expiration: { days: r.expire.days },
              abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            }],
          })
        });`);
        break;
      case "existingBucket":
        line();
        line(`// ${commentText(r.comment)}`);
        line(`const ${v} = aws.s3.getBucketOutput(${ts({ bucket: r.name })});`);
        break;
      case "artifactObject":
        line("// The `glacier build` artifact: Lambda reads code over 50 MB only from S3.");
        line(`const ${v} = new aws.s3.BucketObjectv2(${tsStr(r.id)}, ${
          ts({
            bucket: pref(r.bucket),
            key: r.key,
            source: code(`new pulumi.asset.FileAsset(${path(r.source).text})`),
          })
        });`);
        break;
      case "logGroup":
        line();
        line(
          `const ${v} = new aws.cloudwatch.LogGroup(${tsStr(r.id)}, ${
            ts({ name: r.name, retentionInDays: r.retentionDays, tags: code("tags") })
          });`,
        );
        break;
      case "secret":
        line();
        line(`// ${commentText(`${r.variable}: the functions get this secret's ARN, never its value.`)}`);
        line(
          `const ${v} = new aws.secretsmanager.Secret(${tsStr(r.id)}, ${
            ts({ name: r.name, description: r.description, recoveryWindowInDays: 0, tags: code("tags") })
          });`,
        );
        line(
          `const ${v}Version = new aws.secretsmanager.SecretVersion(${tsStr(r.id)}, ${
            ts({ secretId: code(`${v}.id`), secretString: text(r.value) })
          });`,
        );
        break;
      case "role":
        line();
        line(
          `const ${v} = new aws.iam.Role(${tsStr(r.id)}, ${
            ts({
              name: r.name,
              description: r.description,
              assumeRolePolicy: assume(r.service),
              tags: code("tags"),
            })
          });`,
        );
        line(
          `new aws.iam.RolePolicy(${tsStr(r.id)}, ${
            ts({ name: r.policyName, role: code(`${v}.id`), policy: policy(r.statements, "  ") })
          });`,
        );
        break;
      case "function": {
        const variables: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(r.environment)) variables[k] = envText(x);
        line(`// ${commentText(r.comment)}`);
        line(`const ${v} = new aws.lambda.Function(${tsStr(r.id)}, ${
          ts({
            name: r.name,
            description: r.description,
            role: pref(r.role),
            s3Bucket: "input" in r.code.bucket ? text(r.code.bucket) : pref(r.code.bucket),
            s3Key: typeof r.code.key === "string" ? r.code.key : pref(r.code.key),
            sourceCodeHash: r.code.hashOf === undefined ? undefined : code(
              `createHash("sha256").update(readFileSync(${path(r.code.hashOf).text})).digest("base64")`,
            ),
            runtime: r.runtime,
            handler: r.handler,
            architectures: [r.architecture],
            memorySize: r.memory,
            timeout: r.timeout,
            ephemeralStorage: { size: r.ephemeralStorage },
            environment: { variables },
            tags: code("tags"),
          })
        }, { dependsOn: [${
          [name(r.logGroup), ...r.secrets.map((x) => `${name(x)}Version`)].join(", ")
        }] });`);
        break;
      }
      case "instanceProfile":
        line(
          `const ${v} = new aws.iam.InstanceProfile(${tsStr(r.id)}, ${
            ts({ name: r.name, role: pref(r.role) })
          });`,
        );
        break;
      case "managedPolicy":
        line();
        line(`// ${commentText(r.comment)}`);
        line(
          `const ${v} = new aws.iam.Policy(${tsStr(r.id)}, ${
            ts({ name: r.name, description: r.description, policy: policy(r.statements, "  ") })
          });`,
        );
        break;
      case "ami":
        line();
        line(`const ${v} = aws.ssm.getParameterOutput(${ts({ name: r.parameter })});`);
        break;
      case "network":
        line();
        if (r.subnetId !== undefined) {
          line("// The subnet EC2Config({ subnetId }) names.");
          line(`const ${v} = aws.ec2.getSubnetOutput(${ts({ id: r.subnetId })});`);
        } else {
          line("// The default VPC and its default subnets.");
          line(`const ${v}Vpc = aws.ec2.getVpcOutput(${ts({ default: true })});`);
          line(`const ${v} = aws.ec2.getSubnetsOutput(${
            ts({
              filters: [
                { name: "vpc-id", values: [code(`${v}Vpc.id`)] },
                { name: "default-for-az", values: ["true"] },
              ],
            })
          });`);
        }
        break;
      case "securityGroup":
        line(`const ${v} = new aws.ec2.SecurityGroup(${tsStr(r.id)}, ${
          ts({
            name: r.name,
            description: r.description,
            vpcId: pref(r.vpc),
            ingress: [{
              description: "SSH from the sshCidr config only",
              protocol: "tcp",
              fromPort: r.ssh.port,
              toPort: r.ssh.port,
              cidrBlocks: [text(r.ssh.from)],
            }],
            egress: [{
              description: "Out to Deno, npm and AWS APIs",
              protocol: "-1",
              fromPort: 0,
              toPort: 0,
              cidrBlocks: ["0.0.0.0/0"],
            }],
            tags: code("tags"),
          })
        });`);
        break;
      case "keyPair":
        line("// The key the VMs' boot script gives the SSH user.");
        line(
          `const ${v} = new aws.ec2.KeyPair(${tsStr(r.id)}, ${
            ts({ keyName: r.name, publicKey: text(r.publicKey), tags: code("tags") })
          });`,
        );
        break;
      case "instance":
        line(`// ${commentText(r.comment)}`);
        line(`const ${v} = new aws.ec2.Instance(${tsStr(r.id)}, ${
          ts({
            ami: pref(r.ami),
            instanceType: r.instanceType,
            iamInstanceProfile: pref(r.profile),
            keyName: pref(r.keyName),
            subnetId: pref(r.subnet),
            vpcSecurityGroupIds: r.securityGroups.map(pref),
            metadataOptions: { httpTokens: "required" },
            userData: r.userData,
            tags: code(`{ ...tags, Name: ${tsStr(r.name)} }`),
          })
        });`);
        break;
      case "eip":
        line("// A public address that stays through stops and starts (the host the VM config names).");
        line(
          `const ${v} = new aws.ec2.Eip(${tsStr(r.id)}, ${
            ts({
              domain: "vpc",
              instance: pref(r.instance),
              tags: code(`{ ...tags, Name: ${tsStr(r.name)} }`),
            })
          });`,
        );
        break;
      case "existingInstance":
        line(`// ${commentText(r.comment)} (instance ${commentText(r.instanceId)})`);
        break;
    }
  }
  line();
  for (const o of stack.outputs) line(`export const ${camel(o.name)} = ${pref(o.value).text};`);

  const project = `glacier-${model.pipeline}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const header = headerLines(model).map((l) => `# ${commentText(l)}`).join("\n");
  const files: GeneratedFiles = {
    "index.ts": out.join("\n") + "\n",
    "Pulumi.yaml": `${header}\nname: ${project}\nruntime: nodejs\ndescription: ${
      yamlStr(`Glacier pipeline ${model.pipeline}${model.description ? `: ${model.description}` : ""}`)
    }\nconfig:\n  aws:region:\n    value: ${model.target.region}\n`,
    "package.json": JSON.stringify(
      {
        name: project,
        private: true,
        description:
          `Generated by Glacier ${model.version} from pipeline "${model.pipeline}" (${model.source})`,
        main: "index.ts",
        dependencies: { ...PULUMI_VERSIONS },
        devDependencies: { "@types/node": "22.15.3", typescript: "5.8.3" },
      },
      null,
      2,
    ) + "\n",
    "tsconfig.json": JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          target: "es2020",
          module: "commonjs",
          moduleResolution: "node",
          skipLibCheck: true,
        },
        files: ["index.ts"],
      },
      null,
      2,
    ) + "\n",
  };
  const jobs = databricksJobsJson(model);
  if (jobs) {
    files["databricks/jobs.json"] = jobs;
    files["databricks/init_deno.sh"] = denoInstallScript(headerLines(model));
    files["databricks/glacier_launcher.py"] = databricksLauncher(headerLines(model));
  }
  return files;
}
