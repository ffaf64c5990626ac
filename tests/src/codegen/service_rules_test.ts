// deno-lint-ignore-file no-explicit-any
// Rules the AWS services enforce that no schema checks: inline upload size, the
// read-only code folder, AMI architecture, global names, timeouts.
import assert from "node:assert/strict";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { patterns } from "../../fixtures/codegen/aws_patterns.ts";
import { noAccount } from "../../fixtures/codegen/aws_no_account.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { armRule, timeoutRule } from "../../fixtures/codegen/aws_rules.ts";
import { GlacierError } from "../../../src/errors.ts";
import { checkAwsServiceRules, createdStagingBucket, parseTerraform } from "../../support/codegen_checks.ts";

Deno.test("generate terraform: code reaches Lambda through S3, AMIs match their instances, timeouts fit", async () => {
  const wideTf = await parseTerraform((await wide.generate({ format: "terraform" })).files);
  checkAwsServiceRules(wideTf, { api: 30 });
  const vm = (wideTf["vm.tf"].resource as any).aws_instance.crunch_vm[0];
  assert.equal(vm.instance_type, "c7g.xlarge");
  assert.equal(
    vm.ami,
    "${data.aws_ssm_parameter.al2023_arm64.value}",
    "a Graviton instance gets the arm64 AMI",
  );
  checkAwsServiceRules(await parseTerraform((await mlInference.generate({ format: "terraform" })).files));
  const sfn = (await patterns.deploy({ orchestrator: "step_functions" })).files;
  checkAwsServiceRules(await parseTerraform(sfn));
  const cfn = (await wide.generate({ format: "cloudformation" })).files["template.yaml"];
  assert.match(cfn, /S3Bucket:\n\s+Ref: ArtifactBucket/);
  assert.doesNotMatch(cfn, /ZipFile/);
  assert.doesNotMatch((await wide.generate({ format: "pulumi" })).files["index.ts"], /FileArchive/);
});

Deno.test("generate terraform: the check itself refuses inline code and an x86_64 AMI on Graviton", () => {
  const lambda = (fn: Record<string, unknown>) => ({
    "lambda.tf": {
      resource: { aws_lambda_function: { f: [{ architectures: ["x86_64"], timeout: 60, ...fn }] } },
    },
  });
  assert.throws(() => checkAwsServiceRules(lambda({ filename: "x.zip" })), /inline code/);
  assert.throws(() => checkAwsServiceRules(lambda({ s3_key: "k" })), /not an uploaded artifact/);
  assert.throws(
    () =>
      checkAwsServiceRules({
        "vm.tf": {
          data: { aws_ssm_parameter: { a: [{ name: "/aws/service/x/al2023-ami-kernel-default-x86_64" }] } },
          resource: {
            aws_instance: { v: [{ instance_type: "m7g.large", ami: "${data.aws_ssm_parameter.a.value}" }] },
          },
        },
      }),
    /m7g.large gets AMI/,
  );
});

Deno.test("generate: staging bucket names never collide across pipelines, accounts or regions; a given name is looked up", async () => {
  const names = await Promise.all(
    [wide, noAccount].map(async (p) =>
      createdStagingBucket(await parseTerraform((await p.generate({ format: "terraform" })).files))
    ),
  );
  assert.equal(names[0], "glacier-aws-wide-123456789012-eu-west-1-staging");
  assert.equal(names[1], "glacier-no-account-us-east-1-staging");
  assert.equal(new Set(names).size, 2);
  for (const n of names) assert.match(n!, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  const ml = await parseTerraform((await mlInference.generate({ format: "terraform" })).files);
  assert.equal(
    createdStagingBucket(ml),
    undefined,
    "AwsConfig({ stagingBucket }) names a bucket that exists",
  );
  assert.equal((ml["s3.tf"].data as any).aws_s3_bucket.staging[0].bucket, "glacier-staging");
  const summary = (await noAccount.generate({ format: "terraform" })).summary;
  assert.match(summary, /carries no account id.*AwsConfig\(\{ accountId \}\)/);
});

Deno.test("generate refuses an arm64 Lambda glacier build cannot build, and a task timeout its function cannot hold", async () => {
  await assert.rejects(
    () => armRule.generate({ format: "terraform" }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:GENERATE_ARCHITECTURE" &&
      /resource "arm"/.test(e.message) &&
      /architecture: "x86_64"/.test(e.message),
  );
  await assert.rejects(
    () => timeoutRule.generate({ format: "cloudformation" }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:GENERATE_TIMEOUT" && /task "slow"/.test(e.message) &&
      /raise the config's timeout to 120/.test(e.message),
  );
});
