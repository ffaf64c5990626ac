import assert from "node:assert/strict";
import {
  AwsConfig,
  AzureConfig,
  CloudFunctionConfig,
  DatabricksConfig,
  EC2Config,
  GcpConfig,
  GlacierError,
  LambdaConfig,
  LocalConfig,
  Provider,
} from "../../mod.ts";

Deno.test("a config of another cloud is refused with both named", () => {
  const gcp = new Provider({ config: new GcpConfig({ project: "my-project" }) });
  assert.throws(
    () => gcp.serverless({ config: new LambdaConfig() }),
    (e: Error) =>
      e instanceof GlacierError && e.code === "USER:CONFIG_CLOUD" && /"LambdaConfig"/.test(e.message) &&
      /GcpConfig provider/.test(e.message) && /AwsConfig/.test(e.message),
  );
  assert.equal(gcp.serverless({ config: new CloudFunctionConfig() }).service, "cloud-function");
  const local = new Provider();
  assert.throws(() => local.vm({ config: new EC2Config() }), /LocalConfig provider/);
  // Databricks runs on every cloud.
  assert.equal(
    new Provider({ config: new AzureConfig() }).cluster({
      config: new DatabricksConfig({ clusterId: "abc-123" }),
    }).kind,
    "cluster",
  );
});

Deno.test("a config of the wrong kind for the method is a TypeError", () => {
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
  assert.throws(
    () => aws.serverless({ config: new EC2Config() as never }),
    (e: Error) => e instanceof TypeError && /serverless\(\).*EC2Config/.test(e.message),
  );
  assert.throws(() => new Provider({ config: {} as never }), TypeError);
});

Deno.test("resources get unique names; buckets get URIs of the provider's cloud", () => {
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
  assert.equal(aws.serverless({ config: new LambdaConfig() }).name, "lambda");
  assert.equal(aws.serverless({ config: new LambdaConfig({ memory: 4096 }) }).name, "lambda_2");
  assert.equal(aws.serverless({ name: "heavy", config: new LambdaConfig() }).name, "heavy");
  assert.throws(() => aws.local({ name: "heavy" }), /already taken/);
  assert.equal(
    aws.bucket({ bucket: "data-lake", path: "raw/data.parquet" }).uri,
    "s3://data-lake/raw/data.parquet",
  );
  assert.equal(
    new Provider({ config: new GcpConfig({ project: "my-project" }) }).bucket({
      bucket: "lake",
      path: "x.csv",
    }).uri,
    "gs://lake/x.csv",
  );
  const root = Deno.makeTempDirSync();
  const uri =
    new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "raw/x.parquet" }).uri;
  assert.equal(uri, `file://${root}/lake/raw/x.parquet`);
});

Deno.test("bucket names and paths are checked", () => {
  const p = new Provider();
  assert.throws(() => p.bucket({ bucket: "Bad Name", path: "x" }), RangeError);
  assert.throws(() => p.bucket({ bucket: "lake", path: "../etc/passwd" }), /climbs out of the bucket/);
  assert.throws(() => p.bucket({ bucket: "lake", path: "/abs" }), RangeError);
  assert.throws(() => p.bucket({ bucket: "lake", path: "a/../../b" }), RangeError);
});
