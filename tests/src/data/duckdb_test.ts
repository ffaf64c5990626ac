// DuckDB interop: a task queries a bucket's object with DuckDB
// (@duckdb/node-api) and hands the result on as a polars DataFrame; a
// DuckDB connection itself cannot cross and is refused with advice.
import assert from "node:assert/strict";
import * as fx from "../../fixtures/duckdb_tasks.ts";

const CSV = "customer,amount\nada,10\nbob,5\nada,30\ncy,20\nbob,1\ndee,2\n";

Deno.test("a DuckDB result reaches the next task as a polars DataFrame, on workers and in-process", async () => {
  const dataRoot = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dataRoot}/lake`);
    await Deno.writeTextFile(`${dataRoot}/lake/orders.csv`, CSV);
    // The top three by revenue: ada 40, cy 20, bob 6 of 66.
    const expected = [{ customer: "ada", share: 0.6061 }, { customer: "cy", share: 0.303 }, {
      customer: "bob",
      share: 0.0909,
    }];
    assert.deepEqual(await fx.duckPipeline.run({ quiet: true, dataRoot }), expected);
    assert.deepEqual(fx.duckPipeline.lastRun!.tasks.map((t) => t.ranOn), ["worker", "worker"]);
    assert.deepEqual(await fx.duckPipeline.run({ quiet: true, dataRoot, workers: 0 }), expected);
  } finally {
    await Deno.remove(dataRoot, { recursive: true });
  }
});

Deno.test("a task that returns a DuckDB connection is refused, saying to return its result", async () => {
  await assert.rejects(() => fx.leakPipeline.run({ quiet: true }), (e: Error) => {
    assert.match(e.message, /value returned by task "leaksConnection".*DuckDBConnection instance/);
    assert.match(e.message, /an Arrow table or a polars DataFrame: a query result, for one/);
    return true;
  });
});
