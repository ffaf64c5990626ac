#!/usr/bin/env -S deno run -A
/**
 * The demo ETL: orders → clean → (regional stats | customer features |
 * validation) → report → save, in polars, on the embedded local default
 * (buckets are folders under ./data). On first run it generates a realistic
 * sample of one million orders as CSV; later runs reuse it. The same work in
 * plain Apache Arrow is examples/arrow_etl.ts.
 *
 *   deno task demo            # or: ./examples/etl.ts
 *   ORDERS=200000 deno task demo   # a smaller sample (first run only)
 */
import pl from "nodejs-polars";
import { type Bucket, pipeline, Provider } from "../mod.ts";
import { ensureSample, raw } from "./orders_sample.ts";

const provider = new Provider(); // the embedded default: LocalConfig({ root: "./data" })
const local = provider.local();

const featuresOut = provider.bucket({ bucket: "demo", path: "output/customer_features.arrow" });
const statsOut = provider.bucket({ bucket: "demo", path: "output/region_stats.csv" });
const reportOut = provider.bucket({ bucket: "demo", path: "output/report.json" });

/** Reads the raw orders: a LazyFrame, so later steps read only the columns and rows they use. */
export const extract = local.task(function extract(src: Bucket, _ready: number): Promise<pl.LazyDataFrame> {
  return src.scan();
});

/** Drops cancelled and broken orders and computes each order's revenue. */
export const clean = local.task(function clean(orders: pl.LazyDataFrame): pl.DataFrame {
  return orders
    .filter(
      pl.col("status").neq(pl.lit("cancelled"))
        .and(pl.col("quantity").gt(0))
        .and(pl.col("customer_id").isNotNull()),
    )
    .select(
      pl.col("customer_id").cast(pl.Int32),
      pl.col("region"),
      pl.col("quantity").cast(pl.Int32),
      pl.col("quantity").mul(pl.col("unit_price")).mul(pl.lit(1).sub(pl.col("discount").fillNull(0)))
        .round(2).alias("revenue"),
      pl.col("order_date").cast(pl.Int32).alias("order_day"), // days since 1970-01-01
      pl.col("status").eq(pl.lit("returned")).alias("returned"),
    )
    .collectSync();
});

/** Revenue, orders and return rate per region. */
export const regionStats = local.task(function regionStats(orders: pl.DataFrame): pl.DataFrame {
  return orders.groupBy("region").agg(
    pl.len().cast(pl.Int32).alias("orders"),
    pl.col("revenue").sum().round(2),
    pl.col("returned").mean().round(4).alias("return_rate"),
  ).sort("region");
});

/** Per-customer features: order count, revenue, average order value, days active. */
export const customerFeatures = local.task(function customerFeatures(orders: pl.DataFrame): pl.DataFrame {
  return orders.groupBy("customer_id").agg(
    pl.len().cast(pl.Int32).alias("orders"),
    pl.col("revenue").sum().round(2),
    pl.col("revenue").mean().round(2).alias("avg_order_value"),
    pl.col("order_day").max().sub(pl.col("order_day").min()).add(1).alias("days_active"),
  ).sort("customer_id");
});

/** Data checks on the cleaned orders and on the raw input they came from. */
export const validate = local.task(function validate(cleaned: pl.DataFrame, rawOrders: pl.LazyDataFrame) {
  const negative = cleaned.filter(pl.col("revenue").lt(0)).height;
  const [counts] = rawOrders.select(pl.len().alias("rows"), pl.col("order_id").nUnique().alias("ids"))
    .collectSync().toRecords() as { rows: number; ids: number }[];
  const checks = [
    { check: "no negative revenue", passed: negative === 0, detail: `${negative} rows` },
    {
      check: "rows kept ≥ 80% of raw",
      passed: cleaned.height >= 0.8 * counts.rows,
      detail: `${cleaned.height} of ${counts.rows}`,
    },
    { check: "order ids unique", passed: counts.ids === counts.rows, detail: "" },
  ];
  return { passed: checks.every((c) => c.passed), checks };
});

/** The run's summary: top regions, customer count, validation. */
export const report = local.task(function report(
  stats: pl.DataFrame,
  features: pl.DataFrame,
  validation: { passed: boolean; checks: { check: string; passed: boolean; detail: string }[] },
) {
  const regions = stats.sort("revenue", true).toRecords() as {
    region: string;
    orders: number;
    revenue: number;
    return_rate: number;
  }[];
  return {
    generatedAt: new Date().toISOString(),
    customers: features.height,
    revenue: Math.round(regions.reduce((a, r) => a + r.revenue, 0) * 100) / 100,
    topRegion: regions[0]?.region,
    regions,
    validation,
  };
});

/** Writes the features, stats and report. */
export const save = local.task(async function save(
  features: pl.DataFrame,
  stats: pl.DataFrame,
  summary: unknown,
  featuresDst: Bucket,
  statsDst: Bucket,
  reportDst: Bucket,
): Promise<string[]> {
  await featuresDst.write(features);
  await statsDst.write(stats);
  await reportDst.put(JSON.stringify(summary, null, 2));
  return [featuresDst.uri, statsDst.uri, reportDst.uri];
});

export const etl = pipeline({ name: "etl", description: "Orders to customer features and regional stats" }, (
  params: { rows?: number },
) => {
  const ready = ensureSample(raw, params.rows ?? 1_000_000);
  const orders = extract(raw, ready);
  const cleaned = clean(orders);
  const stats = regionStats(cleaned);
  const features = customerFeatures(cleaned);
  const validation = validate(cleaned, orders);
  const summary = report(stats, features, validation);
  const written = save(features, stats, summary, featuresOut, statsOut, reportOut);
  return { summary, written };
});

if (import.meta.main) {
  const rows = Number(Deno.env.get("ORDERS") ?? 1_000_000);
  const { summary, written } = await etl.run({ params: { rows } });
  // Thousands separators by hand: toLocaleString() loads ICU, 25-90 ms of a 1 s demo.
  const revenue = String(summary.revenue).replace(/^\d+/, (whole) => whole.replace(/\B(?=(\d{3})+$)/g, ","));
  console.log(
    `\n${summary.customers} customers, revenue ${revenue}, top region ${summary.topRegion}; ` +
      `validation ${summary.validation.passed ? "passed" : "FAILED"}`,
  );
  for (const uri of written) console.log(`  wrote ${uri}`);
  const tasks = etl.lastRun!.tasks;
  console.log(
    `  ran ${tasks.length} tasks: ${
      tasks.map((t) => `${t.id} on ${t.ranOn} (${t.durationMs} ms)`).join(", ")
    }`,
  );
}
