// Decimals keep their scale in CSV and JSON, and read back exactly with a Decimal schema.
import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import pl from "nodejs-polars";
import { LocalConfig, Provider } from "../../../mod.ts";
import { decimalText } from "../../../src/data/_decimal.ts";
import { formatCsv } from "../../../src/data/csv.ts";
import { formatJson } from "../../../src/data/json.ts";

// An Arrow Decimal128(10, 3) column, as polars writes one.
const prices = ["12.345", "-0.500", "0.007", null, "-123.000"];
const table = tableFromIPC(
  pl.DataFrame({ price: prices }).withColumns(pl.col("price").cast(pl.Decimal(10, 3))).writeIPCStream(),
);

Deno.test("decimalText() places the point by the scale, signs and zeros included", () => {
  assert.equal(decimalText(1250n, 2), "12.50");
  assert.equal(decimalText(-5n, 3), "-0.005");
  assert.equal(decimalText(0n, 2), "0.00");
  assert.equal(decimalText(42n, 0), "42");
  assert.equal(decimalText(42n, -2), "4200");
  assert.equal(
    decimalText("-170141183460469231731687303715884105728", 38),
    "-1.70141183460469231731687303715884105728",
  );
});

Deno.test("a Decimal column is written to CSV and JSON with its scale, not unscaled", () => {
  assert.equal(formatCsv(table), "price\n12.345\n-0.500\n0.007\n\n-123.000\n");
  assert.deepEqual(JSON.parse(formatJson(table)).map((r: { price: unknown }) => r.price), prices);
});

Deno.test("a CSV of decimals reads back exactly with a Decimal schema, through Arrow and polars writers alike", async () => {
  const root = await Deno.makeTempDir();
  try {
    const lake = new Provider({ config: new LocalConfig({ root }) });
    for (
      const [path, data] of [["arrow.csv", table], [
        "polars.csv",
        pl.readIPCStream(
          pl.DataFrame({ price: prices }).withColumns(pl.col("price").cast(pl.Decimal(10, 3)))
            .writeIPCStream(),
        ),
      ]] as const
    ) {
      const bucket = lake.bucket({ bucket: "lake", path });
      await bucket.write(data as never);
      const back = (await bucket.scan({ schema: { price: pl.Decimal(10, 3) } })).collectSync();
      assert.equal(back.getColumn("price").dtype.variant, "Decimal", path);
      assert.deepEqual(back.getColumn("price").cast(pl.Utf8).toArray(), prices, path);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
