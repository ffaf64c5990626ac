// polars as task data, against polars alone, on the same machine in one script:
//   1. the demo ETL (examples/etl.ts, a process) against the same work as one
//      plain polars script (bench/fixtures/etl_plain_polars.ts, a process),
//      on the same 1M-row orders CSV; with the demo's peak RSS;
//   2. Bucket.scan() of that CSV, collected, against pl.readCSV of the file,
//      as polars reads it by default (dates left as text) and typed as scan()
//      types it (tryParseDates);
//   3. a 100 MB DataFrame handed from one worker to another, against a copy
//      of its bytes.
// Prints a JSON line of results last (bench/run.ts collects it).
import { fileURLToPath } from "node:url";
import pl from "nodejs-polars";
import { ensureSample, raw } from "../examples/orders_sample.ts";
import { frameHandoff } from "./fixtures/polars_tasks.ts";
import { copyMs, median, round } from "./_measure.ts";

const quick = Deno.args.includes("--quick");
const log = (s: string) => console.error(`  ${s}`);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const rows = 1_000_000;

// The sample both sides read, written once (the demo's own generator).
await ensureSample(raw, rows);
const csv = `${ROOT}data/demo/raw/orders.csv`;

// 1. The demo against the plain script, each a fresh process, alternating: wall time
// here (GNU time's %e is in 10 ms steps, a tenth of what a change to startup wins),
// max RSS from GNU time.
async function timed(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ s: number; rssMb: number }> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "GLACIER_TIME %e %M", Deno.execPath(), ...args],
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const s = (performance.now() - started) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  const m = err.match(/GLACIER_TIME ([\d.]+) (\d+)/);
  if (out.code !== 0 || !m) throw new Error(`${args.join(" ")} failed:\n${err}`);
  return { s: round(s, 3), rssMb: Number(m[2]) / 1024 };
}
const out = await Deno.makeTempDir();
const demo: { s: number; rssMb: number }[] = [];
const plain: { s: number; rssMb: number }[] = [];
for (let i = 0; i < (quick ? 1 : 5); i++) {
  demo.push(await timed(["run", "-A", "examples/etl.ts"], { ORDERS: String(rows) }));
  plain.push(await timed(["run", "-A", "bench/fixtures/etl_plain_polars.ts", csv, out]));
}
await Deno.remove(out, { recursive: true });
const etl_demo_s = round(median(demo.map((r) => r.s)), 3);
const etl_plain_polars_s = round(median(plain.map((r) => r.s)), 3);
const etl_polars_ratio = round(etl_demo_s / etl_plain_polars_s);
const etl_demo_peak_rss_mb = round(Math.max(...demo.map((r) => r.rssMb)), 0);
const etl_plain_peak_rss_mb = round(Math.max(...plain.map((r) => r.rssMb)), 0);
log(
  `demo ETL ${etl_demo_s} s (peak RSS ${etl_demo_peak_rss_mb} MB) vs one plain polars script ${etl_plain_polars_s} s ` +
    `(${etl_plain_peak_rss_mb} MB): ${etl_polars_ratio}x`,
);

// 1b. The demo with durable state (journal + a checkpoint of every output) against it switched off.
const durableOn: number[] = [];
const durableOff: number[] = [];
for (let i = 0; i < (quick ? 1 : 3); i++) {
  durableOn.push((await timed(["run", "-A", "bench/fixtures/etl_durable.ts", "on"])).s);
  durableOff.push((await timed(["run", "-A", "bench/fixtures/etl_durable.ts", "off"])).s);
}
const etl_durable_s = median(durableOn);
const etl_not_durable_s = median(durableOff);
const durable_overhead_ratio = round(etl_durable_s / etl_not_durable_s);
log(
  `demo ETL durable ${etl_durable_s} s vs durable: false ${etl_not_durable_s} s: ${durable_overhead_ratio}x`,
);

// 2. Bucket.scan() against pl.readCSV, alternating, in this process.
const scans: number[] = [];
const reads: number[] = [];
const typedReads: number[] = [];
const heights = new Set<number>();
const time = async (samples: number[], read: () => Promise<number> | number) => {
  const start = performance.now();
  heights.add(await read());
  samples.push(performance.now() - start);
};
for (let i = 0; i < (quick ? 2 : 5); i++) {
  await time(scans, async () => (await raw.scan()).collectSync().height);
  await time(reads, () => pl.readCSV(csv).height);
  await time(typedReads, () => pl.readCSV(csv, { tryParseDates: true }).height);
}
if (heights.size !== 1 || !heights.has(rows)) {
  throw new Error(`the reads gave ${[...heights]} rows, not ${rows}`);
}
const scan_csv_ms = round(median(scans), 1);
const polars_read_csv_ms = round(median(reads), 1);
const polars_read_csv_typed_ms = round(median(typedReads), 1);
const scan_csv_ratio = round(scan_csv_ms / polars_read_csv_ms);
const scan_csv_typed_ratio = round(scan_csv_ms / polars_read_csv_typed_ms);
log(
  `scan() of ${rows} rows ${scan_csv_ms} ms vs pl.readCSV ${polars_read_csv_ms} ms: ${scan_csv_ratio}x; ` +
    `vs pl.readCSV with dates parsed ${polars_read_csv_typed_ms} ms: ${scan_csv_typed_ratio}x`,
);

// 3. A 100 MB DataFrame between two workers, against copying its bytes.
const handoffs: number[] = [];
for (let i = 0; i < (quick ? 3 : 7); i++) {
  handoffs.push(
    await frameHandoff.run({ workers: 2, quiet: true, params: { bytes: 100 * 1024 * 1024 } }) as number,
  );
}
const df_handoff_100mb_ms = round(median(handoffs), 1);
const df_memcpy_100mb_ms = round(copyMs(100 * 1024 * 1024, quick ? 3 : 7), 1);
const df_handoff_copy_ratio = round(df_handoff_100mb_ms / df_memcpy_100mb_ms);
log(
  `100 MB DataFrame hand-off ${df_handoff_100mb_ms} ms vs a ${df_memcpy_100mb_ms} ms copy: ${df_handoff_copy_ratio}x`,
);

console.log(JSON.stringify({
  etl_demo_s,
  etl_plain_polars_s,
  etl_polars_ratio,
  etl_demo_peak_rss_mb,
  etl_plain_peak_rss_mb,
  etl_durable_s,
  etl_not_durable_s,
  durable_overhead_ratio,
  scan_csv_ms,
  polars_read_csv_ms,
  scan_csv_ratio,
  polars_read_csv_typed_ms,
  scan_csv_typed_ratio,
  df_handoff_100mb_ms,
  df_memcpy_100mb_ms,
  df_handoff_copy_ratio,
}));
