// Reading is bounded: a CSV over 512 MiB (more than one JavaScript string
// holds) and one of many columns read through scan(), which polars streams;
// scanArrow(), which reads text whole, refuses the big one with advice.
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { type GlacierError, LocalConfig, Provider } from "../../../mod.ts";
import { MAX_TEXT_BYTES } from "../../../src/data/formats.ts";

async function lake() {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/lake`);
  return { root, provider: new Provider({ config: new LocalConfig({ root }) }) };
}

Deno.test("a 600 MB CSV reads through scan(), and scanArrow() says to use scan()", async () => {
  const { root, provider } = await lake();
  try {
    // 60 000 blocks of 100 rows of about 100 bytes: 600 MB, written in blocks.
    const block = Array.from(
      { length: 100 },
      (_, i) =>
        `${i},customer ${
          String(i).padStart(6, "0")
        } with a name long enough to fill the line,${i}.25,2025-01-02`,
    ).join("\n") + "\n";
    const file = await Deno.open(`${root}/lake/big.csv`, { create: true, write: true });
    const writer = file.writable.getWriter();
    await writer.write(new TextEncoder().encode("id,name,amount,day\n"));
    const bytes = new TextEncoder().encode(block);
    const blocks = Math.ceil(600_000_000 / bytes.byteLength);
    for (let i = 0; i < blocks; i++) await writer.write(bytes);
    await writer.close();
    const size = (await Deno.stat(`${root}/lake/big.csv`)).size;
    assert.ok(size > MAX_TEXT_BYTES, `${size} bytes`);

    const big = provider.bucket({ bucket: "lake", path: "big.csv" });
    const [totals] = (await big.scan()).select(pl.len().alias("rows"), pl.col("amount").sum().alias("sum"))
      .collectSync().toRecords() as { rows: number; sum: number }[];
    assert.equal(totals.rows, blocks * 100);
    assert.equal(totals.sum, blocks * (4950 + 25));
    await assert.rejects(() => big.scanArrow(), (e: GlacierError) => {
      assert.equal(e.code, "USER:FILE_TOO_LARGE");
      assert.match(e.message, /big\.csv .* use scan\(\), which polars streams/);
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a CSV of 20 000 columns scans with every column typed", async () => {
  const { root, provider } = await lake();
  try {
    const columns = 20_000;
    const header = Array.from({ length: columns }, (_, i) => `c${i}`).join(",");
    const row = (r: number) =>
      Array.from({ length: columns }, (_, i) => i % 2 ? `${i + r}` : `0${i}`).join(",");
    await Deno.writeTextFile(`${root}/lake/wide.csv`, `${header}\n${row(0)}\n${row(1)}\n`);
    const df = (await provider.bucket({ bucket: "lake", path: "wide.csv" }).scan()).collectSync();
    assert.equal(df.width, columns);
    assert.equal(df.height, 2);
    assert.equal(df.getColumn("c1").dtype.variant, "Int32");
    assert.equal(df.getColumn("c2").dtype.variant, "String", "a leading zero keeps it text");
    assert.deepEqual(df.getColumn(`c${columns - 1}`).toArray(), [columns - 1, columns]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
