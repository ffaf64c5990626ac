#!/usr/bin/env -S deno run -A
// Parquet through a Bucket vs parquet-wasm called directly, on the same
// 1M-row table and the same bytes in the same local folder: scan (read file,
// decode, Arrow IPC into an apache-arrow Table) and write (the reverse, zstd).
//
//   deno run -A bench/parquet_bench.ts [--quick]
//
// Prints a human line to stderr and, as its last stdout line, one JSON object:
// {"parquet_bucket_overhead_ratio": <Bucket time / direct time>}. The goal is <= 1.10.
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  makeVector,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import * as pw from "parquet-wasm";
import { LocalConfig, Provider } from "../mod.ts";

const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean", default: false } } });
const rows = values.quick ? 200_000 : 1_000_000;
const rounds = 10;

function makeTable(n: number): Table {
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  return new Table({
    id: makeVector(ids),
    amount: makeVector(Float64Array.from(ids, (i) => (i % 1000) * 0.25)),
    region: vectorFromArray(Array.from(ids, (i) => ["eu", "us", "apac", "latam"][i % 4]), new Utf8()),
    at: vectorFromArray(Array.from(ids, (i) => 1_700_000_000_000 + i * 1000), new TimestampMillisecond()),
  });
}

async function directWrite(path: string, table: Table): Promise<void> {
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).setMaxRowGroupSize(
    1024 * 1024,
  )
    .build();
  const bytes = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, "stream")), props);
  await Deno.writeFile(path, bytes);
}

async function directScan(path: string): Promise<Table> {
  return tableFromIPC(pw.readParquet(await Deno.readFile(path)).intoIPCStream());
}

/**
 * Median milliseconds of each function over `rounds` rounds, after a warm-up.
 * Rounds alternate the order (ABBA), so neither side always runs on the
 * warmer or the more fragmented wasm heap.
 */
async function medians(fns: (() => Promise<unknown>)[]): Promise<number[]> {
  for (const fn of fns) await fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const order = fns.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const start = performance.now();
      await fns[i]();
      times[i].push(performance.now() - start);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

const root = await Deno.makeTempDir({ prefix: "glacier-parquet-bench-" });
try {
  const table = makeTable(rows);
  const bucket = new Provider({ config: new LocalConfig({ root }) }).bucket({
    bucket: "bench",
    path: "t.parquet",
  });
  const directPath = join(root, "direct.parquet");
  await bucket.write(table); // loads parquet-wasm and creates the folder before timing
  await directWrite(directPath, table);

  const [directWriteMs, bucketWriteMs] = await medians([
    () => directWrite(directPath, table),
    () => bucket.write(table, { compression: "zstd" }),
  ]);
  const [directScanMs, bucketScanMs] = await medians([
    () => directScan(directPath),
    () => bucket.scanArrow(),
  ]);

  const check = await bucket.scanArrow();
  if (check.numRows !== rows) {
    throw new Error(`Bucket.scanArrow() read ${check.numRows} rows, expected ${rows}`);
  }

  const ratio = (bucketWriteMs + bucketScanMs) / (directWriteMs + directScanMs);
  console.error(
    `parquet ${rows.toLocaleString("en")} rows: write bucket ${bucketWriteMs.toFixed(1)} ms vs direct ${
      directWriteMs.toFixed(1)
    } ms; scan bucket ${bucketScanMs.toFixed(1)} ms vs direct ${directScanMs.toFixed(1)} ms; overhead ratio ${
      ratio.toFixed(3)
    } (goal <= 1.10)`,
  );
  console.log(JSON.stringify({ parquet_bucket_overhead_ratio: Number(ratio.toFixed(4)) }));
} finally {
  await Deno.remove(root, { recursive: true });
}
