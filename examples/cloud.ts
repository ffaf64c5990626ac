#!/usr/bin/env -S deno run -A
/**
 * Cloud mode end to end on this machine: `generate` and `save` run on the
 * local worker pool, `enrich` and `summarize` on AWS Lambda — here the local
 * Lambda emulator (tests/support/lambda_emulator.ts) running the real
 * artifact of `glacier build`, with tables over Lambda's 6 MB cap staged
 * through S3 (s3rver). `deno task demo:cloud` starts both servers, builds and
 * creates the function (what the generated Terraform does in AWS), runs the
 * pipeline with `mode: "cloud"`, prints the run report and stops them.
 */
import { AwsConfig, type Bucket, LambdaConfig, pipeline, Provider } from "../mod.ts";
import { type Table, tableFromArrays } from "apache-arrow";

const provider = new Provider({
  config: new AwsConfig({
    region: "us-east-1",
    stagingBucket: "s3://glacier-staging/demo",
    forcePathStyle: true,
  }),
});
const local = provider.local();
const lambda = provider.serverless({
  config: new LambdaConfig({ memory: 1024, timeout: 120, concurrency: 4 }),
});
const out = provider.bucket({ bucket: "demo-lake", path: "summary/by_region.csv" });

const REGIONS = ["north", "south", "east", "west"];

/** Makes `rows` orders: an id, a region code and an amount. */
export const generate = local.task(function generate(rows: number): Table {
  return tableFromArrays({
    id: Int32Array.from({ length: rows }, (_, i) => i),
    region: Int32Array.from({ length: rows }, (_, i) => (i * 7) % REGIONS.length),
    amount: Float64Array.from({ length: rows }, (_, i) => 10 + (i % 1000) / 10),
  });
});

/** Adds a 20% tax column, on Lambda. */
export const enrich = lambda.task({ retries: 2 }, function enrich(orders: Table): Table {
  const amount = orders.getChild("amount")!.toArray() as Float64Array;
  return tableFromArrays({
    id: orders.getChild("id")!.toArray() as Int32Array,
    region: orders.getChild("region")!.toArray() as Int32Array,
    amount,
    tax: amount.map((a) => a * 0.2),
  });
});

/** Totals per region, on Lambda. */
export const summarize = lambda.task({ retries: 2 }, function summarize(orders: Table): Table {
  const region = orders.getChild("region")!.toArray() as Int32Array;
  const amount = orders.getChild("amount")!.toArray() as Float64Array;
  const tax = orders.getChild("tax")!.toArray() as Float64Array;
  const totals = new Float64Array(REGIONS.length);
  const taxes = new Float64Array(REGIONS.length);
  for (let i = 0; i < region.length; i++) {
    totals[region[i]] += amount[i];
    taxes[region[i]] += tax[i];
  }
  return tableFromArrays({ region: REGIONS, total: totals, tax: taxes });
});

/** Writes the summary. */
export const save = local.task(function save(summary: Table, dst: Bucket): Promise<void> {
  return dst.write(summary);
});

export const cloudDemo = pipeline(
  { name: "cloud_demo", description: "Orders summarized on Lambda, staged through S3" },
  ({ rows = 1_000_000 }: { rows?: number }) => {
    const summary = summarize(enrich(generate(rows)));
    save(summary, out);
    return summary;
  },
);

if (import.meta.main) {
  // The harness is loaded by computed specifiers so it stays out of the
  // module graph `glacier build` packages into the function.
  const support = new URL("../tests/support/", import.meta.url).href;
  const { s3rverEnv, startS3rver, useS3rverEnv } = await import(`${support}s3rver.ts`);
  const { startLambdaEmulator } = await import(`${support}lambda_emulator.ts`);
  const { buildLambdaArtifacts } = await import("../executors/lambda/build.ts");
  const { CreateFunctionCommand, LambdaClient } = await import("@aws-sdk/client-lambda");
  const { closeS3Stores } = await import("../aws.ts");

  const s3 = await startS3rver({ buckets: ["glacier-staging", "demo-lake"] });
  // Only the emulators' own credentials: a real AWS_SESSION_TOKEN or profile in
  // this shell must reach neither this process's S3 client nor the sandboxes.
  useS3rverEnv(s3.endpoint);
  const emulator = await startLambdaEmulator({ env: s3rverEnv(s3.endpoint) });
  Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", emulator.endpoint);
  console.error(`s3rver on ${s3.endpoint}, Lambda emulator on ${emulator.endpoint}`);
  const client = new LambdaClient({ endpoint: emulator.endpoint, region: "us-east-1" });
  try {
    console.error("building the Lambda artifact (glacier build) …");
    for (const artifact of await buildLambdaArtifacts(cloudDemo)) {
      console.error(
        `  ${artifact.path}: ${(artifact.bytes / 2 ** 20).toFixed(1)} MB → ${artifact.functionName}`,
      );
      // Over Lambda's 50 MB inline upload limit: the code goes through S3, as Terraform does it.
      const code = provider.bucket({ bucket: "glacier-staging", path: `code/${artifact.functionName}.zip` });
      await code.put(await Deno.readFile(artifact.path));
      await client.send(
        new CreateFunctionCommand({
          FunctionName: artifact.functionName,
          Runtime: "provided.al2023",
          Role: "arn:aws:iam::000000000000:role/glacier-demo",
          Handler: "bootstrap",
          Code: { S3Bucket: code.bucket, S3Key: code.path },
          MemorySize: 1024,
          Timeout: 120,
        }),
      );
    }
    const summary = await cloudDemo.run({ mode: "cloud" });
    console.log(JSON.stringify(summary.toArray().map((row) => row.toJSON()), null, 2));
    const report = cloudDemo.lastRun!;
    console.log(
      `run ${report.runId}: ${report.status} in mode "${report.mode}" (.glacier/runs/${report.runId}.json)`,
    );
    for (const task of report.tasks) {
      console.log(
        `  ${task.id.padEnd(10)} executor=${
          task.executor.padEnd(7)
        } ranOn=${task.ranOn} status=${task.status}`,
      );
    }
    const staged = await provider.bucket({ bucket: "glacier-staging", path: "demo/" }).list();
    console.log(`staged objects left after the run: ${staged.length}`);
  } finally {
    client.destroy();
    closeS3Stores();
    await emulator.stop();
    await s3.stop();
  }
}
