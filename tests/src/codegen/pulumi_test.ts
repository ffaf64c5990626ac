import assert from "node:assert/strict";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { awsPrivateVm } from "../../fixtures/codegen/vms.ts";
import { denoCheckPulumi } from "../../support/codegen_checks.ts";
import { artifactRootFor, assertGolden } from "../../support/golden.ts";

const cases = [
  { name: "ml_inference", pipeline: mlInference, golden: "examples/infra/pulumi" },
  { name: "aws_wide", pipeline: wide, golden: "tests/fixtures/codegen/golden/aws_wide/pulumi" },
];

for (const c of cases) {
  Deno.test(`generate pulumi for ${c.name}: the program type-checks with deno check against @pulumi/aws`, async () => {
    const { files } = await c.pipeline.generate({
      format: "pulumi",
      artifactRoot: artifactRootFor(c.golden),
    });
    assert.ok(["index.ts", "Pulumi.yaml", "package.json", "tsconfig.json"].every((f) => f in files));
    await denoCheckPulumi(files);
    const pkg = JSON.parse(files["package.json"]);
    assert.equal(pkg.dependencies["@pulumi/aws"], "7.48.0");
    assert.match(files["Pulumi.yaml"], /runtime: nodejs/);
    for (const text of Object.values(files)) {
      assert.ok(!text.includes("file://") && !text.includes(Deno.cwd()));
    }
    await assertGolden(c.golden, files);
  });
}

Deno.test("generate pulumi: the program declares the same AWS resources, least privilege, secrets from config", async () => {
  const { files } = await wide.generate({ format: "pulumi" });
  const program = files["index.ts"];
  for (
    const kind of [
      "aws.s3.Bucket(",
      "aws.s3.BucketLifecycleConfiguration(",
      "aws.lambda.Function(",
      "aws.iam.RolePolicy(",
      "aws.iam.InstanceProfile(",
      "aws.ec2.Instance(",
      "aws.iam.Policy(",
    ]
  ) assert.ok(program.includes(kind), kind);
  assert.match(program, /const envApiKey = config\.requireSecret\("envApiKey"\)/);
  assert.match(
    program,
    /const envApiKeySecretVersion = new aws\.secretsmanager\.SecretVersion\("env_api_key", \{\n\s+secretId: envApiKeySecret\.id,\n\s+secretString: envApiKey,/,
  );
  assert.match(program, /GLACIER_SECRET_API_KEY: envApiKeySecret\.arn/);
  assert.doesNotMatch(program, /^\s+API_KEY:/m, "the value is not a plain environment variable");
  assert.match(
    program,
    /Action: \["secretsmanager:GetSecretValue"\],\n\s+Resource: \[envApiKeySecret\.arn, envLogLevelSecret\.arn\]/,
  );
  assert.match(program, /dependsOn: \[apiLogGroup, envApiKeySecretVersion, envLogLevelSecretVersion\]/);
  assert.match(
    program,
    /source: new pulumi\.asset\.FileAsset\(`\$\{artifactRoot\}\/\.glacier\/build\/aws_wide\/api\.zip`\)/,
  );
  assert.match(program, /s3Key: apiArtifact\.key/);
  assert.ok(!program.includes("FileArchive"), "no inline upload of the function code");
  for (const m of program.matchAll(/Action: \[([^\]]*)\]/g)) assert.ok(!m[1].includes("*"), m[1]);
  assert.ok(!/Resource: \[\s*"\*"/.test(program));
  assert.ok(!program.includes("vault"));
});

Deno.test("generate pulumi: VMs get a looked-up subnet, a key pair and SSH from config, and the program type-checks", async () => {
  const { files } = await awsPrivateVm.generate({ format: "pulumi" });
  const program = files["index.ts"];
  assert.match(program, /const sshPublicKey = config\.require\("sshPublicKey"\)/);
  assert.match(program, /const sshCidr = config\.require\("sshCidr"\)/);
  assert.match(program, /aws\.ec2\.getSubnetOutput\(\{\n\s+id: "subnet-0abc12345def67890",/);
  assert.match(program, /vpcId: subnet0abc12345def67890Network\.vpcId,/);
  assert.match(program, /cidrBlocks: \[sshCidr\]/);
  assert.match(program, /keyName: sshKeyPair\.keyName,/);
  assert.doesNotMatch(program, /new aws\.ec2\.Eip\("inside"/, "no public address in a private subnet");
  assert.match(program, /new aws\.ec2\.Eip\("open"/);
  assert.match(program, /export const insidePrivateIp = insideInstance\.privateIp;/);
  await denoCheckPulumi(files);
  const wideProgram = (await wide.generate({ format: "pulumi" })).files["index.ts"];
  assert.match(
    wideProgram,
    /subnetId: defaultNetwork\.ids\.apply\(\(ids\) => \[\.\.\.ids\]\.sort\(\)\[0\]\),/,
  );
});
