// The generated roles, evaluated by an IAM policy simulator
// (@cloud-copilot/iam-simulate) on the requests each executor's tasks make.
import assert from "node:assert/strict";
import { ACCOUNT, simulate } from "../../support/s3_iam_proxy.ts";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import {
  checkCloudFormation,
  resolvedCloudFormationPolicies,
  SECRET_SUFFIX,
} from "../../support/codegen_checks.ts";

const REGION = "eu-west-1";

Deno.test("IAM simulator: each generated role allows exactly the requests its tasks make", async () => {
  const template = checkCloudFormation(
    (await wide.generate({ format: "cloudformation" })).files["template.yaml"],
  );
  const roles = resolvedCloudFormationPolicies(template, ACCOUNT, REGION);
  const staging = "arn:aws:s3:::glacier-aws-wide-123456789012-eu-west-1-staging";
  const fn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:glacier-aws_wide-api`;
  const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:glacier/aws_wide`;
  const cases: [string, string, string, Record<string, string>, "Allowed" | "ImplicitlyDenied"][] = [
    // ingest (on api) reads raw/ and writes clean/orders.parquet; staging under runs/.
    ["ApiRole", "s3:GetObject", "arn:aws:s3:::lake/raw/day=1/part-0.parquet", {}, "Allowed"],
    ["ApiRole", "s3:ListBucket", "arn:aws:s3:::lake", { "s3:prefix": "raw/" }, "Allowed"],
    ["ApiRole", "s3:PutObject", "arn:aws:s3:::lake/clean/orders.parquet", {}, "Allowed"],
    ["ApiRole", "s3:PutObject", `${staging}/runs/r1/ingest/1/out`, {}, "Allowed"],
    ["ApiRole", "s3:GetObject", `${staging}/runs/r1/ingest/1/out`, {}, "Allowed"],
    [
      "ApiRole",
      "logs:PutLogEvents",
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/glacier-aws_wide-api:log-stream:s`,
      {},
      "Allowed",
    ],
    // The function's runtime reads exactly its environment's secrets.
    ["ApiRole", "secretsmanager:GetSecretValue", `${secret}/API_KEY-${SECRET_SUFFIX}`, {}, "Allowed"],
    ["ApiRole", "secretsmanager:GetSecretValue", `${secret}/LOG_LEVEL-${SECRET_SUFFIX}`, {}, "Allowed"],
    ["ApiRole", "secretsmanager:GetSecretValue", `${secret}/OTHER-${SECRET_SUFFIX}`, {}, "ImplicitlyDenied"],
    [
      "ApiRole",
      "secretsmanager:PutSecretValue",
      `${secret}/API_KEY-${SECRET_SUFFIX}`,
      {},
      "ImplicitlyDenied",
    ],
    [
      "CrunchVmRole",
      "secretsmanager:GetSecretValue",
      `${secret}/API_KEY-${SECRET_SUFFIX}`,
      {},
      "ImplicitlyDenied",
    ],
    // Nothing else: not the raw data, not the other bucket, not staging outside runs/.
    ["ApiRole", "s3:PutObject", "arn:aws:s3:::lake/raw/x.parquet", {}, "ImplicitlyDenied"],
    ["ApiRole", "s3:GetObject", "arn:aws:s3:::vault/keys/model.bin", {}, "ImplicitlyDenied"],
    ["ApiRole", "s3:PutObject", `${staging}/artifacts/api.zip`, {}, "ImplicitlyDenied"],
    ["ApiRole", "s3:ListBucket", "arn:aws:s3:::lake", { "s3:prefix": "" }, "ImplicitlyDenied"],
    // crunch (on the VM) reads clean/orders.parquet only.
    ["CrunchVmRole", "s3:GetObject", "arn:aws:s3:::lake/clean/orders.parquet", {}, "Allowed"],
    ["CrunchVmRole", "s3:GetObject", "arn:aws:s3:::lake/raw/a.parquet", {}, "ImplicitlyDenied"],
    // The orchestrator invokes the pipeline's functions, and nothing else.
    ["OrchestratorRole", "lambda:InvokeFunction", fn, {}, "Allowed"],
    ["OrchestratorRole", "lambda:InvokeFunction", `${fn}:live`, {}, "Allowed"],
    [
      "OrchestratorRole",
      "lambda:InvokeFunction",
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:other`,
      {},
      "ImplicitlyDenied",
    ],
    // Whoever runs publish (on this machine) writes the report prefix.
    ["LocalPolicy", "s3:PutObject", "arn:aws:s3:::reports/daily/2024-01-01.txt", {}, "Allowed"],
    ["LocalPolicy", "s3:PutObject", "arn:aws:s3:::lake/clean/orders.parquet", {}, "ImplicitlyDenied"],
  ];
  for (const [role, action, resource, context, expected] of cases) {
    assert.ok(roles[role], `role ${role} exists`);
    assert.equal(
      await simulate(roles[role], action, resource, context),
      expected,
      `${role} ${action} ${resource}`,
    );
  }
});
