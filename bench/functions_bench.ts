#!/usr/bin/env -S deno run -A
// A Glacier task call on a Cloud Run function and on an Azure function app vs
// a raw HTTPS POST of the same payload bytes, on the same deployed artifact in
// the local emulators (node + the Functions Framework signature + Deno; the
// Functions host's custom-handler envelopes + Deno). Glacier's side is the
// whole attempt — Arrow IPC, wire JSON, auth header, POST, decoding the result
// into a Table; the raw side posts prebuilt bytes and keeps the reply as
// bytes. Both alternate on the same warm instance, median of rounds.
//
//   deno run -A --config tests/deno.test.json bench/functions_bench.ts [--quick]
//
// Last stdout line: {"cloud_function_overhead_ratio": …, "azure_function_overhead_ratio": …}; goal <= 1.5.
import { parseArgs } from "node:util";
import { tableFromArrays } from "apache-arrow";
import { toWireJson } from "../executors/_wire.ts";
import { PAYLOAD_VERSION, type TaskPayload } from "../executors/payload.ts";
import { encodeValue, ensureArrow } from "../src/data/payload.ts";
import { buildLambdaArtifacts } from "../executors/lambda/build.ts";
import { createCloudFunctionExecutor } from "../executors/cloud_function/executor.ts";
import { createAzureFunctionExecutor } from "../executors/azure_function/executor.ts";
import type { Executor } from "../src/run/executor.ts";
import type { Task } from "../src/task.ts";
import { startCloudFunctionsEmulator } from "../tests/support/cloud_functions_emulator.ts";
import { startAzureFunctionsEmulator } from "../tests/support/azure_functions_emulator.ts";
import { gcpPipeline, scale as gcpScale } from "../tests/executors/cloud_function/fixtures/gcp_pipeline.ts";
import {
  azurePipeline,
  scale as azureScale,
} from "../tests/executors/azure_function/fixtures/azure_pipeline.ts";
import { median, round } from "./_measure.ts";

await ensureArrow();
const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean", default: false } } });
const rounds = values.quick ? 15 : 60;
const rows = 20_000;
const table = tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) });
const args = [table, false, ""];

async function ratio(
  label: string,
  pipeline: string,
  task: Task,
  executor: Executor,
  url: string,
  headers: Record<string, string>,
): Promise<number> {
  const signal = new AbortController().signal;
  const glacier = async () => {
    const value = await executor.execute({
      pipeline,
      runId: "bench",
      nodeId: "scale",
      task,
      args,
      attempt: 1,
      signal,
    });
    if ((value as typeof table).numRows !== rows) throw new Error("wrong result");
  };
  const payload: TaskPayload = {
    version: PAYLOAD_VERSION,
    pipeline,
    runId: "bench",
    nodeId: "scale",
    task: "scale",
    module: task.module,
    attempt: 1,
    args: encodeValue(args, "ipc").value,
    output: { cap: 32 * 1024 * 1024 },
  };
  const bytes = new TextEncoder().encode(toWireJson(payload));
  const raw = async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: bytes,
    });
    const body = new Uint8Array(await response.arrayBuffer());
    if (!response.ok || !body.byteLength) throw new Error(`raw invoke failed: ${response.status}`);
  };
  for (let i = 0; i < 5; i++) (await glacier(), await raw()); // cold start, JIT
  const times = { glacier: [] as number[], raw: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (
      const [name, fn] of i % 2
        ? [["raw", raw], ["glacier", glacier]] as const
        : [["glacier", glacier], ["raw", raw]] as const
    ) {
      const start = performance.now();
      await fn();
      times[name].push(performance.now() - start);
    }
  }
  const g = median(times.glacier);
  const r = median(times.raw);
  const value = round(g / r, 3);
  console.error(
    `${label}: Glacier task call ${g.toFixed(2)} ms vs raw POST ${
      r.toFixed(2)
    } ms (median of ${rounds}, ${bytes.byteLength} payload bytes) → ratio ${value} (goal ≤ 1.5)`,
  );
  return value;
}

const gcf = await startCloudFunctionsEmulator();
const az = await startAzureFunctionsEmulator();
try {
  const [gcpBuilt] = await buildLambdaArtifacts(gcpPipeline);
  await gcf.deploy("glacier-gcp-fixture-fn", gcpBuilt.path);
  const [azBuilt] = await buildLambdaArtifacts(azurePipeline);
  await az.deploy("glacier-azure-fixture-fn", azBuilt.path);
  Deno.env.set("GOOGLE_ID_TOKEN", gcf.token);
  Deno.env.set("AZURE_FUNCTIONS_KEY", az.functionKey);
  const base = { runId: "bench", syncCode: false } as const;
  const cloudFunction = await ratio(
    "cloud-function",
    "gcp_fixture",
    gcpScale,
    createCloudFunctionExecutor({
      ...base,
      pipeline: "gcp_fixture",
      resource: gcpScale.resource,
      endpoint: gcf.urlTemplate,
    }),
    `${gcf.endpoint}/glacier-gcp-fixture-fn`,
    { authorization: `Bearer ${gcf.token}` },
  );
  const azureFunction = await ratio(
    "azure-function",
    "azure_fixture",
    azureScale,
    createAzureFunctionExecutor({
      ...base,
      pipeline: "azure_fixture",
      resource: azureScale.resource,
      endpoint: az.urlTemplate,
    }),
    `${az.endpoint}/glacier-azure-fixture-fn/api/glacier`,
    { "x-functions-key": az.functionKey },
  );
  console.log(
    JSON.stringify({
      cloud_function_overhead_ratio: cloudFunction,
      azure_function_overhead_ratio: azureFunction,
    }),
  );
} finally {
  await gcf.stop();
  await az.stop();
}
