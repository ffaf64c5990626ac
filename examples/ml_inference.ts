#!/usr/bin/env -S deno run -A
/**
 * The seed's ML inference pipeline: extract on this machine, clean on AWS
 * Lambda, predict on a Databricks cluster, save on this machine. The same
 * file runs locally (`deno run -A examples/ml_inference.ts`: every task on
 * the local pool, every S3 bucket a folder under this project's `data/`, with
 * sample events written there first; `glacier run examples/ml_inference.ts
 * --data-root <dir>` picks another folder), runs in the cloud on emulators
 * (`deno task demo:ml`, examples/ml_cloud.ts), is analyzed and
 * drawn by `deno task analyze examples/ml_inference.ts`, and is what the
 * generated infrastructure in examples/infra/ and orchestrators in
 * examples/deploy/ come from.
 */
import {
  AwsConfig,
  type Bucket,
  DatabricksConfig,
  LambdaConfig,
  LocalConfig,
  pipeline,
  Provider,
} from "../mod.ts";
import pl from "nodejs-polars";
import { fileURLToPath } from "node:url";

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

/** Reads raw customer events: a LazyFrame, as the original design's `source.scan()`. */
export const extract = local.task(function extract(src: Bucket): Promise<pl.LazyDataFrame> {
  return src.scan();
});

/** Drops rows without a customer and scales the features to [0, 1]. */
export const clean = lambda.task(
  { retries: 2, timeout: 60_000 },
  function clean(df: pl.LazyDataFrame): pl.LazyDataFrame {
    return df.filter(pl.col("customer_id").gt(0)).withColumns(
      pl.col("visits").div(pl.col("visits").max().clip(1, Number.MAX_VALUE)),
      pl.col("spend").div(pl.col("spend").max().clip(1, Number.MAX_VALUE)),
    );
  },
);

/** Scores churn risk with a logistic model. */
export const predict = databricks.task(
  { timeout: 600_000 },
  function predict(df: pl.LazyDataFrame): pl.DataFrame {
    const logit = pl.lit(1.5).sub(pl.col("visits").mul(3.2)).sub(pl.col("spend").mul(2.1));
    return df.select(
      pl.col("customer_id"),
      pl.lit(1).div(pl.lit(1).add(logit.mul(-1).exp())).alias("churn_risk"),
    ).collectSync();
  },
);

/** Writes the scores. */
export const save = local.task(function save(df: pl.DataFrame, dst: Bucket): Promise<void> {
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
  // s3://ml-lake/raw/events.parquet is data/ml-lake/raw/events.parquet: seed it once.
  const dataRoot = fileURLToPath(new URL("../data", import.meta.url));
  const sample = new Provider({ config: new LocalConfig({ root: dataRoot }) }).bucket({
    bucket: events.bucket,
    path: events.path,
  });
  if (!(await sample.exists())) {
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    await sample.write(pl.DataFrame({
      customer_id: pl.Series("customer_id", ids.map((i) => i % 10 === 0 ? 0 : i), pl.Int32),
      visits: pl.Series("visits", ids.map((i) => (i * 7) % 40), pl.Float64),
      spend: pl.Series("spend", ids.map((i) => (i * 13) % 500), pl.Float64),
    }));
  }
  const scored = await mlInference.run({ dataRoot });
  console.log(`scored ${scored.height} customers`);
}
