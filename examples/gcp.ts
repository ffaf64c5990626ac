#!/usr/bin/env -S deno run -A
/**
 * Cloud mode end to end on GCP, on this machine: `generate` and `save` run on
 * the local worker pool, `enrich` and `summarize` on a Cloud Run function
 * (Cloud Functions 2nd gen) — here the local Cloud Run functions service
 * (tests/support/cloud_functions_emulator.ts) running the real artifact of
 * `glacier build` as the nodejs runtime does, behind an identity token — with
 * tables over the request cap staged through Cloud Storage (the JSON API
 * emulator). `deno task demo:gcp` starts both, builds and deploys the
 * function (what the generated Terraform does in GCP), runs the pipeline with
 * `mode: "cloud"`, prints the run report and stops them.
 */
import { type Bucket, CloudFunctionConfig, GcpConfig, pipeline, Provider } from "../mod.ts";
import { type Table, tableFromArrays } from "apache-arrow";

const provider = new Provider({
  config: new GcpConfig({ project: "glacier-demo", stagingBucket: "gs://glacier-demo-staging/demo" }),
});
const local = provider.local();
const fn = provider.serverless({
  name: "fn",
  config: new CloudFunctionConfig({ memory: 1024, timeout: 120 }),
});
const out = provider.bucket({ bucket: "glacier-demo-lake", path: "summary/by_region.csv" });

const REGIONS = ["north", "south", "east", "west"];

/** Makes `rows` orders: an id, a region code and an amount. */
export const generate = local.task(function generate(rows: number): Table {
  return tableFromArrays({
    id: Int32Array.from({ length: rows }, (_, i) => i),
    region: Int32Array.from({ length: rows }, (_, i) => (i * 7) % REGIONS.length),
    amount: Float64Array.from({ length: rows }, (_, i) => 10 + (i % 1000) / 10),
  });
});

/** Adds a 20% tax column, on the function. */
export const enrich = fn.task({ retries: 2 }, function enrich(orders: Table): Table {
  const amount = orders.getChild("amount")!.toArray() as Float64Array;
  return tableFromArrays({
    id: orders.getChild("id")!.toArray() as Int32Array,
    region: orders.getChild("region")!.toArray() as Int32Array,
    amount,
    tax: amount.map((a) => a * 0.2),
  });
});

/** Totals per region, on the function. */
export const summarize = fn.task({ retries: 2 }, function summarize(orders: Table): Table {
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

export const gcpDemo = pipeline(
  {
    name: "gcp_demo",
    description: "Orders summarized on a Cloud Run function, staged through Cloud Storage",
  },
  ({ rows = 2_000_000 }: { rows?: number }) => {
    const summary = summarize(enrich(generate(rows)));
    save(summary, out);
    return summary;
  },
);

if (import.meta.main) {
  // Computed specifiers keep the harness out of the graph `glacier build` packages.
  const support = new URL("../tests/support/", import.meta.url).href;
  const { startGcsEmulator } = await import(`${support}gcs_emulator.ts`);
  const { startCloudFunctionsEmulator } = await import(`${support}cloud_functions_emulator.ts`);
  const { printCloudReport } = await import(`${support}cloud_demo.ts`);
  const { buildLambdaArtifacts } = await import("../executors/lambda/build.ts");

  const gcs = await startGcsEmulator({ buckets: ["glacier-demo-staging", "glacier-demo-lake"] });
  const functions = await startCloudFunctionsEmulator();
  Deno.env.set("STORAGE_EMULATOR_HOST", gcs.host);
  Deno.env.set("GLACIER_CLOUD_FUNCTIONS_URL", functions.urlTemplate);
  Deno.env.set("GOOGLE_ID_TOKEN", functions.token);
  console.error(`Cloud Storage emulator on ${gcs.endpoint}, Cloud Run functions on ${functions.endpoint}`);
  try {
    console.error("building the function's artifact (glacier build) …");
    for (const artifact of await buildLambdaArtifacts(gcpDemo)) {
      const name = artifact.functionName.replace(/_/g, "-");
      console.error(`  ${artifact.path}: ${(artifact.bytes / 2 ** 20).toFixed(1)} MB → ${name}`);
      await functions.deploy(name, artifact.path, {
        env: { STORAGE_EMULATOR_HOST: gcs.host },
        timeoutSeconds: 120,
      });
    }
    const summary = await gcpDemo.run({ mode: "cloud" });
    await printCloudReport(
      gcpDemo,
      summary,
      provider.bucket({ bucket: "glacier-demo-staging", path: "demo/" }),
    );
  } finally {
    await functions.stop();
    await gcs.stop();
  }
}
