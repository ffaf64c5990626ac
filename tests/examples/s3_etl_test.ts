import assert from "node:assert/strict";
import { AwsConfig, Provider } from "../../mod.ts";
import { closeS3Stores } from "../../aws.ts";
import { startS3rver, useS3rverEnv } from "../support/s3rver.ts";

Deno.test("examples/s3_etl.ts turns a CSV on S3 into one Parquet file per region", async () => {
  const server = await startS3rver({ buckets: ["lake"] });
  const restore = useS3rverEnv(server.endpoint);
  try {
    const { s3Etl } = await import("../../examples/s3_etl.ts");
    const result = await s3Etl.run({ workers: 0, quiet: true });
    assert.deepEqual(result.files, [
      "s3://lake/sales_by_region/region=eu/part-0.parquet",
      "s3://lake/sales_by_region/region=us/part-0.parquet",
      "s3://lake/sales_by_region/region=apac/part-0.parquet",
    ]);
    assert.equal(result.rows, 24);
    const lake = new Provider({ config: new AwsConfig({ region: "us-east-1" }) }).bucket({
      bucket: "lake",
      path: "",
    });
    const eu = await lake.at("sales_by_region/region=eu/part-0.parquet").scanArrow();
    assert.equal(eu.numRows, 8);
    assert.deepEqual(new Set(eu.getChild("region")!.toArray()), new Set(["eu"]));
    assert.ok(server.events.includes("ObjectCreated:Put raw/sales.csv"), "the sample CSV was seeded on S3");
  } finally {
    closeS3Stores();
    restore();
    await server.stop();
  }
});
