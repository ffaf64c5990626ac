/**
 * Pulumi from a pipeline's infrastructure model: a TypeScript program
 * (`index.ts`) using `@pulumi/aws`, with `Pulumi.yaml`, `package.json` and
 * `tsconfig.json` to run it, declaring the same AWS resources as the
 * Terraform output. Databricks jobs are written as Jobs API bodies next to it.
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import { type ExecutorModel, headerLines, type InfraModel, remoteExecutors } from "./_model.ts";
import { databricksJobsJson } from "./_databricks.ts";
import { databricksLauncher, denoInstallScript } from "./_scripts.ts";
import {
  executorStatements,
  type IamResource,
  type IamStatement,
  orchestratorStatements,
  policyDocument,
  s3Statements,
} from "./iam.ts";
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
  const remote = remoteExecutors(model);
  const lambdas = remote.filter((e) => e.resource.service === "lambda");
  const vms = remote.filter((e) => e.resource.service === "ec2");
  const profiled = remote.filter((e) => e.resource.service !== "lambda");
  const locals = model.executors.filter((e) => e.resource.kind === "local");
  const out: string[] = [];
  const line = (s = "") => out.push(s);

  out.push(...headerLines(model).map((l) => `// ${commentText(l)}`));
  line('import * as aws from "@pulumi/aws";');
  line('import * as pulumi from "@pulumi/pulumi";');
  line();
  line('const config = new pulumi.Config("glacier");');
  line(`/** The project root, where \`glacier build\` writes .glacier/build/, relative to this folder. */`);
  line(`const artifactRoot = config.get("artifactRoot") ?? ${tsStr(artifactRoot)};`);
  line(`const tags = ${ts({ "glacier:pipeline": model.pipeline, "glacier:version": model.version })};`);
  line();

  const bucketVar = (bucket: string) =>
    bucket === model.staging.bucket
      ? "stagingBucket"
      : `${camel(model.buckets.find((b) => b.name === bucket)!.id)}Bucket`;
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

  line("// Staging: data handed between executors, expired after a week.");
  line(
    `const stagingBucket = new aws.s3.Bucket("staging", ${
      ts({ bucket: model.staging.bucket, tags: code("tags") })
    });`,
  );
  line(`new aws.s3.BucketPublicAccessBlock("staging", ${
    ts({
      bucket: code("stagingBucket.id"),
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    })
  });`);
  line(`new aws.s3.BucketServerSideEncryptionConfiguration("staging", ${
    ts({
      bucket: code("stagingBucket.id"),
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    })
  });`);
  line(`new aws.s3.BucketLifecycleConfiguration("staging", ${
    ts({
      bucket: code("stagingBucket.id"),
      rules: [{
        id: "expire-glacier-runs",
        status: "Enabled",
        filter: { prefix: `${model.staging.prefix}runs/` },
        expiration: { days: model.staging.expireDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      }],
    })
  });`);
  for (const b of model.buckets) {
    line();
    line(
      `// Existing data bucket: ${
        commentText([...b.reads.map((u) => `reads ${u}`), ...b.writes.map((u) => `writes ${u}`)].join(", "))
      }`,
    );
    line(`const ${camel(b.id)}Bucket = aws.s3.getBucketOutput(${ts({ bucket: b.name })});`);
  }

  const role = (e: ExecutorModel, service: string) => {
    const v = camel(e.id);
    line(`const ${v}Role = new aws.iam.Role(${tsStr(e.id)}, ${
      ts({
        name: e.name,
        description: `Glacier ${model.pipeline}: ${e.resource.service} executor ${e.resource.name}`,
        assumeRolePolicy: assume(service),
        tags: code("tags"),
      })
    });`);
    line(`new aws.iam.RolePolicy(${tsStr(e.id)}, ${
      ts({
        name: "glacier-least-privilege",
        role: code(`${v}Role.id`),
        policy: policy(executorStatements(model, e), "  "),
      })
    });`);
  };
  for (const e of lambdas) {
    const v = camel(e.id);
    const c = e.config;
    line();
    line(
      commentText(`// Executor "${e.resource.name}" (Lambda): ${e.tasks.map((t) => t.node.id).join(", ")}`),
    );
    line(`const ${v}LogGroup = new aws.cloudwatch.LogGroup(${tsStr(e.id)}, ${
      ts({
        name: `/aws/lambda/${e.name}`,
        retentionInDays: 14,
        tags: code("tags"),
      })
    });`);
    role(e, "lambda.amazonaws.com");
    const variables: Record<string, unknown> = {
      GLACIER_PIPELINE: model.pipeline,
      GLACIER_STAGING: `s3://${model.staging.bucket}/${model.staging.prefix}`,
    };
    for (const n of (c.environment as string[] | undefined) ?? []) {
      variables[n] = code(`config.requireSecret(${tsStr(n)})`);
    }
    line(`const ${v}Function = new aws.lambda.Function(${tsStr(e.id)}, ${
      ts({
        name: e.name,
        description: `Glacier pipeline ${model.pipeline}: ${e.tasks.map((t) => t.node.id).join(", ")}`,
        role: code(`${v}Role.arn`),
        code: code(`new pulumi.asset.FileArchive(\`\${artifactRoot}/${tpl(e.artifact)}\`)`),
        runtime: "provided.al2023",
        handler: "bootstrap",
        architectures: [String(c.architecture ?? "x86_64")],
        memorySize: Number(c.memory ?? 1024),
        timeout: Number(c.timeout ?? 300),
        ephemeralStorage: { size: Number(c.ephemeralStorage ?? 512) },
        reservedConcurrentExecutions: typeof c.concurrency === "number" ? c.concurrency : undefined,
        environment: { variables },
        tags: code("tags"),
      })
    }, { dependsOn: [${v}LogGroup] });`);
    line(`export const ${v}FunctionArn = ${v}Function.arn;`);
  }
  for (const e of profiled) {
    const v = camel(e.id);
    line();
    line(
      commentText(
        `// Executor "${e.resource.name}" (${e.resource.service}): ${
          e.tasks.map((t) => t.node.id).join(", ")
        }`,
      ),
    );
    role(e, "ec2.amazonaws.com");
    line(
      `const ${v}InstanceProfile = new aws.iam.InstanceProfile(${tsStr(e.id)}, ${
        ts({ name: e.name, role: code(`${v}Role.name`) })
      });`,
    );
    line(`export const ${v}InstanceProfileArn = ${v}InstanceProfile.arn;`);
  }
  if (vms.some((v) => !v.config.instanceId)) {
    line();
    line('const sshKeyName = config.require("sshKeyName");');
    line(
      'const al2023 = aws.ssm.getParameterOutput({ name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" });',
    );
  }
  for (const e of vms) {
    if (e.config.instanceId) continue;
    const v = camel(e.id);
    line(`const ${v}Instance = new aws.ec2.Instance(${tsStr(e.id)}, ${
      ts({
        ami: code("al2023.value"),
        instanceType: String(e.config.instanceType ?? "m7i.large"),
        iamInstanceProfile: code(`${v}InstanceProfile.name`),
        keyName: code("sshKeyName"),
        userData: denoInstallScript(),
        tags: code(`{ ...tags, Name: ${tsStr(e.name)} }`),
      })
    });`);
    line(`export const ${v}PrivateIp = ${v}Instance.privateIp;`);
  }
  for (const e of locals) {
    const v = camel(e.id);
    line();
    line(`// Local tasks run where \`glacier run\` runs: attach this policy to that role or user.`);
    line(`const ${v}Policy = new aws.iam.Policy(${tsStr(e.id)}, ${
      ts({
        name: e.name,
        description: `Glacier ${model.pipeline}: for whoever runs the local tasks (${
          e.tasks.map((t) => t.node.id).join(", ")
        })`,
        policy: policy(s3Statements(e.grants, model, true), "  "),
      })
    });`);
    line(`export const ${v}PolicyArn = ${v}Policy.arn;`);
  }
  const invoke = orchestratorStatements(model);
  if (invoke.length) {
    line();
    line("// The orchestration role: may invoke exactly the pipeline's functions.");
    line(`const orchestratorRole = new aws.iam.Role("orchestrator", ${
      ts({
        name: `glacier-${model.pipeline}-orchestrator`.toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(
          0,
          64,
        ),
        assumeRolePolicy: assume("states.amazonaws.com"),
        tags: code("tags"),
      })
    });`);
    line(`new aws.iam.RolePolicy("orchestrator", ${
      ts({
        name: "glacier-invoke-functions",
        role: code("orchestratorRole.id"),
        policy: policy(invoke, "  "),
      })
    });`);
    line("export const orchestratorRoleArn = orchestratorRole.arn;");
  }
  line();
  line("export const stagingBucketName = stagingBucket.bucket;");

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
