/**
 * The demo's sample: one million orders as CSV in the demo bucket, the same
 * on every machine, written by the first run. Shared by the polars demo
 * (etl.ts), its Arrow twin (arrow_etl.ts) and the polars bench.
 *
 * @module
 */
import { type Bucket, Provider } from "../mod.ts";

const provider = new Provider(); // the embedded default: LocalConfig({ root: "./data" })
const local = provider.local();

/** The raw orders: data/demo/raw/orders.csv. */
export const raw: Bucket = provider.bucket({ bucket: "demo", path: "raw/orders.csv" });

const REGIONS = ["north", "south", "east", "west", "central"];
const PRODUCTS = ["widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "grommet", "bracket"];
const STATUSES = [
  "completed",
  "completed",
  "completed",
  "completed",
  "completed",
  "completed",
  "pending",
  "returned",
  "cancelled",
];

/** Writes a sample of orders as CSV unless one is there; returns the row count. */
export const ensureSample = local.task(
  async function ensureSample(dst: Bucket, rows: number): Promise<number> {
    if (await dst.exists()) return -1;
    let seed = 42; // mulberry32: the same sample on every machine
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const lines = ["order_id,customer_id,region,product,quantity,unit_price,discount,order_date,status"];
    const start = Date.UTC(2025, 0, 1);
    for (let i = 1; i <= rows; i++) {
      const product = Math.floor(random() * PRODUCTS.length);
      const price = (5 + product * 7.5 + random() * 3).toFixed(2);
      const discount = random() < 0.7 ? "" : (random() * 0.3).toFixed(2);
      // A few defects for validation to find: zero quantities and missing customers.
      const quantity = random() < 0.002 ? 0 : 1 + Math.floor(random() * 9);
      const customer = random() < 0.001 ? "" : String(1 + Math.floor(random() * 50_000));
      const date = new Date(start + Math.floor(random() * 365) * 86_400_000).toISOString().slice(0, 10);
      lines.push(
        `${i},${customer},${REGIONS[Math.floor(random() * REGIONS.length)]},${
          PRODUCTS[product]
        },${quantity},${price},${discount},${date},${STATUSES[Math.floor(random() * STATUSES.length)]}`,
      );
    }
    await dst.put(lines.join("\n") + "\n");
    return rows;
  },
);
