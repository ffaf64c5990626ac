#!/usr/bin/env -S deno run -A
/**
 * The demo ETL (examples/etl.ts) in plain Apache Arrow JS instead of polars:
 * the same sample, the same steps and the same outputs (under
 * data/demo/arrow_output/), with column loops where polars has expressions.
 * For code that wants Arrow tables: `Bucket.scanArrow()` reads them, and
 * tables cross workers as their own buffers, without a copy. Counts agree
 * with the polars demo; revenue differs in the cents, as each order's revenue
 * is rounded by `Math.round` here and by polars' `round(2)` there.
 *
 *   deno run -A examples/arrow_etl.ts
 */
import { type Table, tableFromArrays } from "apache-arrow";
import { type Bucket, pipeline, Provider } from "../mod.ts";
import { ensureSample, raw } from "./orders_sample.ts";

const provider = new Provider(); // the embedded default: LocalConfig({ root: "./data" })
const local = provider.local();

const featuresOut = provider.bucket({ bucket: "demo", path: "arrow_output/customer_features.arrow" });
const statsOut = provider.bucket({ bucket: "demo", path: "arrow_output/region_stats.csv" });
const reportOut = provider.bucket({ bucket: "demo", path: "arrow_output/report.json" });

/** Reads the raw orders. */
export const extract = local.task(function extract(src: Bucket, _ready: number): Promise<Table> {
  return src.scanArrow();
});

/** Drops cancelled and broken orders and computes each order's revenue. */
export const clean = local.task(function clean(orders: Table): Table {
  const n = orders.numRows;
  const customer = orders.getChild("customer_id")!;
  const quantity = orders.getChild("quantity")!;
  const price = orders.getChild("unit_price")!;
  const discount = orders.getChild("discount")!;
  const status = orders.getChild("status")!;
  const region = orders.getChild("region")!;
  const date = orders.getChild("order_date")!;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    if (status.get(i) !== "cancelled" && quantity.get(i) > 0 && customer.get(i) !== null) keep.push(i);
  }
  const out = {
    customer_id: new Int32Array(keep.length),
    region: new Array<string>(keep.length),
    quantity: new Int32Array(keep.length),
    revenue: new Float64Array(keep.length),
    order_day: new Int32Array(keep.length),
    returned: new Array<boolean>(keep.length),
  };
  for (let j = 0; j < keep.length; j++) {
    const i = keep[j];
    out.customer_id[j] = customer.get(i);
    out.region[j] = region.get(i);
    out.quantity[j] = quantity.get(i);
    out.revenue[j] = Math.round(quantity.get(i) * price.get(i) * (1 - (discount.get(i) ?? 0)) * 100) / 100;
    out.order_day[j] = Math.floor(Number(date.get(i)) / 86_400_000);
    out.returned[j] = status.get(i) === "returned";
  }
  return tableFromArrays(out);
});

/** Revenue, orders and return rate per region. */
export const regionStats = local.task(function regionStats(orders: Table): Table {
  const acc = new Map<string, { orders: number; revenue: number; returned: number }>();
  const region = orders.getChild("region")!,
    revenue = orders.getChild("revenue")!,
    returned = orders.getChild("returned")!;
  for (let i = 0; i < orders.numRows; i++) {
    const key = region.get(i) as string;
    const entry = acc.get(key) ?? { orders: 0, revenue: 0, returned: 0 };
    entry.orders++;
    entry.revenue += revenue.get(i);
    entry.returned += returned.get(i) ? 1 : 0;
    acc.set(key, entry);
  }
  const keys = [...acc.keys()].sort();
  return tableFromArrays({
    region: keys,
    orders: Int32Array.from(keys, (k) => acc.get(k)!.orders),
    revenue: Float64Array.from(keys, (k) => Math.round(acc.get(k)!.revenue * 100) / 100),
    return_rate: Float64Array.from(
      keys,
      (k) => Math.round((acc.get(k)!.returned / acc.get(k)!.orders) * 10_000) / 10_000,
    ),
  });
});

/** Per-customer features: order count, revenue, average order value, days active. */
export const customerFeatures = local.task(function customerFeatures(orders: Table): Table {
  const customer = orders.getChild("customer_id")!.toArray() as Int32Array;
  const revenue = orders.getChild("revenue")!.toArray() as Float64Array;
  const day = orders.getChild("order_day")!.toArray() as Int32Array;
  let max = 0;
  for (const c of customer) if (c > max) max = c;
  const count = new Int32Array(max + 1), total = new Float64Array(max + 1);
  const first = new Int32Array(max + 1).fill(2 ** 31 - 1), last = new Int32Array(max + 1);
  for (let i = 0; i < customer.length; i++) {
    const c = customer[i];
    count[c]++;
    total[c] += revenue[i];
    if (day[i] < first[c]) first[c] = day[i];
    if (day[i] > last[c]) last[c] = day[i];
  }
  const ids: number[] = [];
  for (let c = 0; c <= max; c++) if (count[c] > 0) ids.push(c);
  return tableFromArrays({
    customer_id: Int32Array.from(ids),
    orders: Int32Array.from(ids, (c) => count[c]),
    revenue: Float64Array.from(ids, (c) => Math.round(total[c] * 100) / 100),
    avg_order_value: Float64Array.from(ids, (c) => Math.round((total[c] / count[c]) * 100) / 100),
    days_active: Int32Array.from(ids, (c) => last[c] - first[c] + 1),
  });
});

/** Data checks on the cleaned orders and on the raw input they came from. */
export const validate = local.task(function validate(cleaned: Table, rawOrders: Table) {
  const revenue = cleaned.getChild("revenue")!.toArray() as Float64Array;
  let negative = 0;
  for (const r of revenue) if (r < 0) negative++;
  const checks = [
    { check: "no negative revenue", passed: negative === 0, detail: `${negative} rows` },
    {
      check: "rows kept ≥ 80% of raw",
      passed: cleaned.numRows >= 0.8 * rawOrders.numRows,
      detail: `${cleaned.numRows} of ${rawOrders.numRows}`,
    },
    {
      check: "order ids unique",
      passed: new Set(rawOrders.getChild("order_id")!.toArray()).size === rawOrders.numRows,
      detail: "",
    },
  ];
  return { passed: checks.every((c) => c.passed), checks };
});

/** The run's summary: top regions, customer count, validation. */
export const report = local.task(function report(
  stats: Table,
  features: Table,
  validation: { passed: boolean; checks: { check: string; passed: boolean; detail: string }[] },
) {
  const regions = stats.toArray().map((r) => r.toJSON()).sort((a, b) => b.revenue - a.revenue);
  return {
    generatedAt: new Date().toISOString(),
    customers: features.numRows,
    revenue: Math.round(regions.reduce((a, r) => a + r.revenue, 0) * 100) / 100,
    topRegion: regions[0]?.region,
    regions,
    validation,
  };
});

/** Writes the features, stats and report. */
export const save = local.task(async function save(
  features: Table,
  stats: Table,
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

export const arrowEtl = pipeline({ name: "arrow_etl", description: "The demo ETL in plain Apache Arrow" }, (
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
  const { summary, written } = await arrowEtl.run({ params: { rows } });
  console.log(
    `\n${summary.customers} customers, revenue ${
      summary.revenue.toLocaleString("en")
    }, top region ${summary.topRegion}; ` +
      `validation ${summary.validation.passed ? "passed" : "FAILED"}`,
  );
  for (const uri of written) console.log(`  wrote ${uri}`);
}
