#!/usr/bin/env -S deno run -A
/**
 * The seed's ML inference pipeline: extract on this machine, clean on AWS
 * Lambda, predict on a Databricks cluster, save on this machine. The same
 * file runs locally (every task on the local pool; its buckets are S3, so
 * point AWS_ENDPOINT_URL_S3 at an S3-compatible server), is analyzed and
 * drawn by `deno task analyze examples/ml_inference.ts`, and is what the
 * generated infrastructure in examples/infra/ and orchestrators in
 * examples/deploy/ come from.
 */
import { AwsConfig, type Bucket, DatabricksConfig, LambdaConfig, pipeline, Provider } from "../mod.ts";
import { type Table, tableFromArrays } from "apache-arrow";

const provider = new Provider({
  config: new AwsConfig({ region: "us-east-1", stagingBucket: "s3://glacier-staging/ml" }),
});

const local = provider.local();
const lambda = provider.serverless({ config: new LambdaConfig({ memory: 2048, timeout: 300 }) });
const databricks = provider.cluster({
  config: new DatabricksConfig({ clusterId: "0101-123456-glacier1", sku: "jobs-compute", nodes: 3 }),
});

const events = provider.bucket({ bucket: "ml-lake", path: "raw/events.parquet" });
const scores = provider.bucket({ bucket: "ml-lake", path: "scores/churn.parquet" });

/** Reads raw customer events. */
export const extract = local.task(function extract(src: Bucket): Promise<Table> {
  return src.scan();
});

/** Drops rows without a customer and scales the features to [0, 1]. */
export const clean = lambda.task({ retries: 2, timeout: 60_000 }, function clean(df: Table): Table {
  const customer = df.getChild("customer_id")!.toArray() as Int32Array;
  const visits = df.getChild("visits")!.toArray() as Float64Array;
  const spend = df.getChild("spend")!.toArray() as Float64Array;
  const keep: number[] = [];
  for (let i = 0; i < customer.length; i++) if (customer[i] > 0) keep.push(i);
  const maxVisits = Math.max(1, ...keep.map((i) => visits[i]));
  const maxSpend = Math.max(1, ...keep.map((i) => spend[i]));
  return tableFromArrays({
    customer_id: Int32Array.from(keep, (i) => customer[i]),
    visits: Float64Array.from(keep, (i) => visits[i] / maxVisits),
    spend: Float64Array.from(keep, (i) => spend[i] / maxSpend),
  });
});

/** Scores churn risk with a logistic model. */
export const predict = databricks.task({ timeout: 600_000 }, function predict(df: Table): Table {
  const visits = df.getChild("visits")!.toArray() as Float64Array;
  const spend = df.getChild("spend")!.toArray() as Float64Array;
  const risk = Float64Array.from(visits, (v, i) => 1 / (1 + Math.exp(-(1.5 - 3.2 * v - 2.1 * spend[i]))));
  return tableFromArrays({
    customer_id: df.getChild("customer_id")!.toArray() as Int32Array,
    churn_risk: risk,
  });
});

/** Writes the scores. */
export const save = local.task(function save(df: Table, dst: Bucket): Promise<void> {
  return dst.write(df);
});

export const mlInference = pipeline(
  { name: "ml_inference", description: "Score customer churn risk", config: { schedule: "0 6 * * *" } },
  () => {
    const cleaned = clean(extract(events));
    const predictions = predict(cleaned);
    save(predictions, scores);
    return predictions;
  },
);

if (import.meta.main) {
  const table = await mlInference.run();
  console.log(`scored ${table.numRows} customers`);
}
