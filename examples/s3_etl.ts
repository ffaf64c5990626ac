#!/usr/bin/env -S deno run -A
// S3 ETL: read a CSV of sales from S3, split it by region, and write one
// Parquet file per region back under a prefix (`sales_by_region/region=eu/part-0.parquet`),
// then scan the whole prefix as one table to check the result.
//
// Run it against a local S3-compatible server (s3rver) in two terminals:
//
//   1. deno run -A npm:s3rver@3.7.1 -d /tmp/s3rver -a 127.0.0.1 -p 4568 --configure-bucket lake
//   2. AWS_ENDPOINT_URL_S3=http://127.0.0.1:4568 AWS_REGION=us-east-1 \
//      AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
//      deno run -A examples/s3_etl.ts
//
// or put those four variables in a `.env` file and run
// `deno run -A --env-file=.env examples/s3_etl.ts`. Against real S3, drop
// AWS_ENDPOINT_URL_S3 and use your usual credentials, and set LAKE_BUCKET to
// a bucket of yours. The first run uploads a small sample CSV when
// `raw/sales.csv` is missing.
import { Table, vectorFromArray } from "apache-arrow";
import { AwsConfig, type Bucket, pipeline, Provider } from "../mod.ts";

const provider = new Provider({
  config: new AwsConfig({ region: Deno.env.get("AWS_REGION") ?? "us-east-1" }),
});
const local = provider.local();
const bucket = Deno.env.get("LAKE_BUCKET") ?? "lake";
const raw = provider.bucket({ bucket, path: "raw/sales.csv" });
const out = provider.bucket({ bucket, path: "sales_by_region/" });

const SAMPLE = [
  "order_id,region,amount,ordered_at",
  ...Array.from({ length: 24 }, (_, i) =>
    [
      1000 + i,
      ["eu", "us", "apac"][i % 3],
      (12.5 * (i + 1)).toFixed(2),
      `2024-03-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z`,
    ].join(",")),
].join("\n") + "\n";

/** Uploads the sample CSV when the source object is missing; gives back its URI. */
const seed = local.task(async function seed(src: Bucket): Promise<string> {
  if (!(await src.exists())) await src.put(SAMPLE);
  return src.uri;
});

/** Splits the rows by region and writes one zstd Parquet file per region. */
const partition = local.task(
  async function partition(src: Bucket, dst: Bucket, _seeded: string): Promise<string[]> {
    const table = await src.scanArrow();
    const written: string[] = [];
    for (const [region, rows] of groupBy(table, "region")) {
      const part = dst.at(`${dst.path}region=${region}/part-0.parquet`);
      await part.write(take(table, rows), { compression: "zstd" });
      written.push(part.uri);
    }
    return written;
  },
);

/** Reads the whole prefix back as one table and counts its rows. */
const check = local.task(async function check(dst: Bucket, _written: string[]): Promise<number> {
  return (await dst.scanArrow()).numRows;
});

export const s3Etl = pipeline(
  { name: "s3_etl", description: "CSV on S3 to Parquet partitioned by region" },
  () => {
    const written = partition(raw, out, seed(raw));
    return { files: written, rows: check(out, written) };
  },
);

function groupBy(table: Table, column: string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  const values = table.getChild(column);
  if (!values) throw new Error(`Column "${column}" is missing: the CSV needs a "${column}" header`);
  for (let i = 0; i < table.numRows; i++) {
    const key = String(values.get(i));
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
  }
  return groups;
}

function take(table: Table, rows: number[]): Table {
  const columns = Object.fromEntries(
    table.schema.fields.map((field) => {
      const column = table.getChild(field.name)!;
      return [field.name, vectorFromArray(rows.map((i) => column.get(i)), field.type)];
    }),
  );
  return new Table(columns);
}

if (import.meta.main) console.log(await s3Etl.run());
