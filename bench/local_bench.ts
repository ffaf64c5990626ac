#!/usr/bin/env -S deno run -A
// Local execution: the scheduler in-process and on the pool, the postMessage
// floor, Dask's threaded scheduler on the same graph, Arrow hand-off between
// workers against a plain copy and fan-out speedup (cold start is in
// cold_start_bench.ts). Every
// baseline runs in this script on this machine. Protocol: human lines on
// stderr; the last stdout line is one JSON object of results.
import { fileURLToPath } from "node:url";
import { fanOut, graph, handoff } from "./fixtures/bench_tasks.ts";
import { openWorkerPool } from "../mod.ts";
import { copyMs, median, round } from "./_measure.ts";

const quick = Deno.args.includes("--quick");
const log = (line: string) => console.error(line);

async function timeRuns(times: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

// 1. The scheduler in-process: 10,000 trivial tasks.
const inN = 10_000;
const inMs = await timeRuns(quick ? 3 : 7, () => graph.run({ workers: 0, quiet: true, params: { n: inN } }));
const inprocess_us_per_task = round((inMs * 1000) / inN);
log(`in-process: ${inN} tasks in ${round(inMs)} ms = ${inprocess_us_per_task} µs/task`);

// 2. The pool: 1,000 trivial tasks. Warm: one open pool serves every run, as
// run({ pool }) keeps it; cold: each run starts its own workers and imports the
// module in them, as run() without a pool does (a fixed cost spread over the tasks).
const poolN = 1000;
const pool = openWorkerPool({ workers: 2 });
const poolMs = await timeRuns(
  quick ? 3 : 7,
  () => graph.run({ pool, quiet: true, params: { n: poolN } }),
);
await pool.close();
const pool_us_per_task = round((poolMs * 1000) / poolN);
const coldPoolMs = await timeRuns(
  quick ? 3 : 7,
  () => graph.run({ workers: 2, quiet: true, params: { n: poolN } }),
);
const pool_cold_us_per_task = round((coldPoolMs * 1000) / poolN);
log(
  `pool (2 workers): ${poolN} tasks in ${round(poolMs)} ms = ${pool_us_per_task} µs/task warm; ${
    round(coldPoolMs)
  } ms = ${pool_cold_us_per_task} µs/task with its own workers started`,
);

// 3. The floor: raw Worker ping-pong.
const worker = new Worker(new URL("./fixtures/ping_worker.ts", import.meta.url), { type: "module" });
const ping = () =>
  new Promise<void>((resolve) => (worker.onmessage = () => resolve(), worker.postMessage(0)));
for (let i = 0; i < 200; i++) await ping();
const pings = quick ? 2000 : 10_000;
const pingStart = performance.now();
for (let i = 0; i < pings; i++) await ping();
const postmessage_roundtrip_us = round(((performance.now() - pingStart) * 1000) / pings);
worker.terminate();
log(
  `postMessage round trip: ${postmessage_roundtrip_us} µs (pool/floor ${
    round(pool_us_per_task / postmessage_roundtrip_us)
  }x)`,
);

// 4. Dask's threaded scheduler on the same shape, 1,000 tasks.
let dask_threads_us_per_task: number | null = null;
for (const python of ["/usr/bin/python3", "python3"]) {
  try {
    const out = await new Deno.Command(python, {
      args: [
        fileURLToPath(new URL("./fixtures/dask_graph.py", import.meta.url)),
        String(poolN),
        quick ? "5" : "15",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code === 0) {
      dask_threads_us_per_task = round(
        Number(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)),
      );
      log(
        `Dask threads (${new TextDecoder().decode(out.stderr).trim()}): ${dask_threads_us_per_task} µs/task`,
      );
      break;
    }
  } catch {
    // no such interpreter: try the next
  }
}
if (dask_threads_us_per_task === null) log("Dask threads: not installed (apt-get install python3-dask)");

// 5. Arrow hand-off between two workers, against copying the same bytes.
const handoffMs = async (bytes: number) => {
  const samples: number[] = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    samples.push(await handoff.run({ workers: 2, quiet: true, params: { bytes } }) as number);
  }
  return median(samples);
};
const handoff_1kb_ms = round(await handoffMs(1024), 3);
const handoff_100mb_ms = round(await handoffMs(100 * 1024 * 1024), 3);
const memcpy_100mb_ms = round(copyMs(100 * 1024 * 1024, quick ? 3 : 7), 3);
log(
  `hand-off: 1 KB ${handoff_1kb_ms} ms, 100 MB ${handoff_100mb_ms} ms ` +
    `(${round(handoff_100mb_ms / handoff_1kb_ms)}x of 1 KB; ${
      round((100 * handoff_100mb_ms) / memcpy_100mb_ms)
    }% of a ${memcpy_100mb_ms} ms copy)`,
);

// 6. Two CPU-bound branches: pool against in-process.
const rounds = quick ? 30_000_000 : 80_000_000;
const serial = await timeRuns(
  quick ? 1 : 3,
  () => fanOut.run({ workers: 0, quiet: true, params: { rounds } }),
);
const parallel = await timeRuns(
  quick ? 1 : 3,
  () => fanOut.run({ workers: 2, quiet: true, params: { rounds } }),
);
const fanout_speedup = round(serial / parallel);
log(
  `fan-out of two CPU-bound branches: in-process ${round(serial)} ms, pool ${
    round(parallel)
  } ms = ${fanout_speedup}x`,
);

console.log(JSON.stringify({
  inprocess_us_per_task,
  pool_us_per_task,
  pool_cold_us_per_task,
  postmessage_roundtrip_us,
  dask_threads_us_per_task,
  handoff_1kb_ms,
  handoff_100mb_ms,
  memcpy_100mb_ms,
  fanout_speedup,
}));
