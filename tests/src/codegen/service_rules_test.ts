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
import {
  checkAwsServiceRules,
  checkAzureServiceRules,
  checkTerraformReferences,
  checkVmServiceRules,
  createdStagingBucket,
  parseTerraform,
} from "../../support/codegen_checks.ts";
import { azurePipeline } from "../../fixtures/analyze/clouds.ts";
import { azureLineage } from "../../fixtures/codegen/lineage_clouds.ts";
import { azureFlex } from "../../fixtures/codegen/azure_flex.ts";
import { awsPrivateVm, gcpVms } from "../../fixtures/codegen/vms.ts";

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
  const workspace = (version: string) => ({
    "main.tf": {
      terraform: [{ required_providers: [{ databricks: { source: "databricks/databricks", version } }] }],
    },
    "databricks.tf": {
      resource: {
        databricks_workspace_file: {
          a: [{ path: "/Shared/x.zip", source: "${var.artifact_root}/.glacier/build/p/databricks.zip" }],
        },
      },
    },
  });
  assert.throws(() => checkAwsServiceRules(workspace("~> 1.50")), /needs databricks\/databricks >= 1.106/);
  checkAwsServiceRules(workspace("~> 1.106"));
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

Deno.test("generate terraform for Azure: Linux Consumption runs from a package blob its identity may read, Flex deploys into its own container, roles only on declared containers", async () => {
  for (const p of [azurePipeline, azureLineage, azureFlex]) {
    const parsed = await parseTerraform((await p.generate({ format: "terraform" })).files);
    checkAzureServiceRules(parsed);
    checkTerraformReferences(parsed);
  }
  const consumption = await parseTerraform((await azurePipeline.generate({ format: "terraform" })).files);
  const app = (consumption["functions.tf"].resource as any).azurerm_linux_function_app.azure_function[0];
  assert.equal(app.zip_deploy_file, undefined);
  assert.equal(
    app.app_settings.WEBSITE_RUN_FROM_PACKAGE,
    "${azurerm_storage_blob.azure_function_package.url}",
  );
  const storage = consumption["storage.tf"].resource as any;
  assert.match(
    storage.azurerm_storage_blob.azure_function_package[0].name,
    /^azure_function-\$\{substr\(filesha256\(.*azure_function\.zip"\), 0, 16\)\}\.zip$/,
    "a new build is a new URL, so the app restarts on it",
  );
  // No storage account named: the data container is created in the one the configuration creates.
  assert.equal(storage.azurerm_storage_container.container[0].name, "container");
  const existing = await parseTerraform((await azureFlex.generate({ format: "terraform" })).files);
  assert.equal((existing["storage.tf"].data as any).azurerm_storage_container.lake[0].name, "lake");
  assert.equal((existing["storage.tf"].resource as any).azurerm_storage_container.lake, undefined);
  const flex = (existing["functions.tf"].resource as any).azurerm_function_app_flex_consumption.reader[0];
  assert.equal(flex.zip_deploy_file, "${var.artifact_root}/.glacier/build/azure_flex/reader.zip");
  const roles = (existing["iam.tf"].resource as any).azurerm_role_assignment;
  assert.equal(roles.reader_lake[0].scope, "${data.azurerm_storage_container.lake.resource_manager_id}");
});

Deno.test("generate terraform for Azure: the check itself refuses zip deploy on Linux Consumption and a role on a container path", () => {
  const config = (app: Record<string, unknown>, scope: string) => ({
    "main.tf": {
      resource: {
        azurerm_service_plan: { p: [{ sku_name: "Y1" }] },
        azurerm_storage_account: { a: [{}] },
        azurerm_linux_function_app: { f: [{ service_plan_id: "${azurerm_service_plan.p.id}", ...app }] },
        azurerm_role_assignment: { r: [{ scope, principal_id: "x" }] },
      },
    },
  });
  assert.throws(
    () => checkAzureServiceRules(config({ zip_deploy_file: "f.zip" }, "${azurerm_storage_account.a.id}")),
    /Linux Consumption does not support zip deploy/,
  );
  assert.throws(
    () =>
      checkAzureServiceRules(
        config(
          { zip_deploy_file: "f.zip" },
          "${azurerm_storage_account.a.id}/blobServices/default/containers/x",
        ),
      ),
    /scope .* is not a container or storage account this configuration declares/,
  );
  assert.throws(
    () => checkAzureServiceRules(config({ app_settings: {} }, "${azurerm_storage_account.a.id}")),
    /WEBSITE_RUN_FROM_PACKAGE must be the package blob's URL/,
  );
});

Deno.test("generate terraform: every VM is reachable (a subnet, a public address, SSH from a required CIDR) and its boot script installs the pinned Deno", async () => {
  const seen: Record<string, string[]> = {};
  for (const p of [wide, azurePipeline, gcpVms, awsPrivateVm]) {
    const parsed = await parseTerraform((await p.generate({ format: "terraform" })).files);
    Object.assign(seen, checkVmServiceRules(parsed));
    checkTerraformReferences(parsed);
  }
  assert.deepEqual(Object.keys(seen).sort(), ["azure_vm", "crunch_vm", "eu_box", "inside", "open", "us_box"]);
  assert.deepEqual(seen.inside, ["private subnet", "ssh from variable"], "EC2Config({ publicIp: false })");
  assert.deepEqual(seen.open, ["public address", "ssh from variable"]);
  const priv = await parseTerraform((await awsPrivateVm.generate({ format: "terraform" })).files);
  const vm = priv["vm.tf"].resource as any;
  assert.equal(vm.aws_instance.inside[0].subnet_id, "${data.aws_subnet.subnet_0abc12345def67890.id}");
  assert.equal(
    vm.aws_security_group.inside[0].vpc_id,
    "${data.aws_subnet.subnet_0abc12345def67890.vpc_id}",
    "the group is in the subnet's VPC",
  );
  assert.equal(vm.aws_eip.inside, undefined, "no public address in the private subnet");
  const outputs = priv["outputs.tf"].output as any;
  assert.equal(outputs.inside_private_ip[0].value, "${aws_instance.inside.private_ip}");
  assert.equal(outputs.open_public_ip[0].value, "${aws_eip.open.public_ip}");
  assert.match(
    outputs.open_public_ip[0].description,
    /set EC2Config\(\{ host: <this>, user: "glacier", remoteDir: "\/home\/glacier\/glacier" \}\)/,
  );
  const gcp = await parseTerraform((await gcpVms.generate({ format: "terraform" })).files);
  assert.equal(
    (gcp["vm.tf"].resource as any).google_compute_instance.us_box[0].metadata["ssh-keys"],
    "etl:${var.ssh_public_key}",
  );
  assert.match(
    (gcp["vm.tf"].resource as any).google_compute_instance.us_box[0].metadata_startup_script,
    /install -d -m 755 -o etl -g etl \/srv\/etl\n/,
  );
  const apis = (gcp["apis.tf"].resource as any).google_project_service;
  for (const type of ["google_compute_network", "google_compute_subnetwork", "google_compute_firewall"]) {
    for (const [, [r]] of Object.entries((gcp["vm.tf"].resource as any)[type]) as [string, any[]][]) {
      assert.ok(apis.compute && r.depends_on.includes("${google_project_service.compute}"), type);
    }
  }
});

Deno.test("generate terraform: the VM check itself refuses SSH from 0.0.0.0/0, a CIDR variable with a default and a VM with no address", async () => {
  const parsed = await parseTerraform((await wide.generate({ format: "terraform" })).files);
  const copy = () => structuredClone(parsed) as any;
  const open = copy();
  open["vm.tf"].resource.aws_vpc_security_group_ingress_rule.crunch_vm_ssh[0].cidr_ipv4 = "0.0.0.0/0";
  assert.throws(() => checkVmServiceRules(open), /SSH ingress from "0\.0\.0\.0\/0"/);
  const defaulted = copy();
  defaulted["main.tf"].variable.ssh_cidr[0].default = "0.0.0.0/0";
  assert.throws(() => checkVmServiceRules(defaulted), /ssh_cidr has a default/);
  const bare = copy();
  delete bare["vm.tf"].resource.aws_eip;
  assert.throws(() => checkVmServiceRules(bare), /in the default VPC without a public address/);
  const noDeno = copy();
  noDeno["vm.tf"].resource.aws_instance.crunch_vm[0].user_data = "#!/bin/bash\n";
  assert.throws(() => checkVmServiceRules(noDeno), /does not install Deno/);
  const wider = copy();
  wider["vm.tf"].resource.aws_vpc_security_group_ingress_rule.crunch_vm_ssh[0].to_port = 65535;
  assert.throws(() => checkVmServiceRules(wider), /ingress beyond SSH/);
});

Deno.test("generate terraform for Azure: each function app's host storage is its own account, owned by a host identity before the app starts", async () => {
  for (const p of [azurePipeline, azureLineage, azureFlex]) {
    checkAzureServiceRules(await parseTerraform((await p.generate({ format: "terraform" })).files));
  }
  const parsed = await parseTerraform((await azurePipeline.generate({ format: "terraform" })).files);
  const app = (parsed["functions.tf"].resource as any).azurerm_linux_function_app.azure_function[0];
  assert.equal(app.storage_account_name, "${azurerm_storage_account.azure_function_host.name}");
  assert.equal(app.app_settings.AzureWebJobsStorage__credential, "managedidentity");
  assert.equal(
    app.app_settings.AzureWebJobsStorage__clientId,
    "${azurerm_user_assigned_identity.azure_function_host.client_id}",
  );
  const host = (parsed["storage.tf"].resource as any).azurerm_storage_account.azure_function_host[0];
  assert.match(
    host.name,
    /^gh\$\{substr\(sha1\("\$\{data\.azurerm_client_config\.current\.subscription_id\}\/azure_pipeline\/azure_function"\), 0, 22\)\}$/,
  );
  assert.equal("gh".length + 22, 24, "a storage account name holds at most 24 characters");
  const owner = (parsed["iam.tf"].resource as any).azurerm_role_assignment.azure_function_host[0];
  assert.equal(owner.role_definition_name, "Storage Blob Data Owner");
  assert.equal(owner.scope, "${azurerm_storage_account.azure_function_host.id}");
  const flex = await parseTerraform((await azureFlex.generate({ format: "terraform" })).files);
  const reader = (flex["functions.tf"].resource as any).azurerm_function_app_flex_consumption.reader[0];
  assert.equal(
    reader.app_settings.AzureWebJobsStorage__accountName,
    "${azurerm_storage_account.reader_host.name}",
  );
  assert.equal(
    reader.app_settings.AzureWebJobsStorage__clientId,
    "${azurerm_user_assigned_identity.reader_host.client_id}",
  );
  const accounts = (flex["storage.tf"].resource as any).azurerm_storage_account;
  assert.ok(
    accounts.reader_host && accounts.writer_host,
    "one host account per app: no app reads another's keys",
  );
});

Deno.test("generate terraform for Azure: the host storage check refuses a shared or data account, a missing Owner role and a key", async () => {
  const parsed = await parseTerraform((await azureFlex.generate({ format: "terraform" })).files);
  const copy = () => structuredClone(parsed) as any;
  const shared = copy();
  shared["functions.tf"].resource.azurerm_function_app_flex_consumption.writer[0].app_settings
    .AzureWebJobsStorage__accountName = "${azurerm_storage_account.reader_host.name}";
  assert.throws(() => checkAzureServiceRules(shared), /shares host storage reader_host/);
  const noRole = copy();
  noRole["iam.tf"].resource.azurerm_role_assignment.reader_host[0].role_definition_name =
    "Storage Blob Data Reader";
  assert.throws(() => checkAzureServiceRules(noRole), /is not Storage Blob Data Owner of its host storage/);
  const keyed = copy();
  keyed["functions.tf"].resource.azurerm_function_app_flex_consumption.reader[0].app_settings
    .AzureWebJobsStorage = "DefaultEndpointsProtocol=https;AccountKey=x";
  assert.throws(() => checkAzureServiceRules(keyed), /a host storage connection string/);
  const early = copy();
  early["functions.tf"].resource.azurerm_function_app_flex_consumption.reader[0].depends_on = [
    "${azurerm_role_assignment.reader_package}",
  ];
  assert.throws(() => checkAzureServiceRules(early), /may start before its identity owns the host storage/);
  const data = copy();
  data["storage.tf"].resource.azurerm_storage_container.x = [{
    name: "x",
    storage_account_id: "${azurerm_storage_account.reader_host.id}",
  }];
  assert.throws(
    () => checkAzureServiceRules(data),
    /is in host storage reader_host, which its host identity owns/,
  );
});
