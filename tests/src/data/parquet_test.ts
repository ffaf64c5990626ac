import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import * as pw from "parquet-wasm";
import { PARQUET_COMPRESSIONS, readParquet, writeParquet } from "../../../src/data/parquet.ts";
import { GlacierError } from "../../../src/errors.ts";
import { rowsOf, sampleTable, schemaOf } from "../../support/tables.ts";

async function codecOf(bytes: Uint8Array): Promise<number> {
  const file = await pw.ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  return file.metadata().rowGroup(0).column(0).compression();
}

Deno.test("writeParquet() and readParquet() round-trip values, nulls and Arrow types", async () => {
  const table = sampleTable(50);
  const back = await readParquet(await writeParquet(table, "mem://x.parquet"), "mem://x.parquet");
  assert.deepEqual(schemaOf(back), schemaOf(table));
  assert.deepEqual(rowsOf(back), rowsOf(table));
});

Deno.test("writeParquet() compresses with zstd unless told otherwise", async () => {
  const bytes = await writeParquet(sampleTable(10), "mem://x.parquet");
  assert.equal(await codecOf(bytes), pw.Compression.ZSTD);
});

Deno.test("writeParquet() writes every selectable compression codec", async () => {
  const expected = {
    uncompressed: pw.Compression.UNCOMPRESSED,
    snappy: pw.Compression.SNAPPY,
    gzip: pw.Compression.GZIP,
    brotli: pw.Compression.BROTLI,
    lz4_raw: pw.Compression.LZ4_RAW,
    zstd: pw.Compression.ZSTD,
  };
  const table = sampleTable(100);
  for (const compression of PARQUET_COMPRESSIONS) {
    const bytes = await writeParquet(table, "mem://x.parquet", { compression });
    assert.equal(await codecOf(bytes), expected[compression], compression);
    assert.deepEqual(rowsOf(await readParquet(bytes, "mem://x.parquet")), rowsOf(table), compression);
  }
});

Deno.test("writeParquet() refuses an unknown codec with a RangeError listing the valid ones", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => writeParquet(sampleTable(1), "mem://x.parquet", { compression: "lzma" as any }),
    (error: Error) =>
      error instanceof RangeError && /"lzma"/.test(error.message) && /"zstd"/.test(error.message),
  );
});

Deno.test("writeParquet() splits rows into row groups of the given size", async () => {
  const bytes = await writeParquet(sampleTable(25), "mem://x.parquet", { rowGroupSize: 10 });
  const file = await pw.ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  assert.equal(file.metadata().numRowGroups(), 3);
  assert.equal((await readParquet(bytes, "mem://x.parquet")).numRows, 25);
});

Deno.test("readParquet() turns corrupt bytes into a GlacierError naming the URI, and keeps working after", async () => {
  const good = await writeParquet(sampleTable(200), "mem://good.parquet", { compression: "snappy" });
  const corruptions = [
    new TextEncoder().encode("this is not parquet at all"),
    good.slice(0, good.length >> 1),
    (() => {
      const bad = good.slice();
      bad.fill(0x5a, 4, bad.length - 64);
      return bad;
    })(),
    (() => {
      const bad = good.slice();
      for (let i = bad.length - 40; i < bad.length - 8; i++) bad[i] ^= 0xff;
      return bad;
    })(),
  ];
  for (const [i, bytes] of corruptions.entries()) {
    const uri = `s3://lake/bad-${i}.parquet`;
    await assert.rejects(
      () => readParquet(bytes, uri),
      (error: unknown) =>
        error instanceof GlacierError && error.code === "USER:FILE_CORRUPT" && error.message.includes(uri),
    );
  }
  assert.equal((await readParquet(good, "mem://good.parquet")).numRows, 200);
});

Deno.test("writeParquet() writes a table with columns but no rows", async () => {
  const empty = tableFromArrays({ a: new Int32Array(0) });
  const back = await readParquet(await writeParquet(empty, "mem://e.parquet"), "mem://e.parquet");
  assert.equal(back.numRows, 0);
  assert.deepEqual(back.schema.fields.map((f) => f.name), ["a"]);
});
