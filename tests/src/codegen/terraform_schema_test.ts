// Generated Terraform against the real provider schemas: hashicorp/aws,
// hashicorp/google, hashicorp/azurerm and databricks/databricks as the pinned
// @cdktf/provider-* packages describe them (tests/fixtures/terraform_schemas.json,
// extracted once by tools/terraform_schemas.ts: the packages are 64-361 MB
// unpacked each, too large to install for each test run). Every committed golden
// Terraform folder and every example pipeline's freshly generated Terraform is
// checked: each type exists, each argument and nested block is one the type
// has, required ones are written, and each reference names an attribute.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { patterns } from "../../fixtures/codegen/aws_patterns.ts";
import { azurePipeline, gcpPipeline } from "../../fixtures/analyze/clouds.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { cloudDemo } from "../../../examples/cloud.ts";
import { gcpDemo } from "../../../examples/gcp.ts";
import { azureDemo } from "../../../examples/azure.ts";
import { awsPrivateVm, gcpVms } from "../../fixtures/codegen/vms.ts";
import type { Pipeline } from "../../../src/pipeline.ts";
import {
  checkTerraformReferences,
  checkTerraformSchemas,
  parseTerraform,
  ROOT,
  satisfiesTerraformConstraint,
  terraformSchemas,
} from "../../support/codegen_checks.ts";

/** Every folder under `dir` that holds .tf files (the goldens), relative to the repository root. */
async function terraformFolders(dir: string, out: string[] = []): Promise<string[]> {
  let hasTf = false;
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    if (e.isDirectory) await terraformFolders(`${dir}/${e.name}`, out);
    else if (e.name.endsWith(".tf")) hasTf = true;
  }
  if (hasTf) out.push(dir);
  return out;
}

async function readTf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    if (e.isFile && e.name.endsWith(".tf")) files[e.name] = await Deno.readTextFile(join(ROOT, dir, e.name));
  }
  return files;
}

// The newest @cdktf/provider-databricks carries databricks/databricks 1.99.0, and the generated
// configuration needs 1.106 (workspace files over 10 MiB): that one provider is checked against
// the newest schema any package has. Any other provider must get a schema its constraint allows.
function assertOnlyDatabricksNewer(where: string, olderSchemas: string[]): void {
  for (const o of olderSchemas) {
    assert.ok(o.startsWith("databricks "), `${where}: checked against an older schema: ${o}`);
  }
}

const tfOnly = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).filter(([name]) => name.endsWith(".tf")));

Deno.test("the provider schemas are the pinned packages' and hold the facts the checks lean on", () => {
  const schemas = terraformSchemas();
  assert.deepEqual(Object.keys(schemas), ["aws", "google", "azurerm", "databricks"]);
  const expected: Record<string, [string, string]> = {
    aws: ["hashicorp/aws", "@cdktf/provider-aws@"],
    google: ["hashicorp/google", "@cdktf/provider-google@"],
    azurerm: ["hashicorp/azurerm", "@cdktf/provider-azurerm@"],
    databricks: ["databricks/databricks", "@cdktf/provider-databricks@"],
  };
  for (const [name, s] of Object.entries(schemas)) {
    assert.equal(s.provider, expected[name][0]);
    assert.ok(s.package.startsWith(expected[name][1]), s.package);
    assert.ok(Object.keys(s.resources).length > 100, `${name}: ${Object.keys(s.resources).length} resources`);
  }
  // Facts every check below leans on, as the providers document them.
  const fn = schemas.aws.resources.aws_lambda_function;
  assert.match(fn.a!, /(^| )function_name!( |$)/);
  assert.match(fn.a!, /(^| )role!( |$)/);
  assert.match(fn.c!, /(^| )invoke_arn( |$)/);
  assert.match(schemas.azurerm.resources.azurerm_linux_virtual_machine.b!.identity.c!, /principal_id/);
  assert.match(schemas.databricks.resources.databricks_job.b!.task.a!, /(^| )task_key!( |$)/);
  assert.match(schemas.google.resources.google_cloudfunctions2_function.a!, /(^| )name!( |$)/);
  assert.ok(satisfiesTerraformConstraint("5.100.0", "~> 5.0"));
  assert.ok(!satisfiesTerraformConstraint("6.0.0", "~> 5.0"));
  assert.ok(satisfiesTerraformConstraint("1.99.0", "~> 1.50"));
  assert.ok(!satisfiesTerraformConstraint("1.51.0", "~> 1.50.2"));
  assert.ok(satisfiesTerraformConstraint("4.55.0", ">= 4.0, < 5.0"));
});

Deno.test("every committed golden Terraform folder matches the provider schemas", async () => {
  const folders = [
    ...await terraformFolders("examples"),
    ...await terraformFolders("tests/fixtures/codegen/golden"),
  ].sort();
  assert.ok(folders.length >= 6, `golden folders: ${folders.join(", ")}`);
  const seen = new Set<string>();
  for (const dir of folders) {
    const parsed = await parseTerraform(await readTf(dir));
    checkTerraformReferences(parsed);
    const { types, references, olderSchemas } = checkTerraformSchemas(parsed);
    assert.ok(types.length > 0 && references.length > 0, dir);
    types.forEach((t) => seen.add(t));
    assertOnlyDatabricksNewer(dir, olderSchemas);
  }
  // The four providers are all exercised.
  for (const prefix of ["aws_", "google_", "azurerm_", "databricks_"]) {
    assert.ok(
      [...seen].some((t) => t.replace(/^data\./, "").startsWith(prefix)),
      `no ${prefix} type checked`,
    );
  }
});

const generated: { name: string; pipeline: Pipeline; how: "generate" | "step_functions" }[] = [
  { name: "ml_inference", pipeline: mlInference, how: "generate" },
  { name: "cloud", pipeline: cloudDemo, how: "generate" },
  { name: "gcp", pipeline: gcpDemo, how: "generate" },
  { name: "azure", pipeline: azureDemo, how: "generate" },
  { name: "aws_wide", pipeline: wide, how: "generate" },
  { name: "gcp_pipeline", pipeline: gcpPipeline, how: "generate" },
  { name: "azure_pipeline", pipeline: azurePipeline, how: "generate" },
  { name: "gcp_vms", pipeline: gcpVms, how: "generate" },
  { name: "aws_private_vm", pipeline: awsPrivateVm, how: "generate" },
  { name: "ml_inference (step_functions)", pipeline: mlInference, how: "step_functions" },
  { name: "aws_patterns (step_functions)", pipeline: patterns, how: "step_functions" },
];

Deno.test("every example pipeline's generated Terraform matches the provider schemas", async () => {
  for (const g of generated) {
    const { files } = g.how === "generate"
      ? await g.pipeline.generate({ format: "terraform" })
      : await g.pipeline.deploy({ orchestrator: "step_functions" });
    const parsed = await parseTerraform(tfOnly(files));
    checkTerraformReferences(parsed);
    const { types, olderSchemas } = checkTerraformSchemas(parsed);
    assert.ok(types.length > 0, g.name);
    assertOnlyDatabricksNewer(g.name, olderSchemas);
  }
});

// ------------------------------------------------------------------ the check refuses

const AWS_HEAD = `terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
provider "aws" {
  region = "eu-west-1"
}
resource "aws_iam_role" "r" {
  assume_role_policy = "{}"
}
`;

async function check(text: string, head = AWS_HEAD): Promise<void> {
  const parsed = await parseTerraform({ "main.tf": head + text });
  checkTerraformReferences(parsed);
  checkTerraformSchemas(parsed);
}

const lambda = (body: string) =>
  `resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = aws_iam_role.r.arn\n${body}}\n`;

Deno.test("the provider schema check accepts a well-formed configuration", async () => {
  await check(
    lambda(
      '  runtime = "provided.al2023"\n  vpc_config {\n    subnet_ids = []\n    security_group_ids = []\n  }\n',
    ) +
      'output "x" {\n  value = aws_lambda_function.f.vpc_config[0].vpc_id\n}\n' +
      'output "y" {\n  value = aws_lambda_function.f.invoke_arn\n}\n',
  );
});

Deno.test("the provider schema check refuses unknown types, arguments and blocks", async () => {
  await assert.rejects(
    () => check('resource "aws_lambda_functions" "f" {\n}\n'),
    /aws_lambda_functions is not a resource type of hashicorp\/aws 5\.100\.0/,
  );
  await assert.rejects(
    () => check('data "aws_s3_buckets" "b" {\n}\n'),
    /aws_s3_buckets is not a data source type of hashicorp\/aws/,
  );
  await assert.rejects(
    () => check(lambda("  memory = 512\n")),
    /aws_lambda_function\.f: aws_lambda_function has no argument or block memory/,
  );
  await assert.rejects(
    () =>
      check(lambda('  vpc_config {\n    subnet_ids = []\n    security_group_ids = []\n    vpc = "x"\n  }\n')),
    /aws_lambda_function\.f\.vpc_config\[0\]: aws_lambda_function\.vpc_config has no argument or block vpc/,
  );
  await assert.rejects(
    () => check(lambda('  invoke_arn = "x"\n')),
    /has no argument or block invoke_arn that can be set \(it is exported only\)/,
  );
  await assert.rejects(
    () => check('provider "google" {\n  project = "p"\n}\n'),
    /provider "google" is used but not in terraform\.required_providers/,
  );
  await assert.rejects(
    () => check('resource "random_id" "x" {\n}\n'),
    /random_id: no schema for provider "random"/,
  );
});

Deno.test("the provider schema check refuses a missing required argument or block", async () => {
  await assert.rejects(
    () => check('resource "aws_lambda_function" "f" {\n  function_name = "f"\n}\n'),
    /aws_lambda_function\.f: required argument role of aws_lambda_function is missing/,
  );
  await assert.rejects(
    () => check(lambda("  vpc_config {\n    subnet_ids = []\n  }\n")),
    /vpc_config\[0\]: required argument security_group_ids of aws_lambda_function\.vpc_config is missing/,
  );
  await assert.rejects(
    () =>
      check(
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = "r"\n  snap_start {\n  }\n}\n',
      ),
    /required argument apply_on of aws_lambda_function\.snap_start is missing/,
  );
});

Deno.test("the provider schema check refuses a reference to an attribute the type does not have", async () => {
  await assert.rejects(
    () => check('output "x" {\n  value = aws_iam_role.r.arnn\n}\n'),
    /aws_iam_role\.r\.arnn in \$\{aws_iam_role\.r\.arnn\}: aws_iam_role has no attribute arnn/,
  );
  await assert.rejects(
    () => check(lambda("") + 'output "x" {\n  value = "${aws_lambda_function.f.vpc_config[0].vpc}:x"\n}\n'),
    /aws_lambda_function has no attribute vpc at aws_lambda_function\.f\.vpc_config\[0\]/,
  );
  await assert.rejects(
    () =>
      check(
        'data "aws_s3_bucket" "b" {\n  bucket = "b"\n}\noutput "x" {\n  value = data.aws_s3_bucket.b.bucket_arn\n}\n',
      ),
    /aws_s3_bucket has no attribute bucket_arn/,
  );
});

Deno.test("the provider schema check refuses a version constraint the checked schema's version does not meet", async () => {
  await assert.rejects(
    () => check("", AWS_HEAD.replace('"~> 5.0"', '"~> 6.0"')),
    /provider "aws": version "~> 6\.0" does not allow 5\.100\.0, the version whose schema is checked \(@cdktf\/provider-aws@20\.1\.0\)/,
  );
  // Newer than any package has, same major: checked against the newest schema and said so.
  const parsed = await parseTerraform({ "main.tf": AWS_HEAD.replace('"~> 5.0"', '"~> 5.200"') });
  assert.deepEqual(checkTerraformSchemas(parsed).olderSchemas, [
    'aws "~> 5.200" against 5.100.0 (@cdktf/provider-aws@20.1.0)',
  ]);
  await assert.rejects(
    () => check("", AWS_HEAD.replace('"hashicorp/aws"', '"example/aws"')),
    /provider "aws": source/,
  );
});

Deno.test("tools/terraform_schemas.ts is the fixture's only source: it names the packages the fixture holds", async () => {
  const tool = await Deno.readTextFile(join(ROOT, "tools/terraform_schemas.ts"));
  for (const s of Object.values(terraformSchemas())) {
    const [, pkg, version] = s.package.match(/^(@[^@]+)@(.+)$/)!;
    assert.ok(
      tool.includes(`{ package: "${pkg}", version: "${version}" }`),
      `${
        relative(ROOT, join(ROOT, "tests/fixtures/terraform_schemas.json"))
      } holds ${s.package}, which tools/terraform_schemas.ts does not pin: run it again`,
    );
  }
});
