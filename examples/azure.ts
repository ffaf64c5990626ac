#!/usr/bin/env -S deno run -A
/**
 * Cloud mode end to end on Azure, on this machine: `generate` and `save` run
 * on the local worker pool, `enrich` and `summarize` on an Azure function app
 * — here the local Functions host (tests/support/azure_functions_emulator.ts)
 * running the real artifact of `glacier build` as a custom handler, behind a
 * function key — with tables over the request cap staged through Azure Blob
 * (Azurite, from npm). `deno task demo:azure` starts both, builds and deploys
 * the app (what the generated Terraform does in Azure), runs the pipeline
 * with `mode: "cloud"`, prints the run report and stops them.
 */
import { AzureConfig, AzureFunctionConfig, type Bucket, pipeline, Provider } from "../mod.ts";
import { type Table, tableFromArrays } from "apache-arrow";

const provider = new Provider({
  config: new AzureConfig({
    storageAccount: "devstoreaccount1",
    stagingBucket: "az://glacier-demo-staging/demo",
  }),
});
const local = provider.local();
const fn = provider.serverless({
  name: "fn",
  config: new AzureFunctionConfig({ plan: "premium", timeout: 120 }),
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

/** Adds a 20% tax column, in the function app. */
export const enrich = fn.task({ retries: 2 }, function enrich(orders: Table): Table {
  const amount = orders.getChild("amount")!.toArray() as Float64Array;
  return tableFromArrays({
    id: orders.getChild("id")!.toArray() as Int32Array,
    region: orders.getChild("region")!.toArray() as Int32Array,
    amount,
    tax: amount.map((a) => a * 0.2),
  });
});

/** Totals per region, in the function app. */
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

export const azureDemo = pipeline(
  {
    name: "azure_demo",
    description: "Orders summarized on an Azure function app, staged through Azure Blob",
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
  const { startAzurite } = await import(`${support}azurite.ts`);
  const { startAzureFunctionsEmulator } = await import(`${support}azure_functions_emulator.ts`);
  const { printCloudReport } = await import(`${support}cloud_demo.ts`);
  const { buildLambdaArtifacts } = await import("../executors/lambda/build.ts");

  const azurite = await startAzurite({ containers: ["glacier-demo-staging", "glacier-demo-lake"] });
  const host = await startAzureFunctionsEmulator();
  Deno.env.set("AZURE_STORAGE_CONNECTION_STRING", azurite.connectionString);
  Deno.env.set("GLACIER_AZURE_FUNCTIONS_URL", host.urlTemplate);
  Deno.env.set("AZURE_FUNCTIONS_KEY", host.functionKey);
  console.error(`Azurite on ${azurite.endpoint}, Functions host on ${host.endpoint}`);
  try {
    console.error("building the function app's artifact (glacier build) …");
    for (const artifact of await buildLambdaArtifacts(azureDemo)) {
      const name = artifact.functionName.replace(/_/g, "-");
      console.error(`  ${artifact.path}: ${(artifact.bytes / 2 ** 20).toFixed(1)} MB → ${name}`);
      await host.deploy(name, artifact.path, {
        env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
      });
    }
    const summary = await azureDemo.run({ mode: "cloud" });
    await printCloudReport(
      azureDemo,
      summary,
      provider.bucket({ bucket: "glacier-demo-staging", path: "demo/" }),
    );
  } finally {
    await host.stop();
    await azurite.stop();
  }
}
