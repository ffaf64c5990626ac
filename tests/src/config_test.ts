import assert from "node:assert/strict";
import {
  AwsConfig,
  AzureFunctionConfig,
  DatabricksConfig,
  EC2Config,
  EMRConfig,
  GcpConfig,
  LambdaConfig,
  LocalConfig,
} from "../../mod.ts";

Deno.test("LambdaConfig accepts Lambda's real limits and names the field outside them", () => {
  assert.equal(new LambdaConfig({ memory: 128, timeout: 900 }).memory, 128);
  assert.equal(new LambdaConfig({ memory: 10_240 }).memory, 10_240);
  assert.throws(
    () => new LambdaConfig({ memory: 64 }),
    (e: Error) => e instanceof RangeError && /"memory" is 64 MB.*128 and 10240/.test(e.message),
  );
  assert.throws(() => new LambdaConfig({ memory: 10_241 }), RangeError);
  assert.throws(
    () => new LambdaConfig({ timeout: 901 }),
    (e: Error) => e instanceof RangeError && /"timeout" is 901 seconds/.test(e.message),
  );
  assert.throws(() => new LambdaConfig({ timeout: 1.5 }), TypeError);
  assert.throws(() => new LambdaConfig({ ephemeralStorage: 100 }), RangeError);
  assert.throws(
    () => new LambdaConfig({ architecture: "sparc" as "arm64" }),
    /architecture.*"x86_64", "arm64"/,
  );
});

Deno.test("cloud configs check their identifiers", () => {
  assert.equal(new AwsConfig({ region: "eu-west-1" }).region, "eu-west-1");
  assert.throws(() => new AwsConfig({ region: "europe" }), /AwsConfig: "region" is "europe"/);
  assert.throws(() => new AwsConfig({ accountId: "123" }), /12-digit/);
  assert.throws(() => new AwsConfig({ stagingBucket: "bucket" }), /s3:\/\/my-bucket/);
  assert.throws(
    () => new GcpConfig({} as { project: string }),
    (e: Error) => e instanceof TypeError && /"project" is required/.test(e.message),
  );
  assert.throws(() => new GcpConfig({ project: "X" }), RangeError);
  assert.equal(new LocalConfig().root, "./data");
});

Deno.test("cluster and VM configs validate their shapes", () => {
  assert.throws(() => new DatabricksConfig({}), /exactly one of "clusterId".*"newCluster"/);
  assert.equal(
    new DatabricksConfig({
      newCluster: { sparkVersion: "15.4.x-scala2.12", nodeTypeId: "i3.xlarge", numWorkers: 3 },
    }).nodes,
    4,
  );
  assert.throws(() => new EMRConfig({ clusterId: "cluster-1" }), /j-2AXXXXXXGAPLF/);
  assert.throws(() => new EC2Config({ instanceType: "big" }), /m7i.large/);
  assert.throws(() => new EC2Config({ port: 70_000 }), RangeError);
  assert.equal(new EC2Config({ host: "10.0.0.5" }).port, 22);
  assert.throws(() => new AzureFunctionConfig({ plan: "consumption", timeout: 601 }), /between 1 and 600/);
  assert.throws(() => new AzureFunctionConfig({ memory: 1000 }), /"512", "2048", "4096"/);
});
