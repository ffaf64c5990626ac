#!/usr/bin/env -S deno run -A
// `deno task bench [--quick]`: runs every bench script in its own process,
// one after another (they measure ratios against baselines in the same
// script, so they must not compete for the two cores), prints the table and
// writes bench/results.json.
import { fileURLToPath } from "node:url";

const quick = Deno.args.includes("--quick");
const scripts = [
  "local_bench.ts",
  "analyze_bench.ts",
  "parquet_bench.ts",
  "lambda_bench.ts",
  "functions_bench.ts",
  "cold_start_bench.ts",
  "polars_bench.ts",
].filter((name) => {
  try {
    Deno.statSync(new URL(name, import.meta.url));
    return true;
  } catch {
    return false;
  }
});

/** The goal of each result, as a check and its wording. */
const GOALS: Record<string, [(v: number, r: Record<string, number | null>) => boolean, string]> = {
  inprocess_us_per_task: [(v) => v <= 10, "≤ 10 µs/task"],
  pool_us_per_task: [
    (v, r) => v <= 2 * (r.postmessage_roundtrip_us ?? Infinity),
    "≤ 2× the postMessage floor",
  ],
  dask_threads_us_per_task: [
    (v, r) => (r.inprocess_us_per_task ?? Infinity) * 10 <= v,
    "in-process ≥ 10× ahead",
  ],
  handoff_100mb_ms: [
    (v, r) => v <= 3 * (r.handoff_1kb_ms ?? 0) && v <= 0.05 * (r.memcpy_100mb_ms ?? 0),
    "≤ 3× the 1 KB hand-off and ≤ 5% of a copy",
  ],
  fanout_speedup: [(v) => v >= 1.8, "≥ 1.8 on 2 cores"],
  analyze_200_ms: [(v) => v <= 50, "≤ 50 ms"],
  parquet_bucket_overhead_ratio: [(v) => v <= 1.1, "≤ 1.10"],
  lambda_overhead_ratio: [(v) => v <= 1.5, "≤ 1.5"],
  cloud_function_overhead_ratio: [(v) => v <= 1.5, "≤ 1.5"],
  azure_function_overhead_ratio: [(v) => v <= 1.5, "≤ 1.5"],
  cold_start_ratio: [(v) => v <= 1.5, "≤ 1.5× the apache-arrow script"],
  cold_start_inprocess_ratio: [(v) => v <= 1.5, "≤ 1.5× the apache-arrow script"],
  etl_polars_ratio: [(v) => v <= 1.5, "≤ 1.5× one plain polars script"],
  scan_csv_ratio: [(v) => v <= 1.2, "≤ 1.2× pl.readCSV"],
  durable_overhead_ratio: [(v) => v <= 1.1, "≤ 1.10× durable: false"],
  df_handoff_copy_ratio: [(v) => v <= 0.05, "≤ 5% of a copy"],
};

const results: Record<string, number | null> = {};
for (const script of scripts) {
  console.error(`\n— ${script}`);
  const out = await new Deno.Command(Deno.execPath(), {
    // The tests' config: the Lambda bench meets s3rver and the emulators, which are test peers.
    args: [
      "run",
      "-A",
      "--config",
      fileURLToPath(new URL("../tests/deno.test.json", import.meta.url)),
      fileURLToPath(new URL(script, import.meta.url)),
      ...(quick ? ["--quick"] : []),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (out.code !== 0 || !last.startsWith("{")) {
    console.error(`  ${script} failed (exit ${out.code}); its keys are missing from the results`);
    continue;
  }
  Object.assign(results, JSON.parse(last));
}

console.log("\n| result | value | goal | met |\n| --- | --- | --- | --- |");
for (const [key, value] of Object.entries(results)) {
  const goal = GOALS[key];
  const met = value === null || !goal ? "" : goal[0](value, results) ? "yes" : "no";
  console.log(`| ${key} | ${value ?? "n/a"} | ${goal?.[1] ?? ""} | ${met} |`);
}
const file = fileURLToPath(new URL("./results.json", import.meta.url));
const temp = `${file}.tmp`;
await Deno.writeTextFile(
  temp,
  JSON.stringify(
    {
      measuredAt: new Date().toISOString(),
      quick,
      machine: `${navigator.hardwareConcurrency} cores`,
      ...results,
    },
    null,
    2,
  ) + "\n",
);
await Deno.rename(temp, file);
console.log(`\nwrote ${file}`);
