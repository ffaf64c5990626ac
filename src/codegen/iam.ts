/**
 * Least-privilege AWS IAM statements derived from a pipeline's analysis:
 * each executor may read exactly the objects and prefixes its tasks read,
 * write exactly what they write, and use the staging prefix; the
 * orchestration role may invoke exactly the pipeline's functions. Terraform,
 * CloudFormation, Pulumi and the Step Functions output render the same
 * statements.
 *
 * @module
 */
import { type ExecutorModel, type Grant, type InfraModel, pascal } from "./_model.ts";
import { secretId, secretName } from "./_secret_env.ts";

/** A resource ARN: literal text, or a reference to something generated in the same output. */
export type IamResource =
  | string
  | { readonly ref: "bucket"; readonly bucket: string; readonly path?: string }
  | { readonly ref: "logGroup"; readonly executor: string }
  | { readonly ref: "function"; readonly executor: string; readonly qualified?: boolean }
  | { readonly ref: "secret"; readonly id: string; readonly name: string };

/** One IAM policy statement. Actions are always named; data resources are never `*`. */
export interface IamStatement {
  /** The statement id: letters and digits. */
  readonly sid: string;
  /** The actions, each `service:Action`. */
  readonly actions: readonly string[];
  /** The resources. */
  readonly resources: readonly IamResource[];
  /** A `StringLike` condition on `s3:prefix`, for `s3:ListBucket`. */
  readonly listPrefixes?: readonly string[];
}

/**
 * The IAM policy document of statements, with each resource written the way
 * the output's language refers to it (a literal ARN, a reference, an interpolation).
 */
export function policyDocument<R>(
  statements: readonly IamStatement[],
  resource: (r: IamResource) => R,
): { Version: string; Statement: Record<string, unknown>[] } {
  return {
    Version: "2012-10-17",
    Statement: statements.map((s) => ({
      Sid: s.sid,
      Effect: "Allow",
      Action: [...s.actions],
      Resource: s.resources.map(resource),
      ...(s.listPrefixes ? { Condition: { StringLike: { "s3:prefix": [...s.listPrefixes] } } } : {}),
    })),
  };
}

const READ = ["s3:GetObject"];
const WRITE = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"];

/**
 * The S3 statements for a set of grants, plus read and write on the staging prefix.
 *
 * @param grants The data grants.
 * @param model The model (for the staging location).
 * @param staging Whether to add the staging prefix.
 * @returns Statements, grouped per bucket and access, in a stable order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { literalArn, s3Statements } from "./iam.ts";
 * const staging = { bucket: "stage", id: "staging", prefix: "g/", configured: true, expireDays: 7 };
 * const model = { staging } as unknown as Parameters<typeof s3Statements>[1];
 * const grants = [{ bucket: "lake", pattern: "raw/*", prefix: "raw/", access: "read" as const }];
 * const statements = s3Statements(grants, model, false);
 * assert.ok(literalArn(statements[0].resources[0]) === "arn:aws:s3:::lake/raw/*");
 * ```
 */
export function s3Statements(
  grants: readonly Grant[],
  model: Pick<InfraModel, "staging">,
  staging: boolean,
): IamStatement[] {
  const all = [...grants];
  if (staging) {
    const s = model.staging;
    for (const access of ["read", "write"] as const) {
      all.push({ bucket: s.bucket, pattern: `${s.prefix}runs/*`, prefix: `${s.prefix}runs/`, access });
    }
  }
  const buckets = [...new Set(all.map((g) => g.bucket))].sort();
  const out: IamStatement[] = [];
  for (const bucket of buckets) {
    const reads = [
      ...new Set(all.filter((g) => g.bucket === bucket && g.access === "read").map((g) => g.pattern)),
    ]
      .sort();
    const writes = [
      ...new Set(all.filter((g) => g.bucket === bucket && g.access === "write").map((g) => g.pattern)),
    ].sort();
    const name = pascal(bucket);
    if (reads.length) {
      out.push({
        sid: `Read${name}`,
        actions: READ,
        resources: reads.map((p) => ({ ref: "bucket", bucket, path: p })),
      });
      out.push({
        sid: `List${name}`,
        actions: ["s3:ListBucket"],
        resources: [{ ref: "bucket", bucket }],
        listPrefixes: reads,
      });
    }
    if (writes.length) {
      out.push({
        sid: `Write${name}`,
        actions: WRITE,
        resources: writes.map((p) => ({ ref: "bucket", bucket, path: p })),
      });
    }
  }
  return out;
}

/** The environment variables a Lambda executor's values come from secrets for (`LambdaConfig({ environment })`). */
export function secretVariables(executor: ExecutorModel): string[] {
  if (executor.resource.service !== "lambda") return [];
  return [...new Set((executor.config.environment as readonly string[] | undefined) ?? [])].sort();
}

/**
 * The statements of one executor's role: its data, the staging prefix, and
 * for a Lambda function its own log group and exactly the secrets of its
 * environment variables (encrypted with Secrets Manager's AWS managed key,
 * whose key policy lets the account's principals decrypt through Secrets
 * Manager, so no `kms:Decrypt` is granted).
 *
 * @param model The model.
 * @param executor The executor.
 * @returns The statements.
 */
export function executorStatements(model: InfraModel, executor: ExecutorModel): IamStatement[] {
  const out: IamStatement[] = [];
  if (executor.resource.service === "lambda") {
    out.push({
      sid: "Logs",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [{ ref: "logGroup", executor: executor.id }],
    });
    const secrets = secretVariables(executor);
    if (secrets.length) {
      out.push({
        sid: "ReadSecrets",
        actions: ["secretsmanager:GetSecretValue"],
        resources: secrets.map((v) => ({
          ref: "secret" as const,
          id: secretId(v),
          name: secretName(model.pipeline, v),
        })),
      });
    }
  }
  return [...out, ...s3Statements(executor.grants, model, true)];
}

/**
 * The statements of the orchestration role: invoke exactly the pipeline's Lambda functions.
 *
 * @param model The model.
 * @returns The statements, empty when the pipeline has no function.
 */
export function orchestratorStatements(model: InfraModel): IamStatement[] {
  const functions = model.executors.filter((e) => e.resource.service === "lambda");
  if (functions.length === 0) return [];
  return [{
    sid: "InvokePipelineFunctions",
    actions: ["lambda:InvokeFunction"],
    resources: functions.flatMap((f) => [
      { ref: "function" as const, executor: f.id },
      { ref: "function" as const, executor: f.id, qualified: true },
    ]),
  }];
}

/**
 * The ARN a resource stands for, with references to generated resources
 * shown by their kind and executor (for summaries and checks).
 *
 * @param resource The resource.
 * @returns The ARN text.
 */
export function literalArn(resource: IamResource): string {
  if (typeof resource === "string") return resource;
  if (resource.ref === "bucket") {
    return `arn:aws:s3:::${resource.bucket}${resource.path === undefined ? "" : `/${resource.path}`}`;
  }
  if (resource.ref === "logGroup") {
    return `arn:aws:logs:<region>:<account>:log-group:<${resource.executor}>:*`;
  }
  if (resource.ref === "secret") {
    return `arn:aws:secretsmanager:<region>:<account>:secret:${resource.name}-<suffix>`;
  }
  return `arn:aws:lambda:<region>:<account>:function:<${resource.executor}>${resource.qualified ? ":*" : ""}`;
}
