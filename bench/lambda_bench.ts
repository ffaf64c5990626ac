#!/usr/bin/env -S deno run -A
// A Glacier task call on Lambda vs a raw InvokeCommand of the same payload
// bytes, on the same function in the local Lambda emulator (the real artifact:
// bootstrap, Deno, runner). Glacier's side is the whole attempt —
// encode the table as Arrow IPC, the JSON wire format, Invoke, decode the
// result into a Table; the raw side sends prebuilt bytes and keeps the reply
// as bytes. Both run in the same warm sandbox, alternating, median of rounds.
//
//   deno run -A bench/lambda_bench.ts [--quick]
//
// Prints a human line to stderr and, as its last stdout line, one JSON object:
// {"lambda_overhead_ratio": <Glacier time / raw time>}. The goal is <= 1.5.
import { parseArgs } from "node:util";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { tableFromArrays } from "apache-arrow";
import { toWireJson } from "../executors/_wire.ts";
import { LambdaExecutor } from "../executors/lambda/executor.ts";
import { PAYLOAD_VERSION, type TaskPayload } from "../executors/payload.ts";
import { encodeValue, ensureArrow } from "../src/data/payload.ts";
import { startCloudFixture } from "../tests/executors/lambda/_cloud_fixture.ts";
import { scale } from "../tests/executors/lambda/fixtures/lambda_pipeline.ts";

await ensureArrow(); // encodeValue()/decodeValue() of tables need apache-arrow loaded first

const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean", default: false } } });
const rounds = values.quick ? 15 : 60;
const rows = 20_000; // 160 KB of float64: a realistic small task payload

const fx = await startCloudFixture();
try {
  const table = tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) });
  const args = [table, false, ""];
  const executor = new LambdaExecutor({
    pipeline: "lambda_fixture",
    runId: "bench",
    resource: scale.resource,
    provider: scale.resource.providerConfig,
    syncCode: false,
    client: fx.client, // the same client as the raw side
    endpoint: fx.emulator.endpoint,
  });
  const signal = new AbortController().signal;
  const glacier = async () => {
    const value = await executor.execute({
      pipeline: "lambda_fixture",
      runId: "bench",
      nodeId: "scale",
      task: scale,
      args,
      attempt: 1,
      signal,
    });
    if ((value as typeof table).numRows !== rows) throw new Error("wrong result");
  };
  const payload: TaskPayload = {
    version: PAYLOAD_VERSION,
    pipeline: "lambda_fixture",
    runId: "bench",
    nodeId: "scale",
    task: "scale",
    module: scale.module,
    attempt: 1,
    args: encodeValue(args, "ipc").value,
    output: { cap: 6 * 1024 * 1024 },
  };
  const bytes = new TextEncoder().encode(toWireJson(payload));
  const raw = async () => {
    const response = await fx.client.send(
      new InvokeCommand({
        FunctionName: fx.built.functionName,
        InvocationType: "RequestResponse",
        LogType: "Tail",
        Payload: bytes,
      }),
    );
    if (response.FunctionError || !response.Payload?.byteLength) throw new Error("raw invoke failed");
  };
  for (let i = 0; i < 5; i++) (await glacier(), await raw()); // cold start, code check, JIT
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
  await executor.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const g = median(times.glacier);
  const r = median(times.raw);
  const ratio = Math.round((g / r) * 1000) / 1000;
  console.error(
    `lambda: Glacier task call ${g.toFixed(2)} ms vs raw InvokeCommand ${
      r.toFixed(2)
    } ms (median of ${rounds}, ${bytes.byteLength} payload bytes) → ratio ${ratio} (goal ≤ 1.5)`,
  );
  console.log(JSON.stringify({ lambda_overhead_ratio: ratio }));
} finally {
  await fx.stop();
}
