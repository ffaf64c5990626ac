#!/usr/bin/env -S deno run -A
/**
 * `deno task demo:ml`: the ML inference pipeline of examples/ml_inference.ts
 * in cloud mode, end to end on loopback. It starts s3rver (the lake and the
 * staging bucket), the Lambda emulator (`clean` runs in a sandbox from the
 * `glacier build` artifact) and the Databricks Jobs API emulator (`predict`
 * runs as a one-time run whose launcher is a `deno run` subprocess), seeds
 * `s3://ml-lake/raw/events.parquet`, points the standard environment
 * (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_LAMBDA`, `DATABRICKS_HOST`,
 * `DATABRICKS_TOKEN`) at them, runs the pipeline with
 * `run({ mode: "cloud", syncCode: true })`, prints what ran where, and stops
 * the servers.
 */
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { tableFromArrays } from "apache-arrow";
import { AwsConfig, Provider } from "../mod.ts";
import { buildLambdaArtifacts } from "../executors/lambda/build.ts";
import { closeS3Stores } from "../stores/s3.ts";
import { startDatabricksEmulator } from "../tests/support/databricks_emulator.ts";
import { startLambdaEmulator } from "../tests/support/lambda_emulator.ts";
import { s3rverEnv, startS3rver, useS3rverEnv } from "../tests/support/s3rver.ts";
import { mlInference } from "./ml_inference.ts";

/** How many customers the seeded events have. */
const CUSTOMERS = 5_000;

/** What a cluster run needs from this process (its tools and Deno's cache), plus `vars`; no other secret. */
function runEnv(vars: Record<string, string>): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"];
  const base = Object.fromEntries(
    keep.flatMap((k) => Deno.env.get(k) === undefined ? [] : [[k, Deno.env.get(k)!]]),
  );
  return { ...base, ...vars };
}

if (import.meta.main) {
  const s3 = await startS3rver({ buckets: ["ml-lake", "glacier-staging"] });
  // Only the emulators' own credentials: a real AWS_SESSION_TOKEN or profile in
  // this shell must reach neither this process's clients nor the sandboxes and runs.
  const restoreS3 = useS3rverEnv(s3.endpoint);
  const lambda = await startLambdaEmulator({ env: s3rverEnv(s3.endpoint) });
  const token = `dapi-demo-${crypto.randomUUID()}`;
  const databricks = await startDatabricksEmulator({ token, env: runEnv(s3rverEnv(s3.endpoint)) });
  Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint);
  Deno.env.set("DATABRICKS_HOST", databricks.host);
  Deno.env.set("DATABRICKS_TOKEN", token);
  const client = new LambdaClient({ endpoint: lambda.endpoint, region: "us-east-1", maxAttempts: 1 });
  try {
    // Raw events: every 10th row has no customer (clean drops it).
    const lake = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
    await lake.bucket({ bucket: "ml-lake", path: "raw/events.parquet" }).write(tableFromArrays({
      customer_id: Int32Array.from({ length: CUSTOMERS }, (_, i) => i % 10 === 0 ? 0 : i),
      visits: Float64Array.from({ length: CUSTOMERS }, (_, i) => (i * 7) % 40),
      spend: Float64Array.from({ length: CUSTOMERS }, (_, i) => (i * 13) % 500),
    }));
    console.log(`s3rver at ${s3.endpoint}: seeded s3://ml-lake/raw/events.parquet (${CUSTOMERS} rows)`);

    // The Lambda function exists; syncCode: true uploads the artifact when it differs.
    const [built] = await buildLambdaArtifacts(mlInference);
    await client.send(
      new CreateFunctionCommand({
        FunctionName: built.functionName,
        Runtime: "provided.al2023",
        Role: "arn:aws:iam::000000000000:role/glacier-demo",
        Handler: "bootstrap",
        Code: { ZipFile: await Deno.readFile(built.path) },
        Timeout: 300,
        MemorySize: 2048,
      }),
    );
    console.log(`Lambda emulator at ${lambda.endpoint}: function ${built.functionName}`);
    console.log(`Databricks emulator at ${databricks.host}: cluster 0101-123456-glacier1`);

    const predictions = await mlInference.run({ mode: "cloud", syncCode: true, quiet: true });
    const report = mlInference.lastRun!;
    console.log(`\nrun ${report.runId} (${report.mode}): scored ${predictions.height} customers`);
    for (const task of report.tasks) {
      console.log(
        `  ${task.id.padEnd(8)} ${task.status.padEnd(5)} on ${
          String(task.ranOn).padEnd(10)
        } (executor ${task.executor}, ${task.attempts} attempt${task.attempts === 1 ? "" : "s"})`,
      );
    }
    const saved = await lake.bucket({ bucket: "ml-lake", path: "scores/churn.parquet" }).scanArrow();
    console.log(`s3://ml-lake/scores/churn.parquet has ${saved.numRows} rows`);
    const runs = [...databricks.runs.values()];
    console.log(
      `Databricks runs: ${runs.map((r) => `${r.runId} ${r.lifeCycleState}/${r.resultState}`).join(", ")}`,
    );
  } finally {
    client.destroy();
    closeS3Stores();
    await databricks.stop();
    await lambda.stop();
    await s3.stop();
    restoreS3();
  }
  // Every server is stopped, yet an idle handle of one of the emulators'
  // HTTP stacks can keep the event loop alive: end here rather than hang.
  Deno.exit(0);
}
