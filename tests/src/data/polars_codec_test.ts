// polars DataFrames, Series and LazyFrames as task data: through the payload
// codec in every encoding, the worker pool, in-process, a narrowed
// subprocess and the cache encoding, with the same value on the other side.
import assert from "node:assert/strict";
import { deserialize, serialize } from "node:v8";
import pl from "nodejs-polars";
import {
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
  readRoutedFrames,
} from "../../../src/data/payload.ts";
import { polarsKind, RoutedFrame } from "../../../src/data/polars_codec.ts";
import { fromWireJson, toWireJson } from "../../../executors/_wire.ts";
import { PAYLOAD_VERSION, type TaskPayload } from "../../../executors/payload.ts";
import { runPayload } from "../../../executors/runner.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";
import { Staging } from "../../../src/run/staging.ts";
import * as fx from "../../fixtures/polars_tasks.ts";

const quiet = { quiet: true } as const;

// What a postMessage does to the encoded data: a structured clone, moving the transfer list.
function crossThread(value: unknown, transfer: ArrayBuffer[]): unknown {
  return structuredClone(value, { transfer });
}

async function roundTrip(value: unknown, encoding: "transfer" | "share" | "ipc"): Promise<unknown> {
  const encoded = encodeValue(value, encoding);
  const arrived = encoding === "ipc"
    ? deserialize(serialize(encoded.value)) // the cache and remote executors: bytes
    : crossThread(encoded.value, encoded.transfer);
  if (needsLibraries(arrived)) await loadLibraries(arrived);
  return decodeValue(arrived, CORE_STORAGE);
}

Deno.test("a DataFrame, a Series and a LazyFrame cross every encoding as the same value", async () => {
  const df = fx.orders(50).withColumns(
    pl.col("amount").cast(pl.Float32).alias("f32"),
    pl.lit("2026-12-01T10:00:00").str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S").alias("at"),
  );
  const lazy = df.lazy().filter(pl.col("amount").gt(20)).select("id", "customer");
  for (const encoding of ["transfer", "share", "ipc"] as const) {
    const back = await roundTrip({ df, series: df.getColumn("id"), lazy, n: 3 }, encoding) as {
      df: pl.DataFrame;
      series: pl.Series;
      lazy: pl.LazyDataFrame;
      n: number;
    };
    assert.equal(polarsKind(back.df), "DataFrame", encoding);
    assert.ok(back.df.frameEqual(df, true), `${encoding}: the DataFrame`);
    assert.deepEqual(back.df.schema, df.schema);
    assert.equal(polarsKind(back.series), "Series");
    assert.equal(back.series.name, "id");
    assert.equal(back.series.dtype.variant, "Int64");
    assert.equal(
      back.series.cast(pl.Utf8).get(49),
      String(9007199254740993n + 49n),
      `${encoding}: int64 past 2^53 is exact`,
    );
    assert.equal(polarsKind(back.lazy), "LazyDataFrame", `${encoding}: a LazyFrame arrives lazy`);
    assert.ok(back.lazy.collectSync().frameEqual(lazy.collectSync(), true), `${encoding}: the LazyFrame`);
    assert.equal(back.n, 3);
  }
  // The sender's frames are untouched by the transfer: polars wrote the bytes for the crossing.
  assert.equal(df.height, 50);
});

Deno.test("a LazyFrame crosses as its plan within this machine and as its result beyond it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/orders.csv`;
    await Deno.writeTextFile(path, "id,amount\n1,10\n2,20\n3,30\n");
    const lazy = pl.scanCSV(path).filter(pl.col("amount").gt(15));
    const thread = encodeValue(lazy, "share").value as { plan?: Uint8Array; ipc?: Uint8Array };
    assert.ok(thread.plan && !thread.ipc, "to a worker: the plan");
    const remote = encodeValue(lazy, "ipc").value as { plan?: Uint8Array; ipc?: Uint8Array };
    assert.ok(remote.ipc && !remote.plan, "to another machine or the cache: the collected rows");
    // The plan still reads the file when it is collected on the other side.
    await Deno.writeTextFile(path, "id,amount\n1,10\n2,20\n3,30\n4,40\n");
    const onWorker = decodeValue(thread, CORE_STORAGE) as pl.LazyDataFrame;
    assert.match(onWorker.describePlan(), /SCAN/);
    assert.deepEqual(onWorker.collectSync().getColumn("id").toArray(), [2, 3, 4]);
    const onRemote = decodeValue(remote, CORE_STORAGE) as pl.LazyDataFrame;
    assert.deepEqual(onRemote.collectSync().getColumn("id").toArray(), [2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("polars frames flow between tasks on the worker pool and in-process alike", async () => {
  const onPool = await fx.etl.run({ ...quiet, params: { rows: 200 } }) as pl.DataFrame;
  assert.equal(polarsKind(onPool), "DataFrame");
  assert.deepEqual(fx.etl.lastRun!.tasks.map((t) => t.ranOn), ["worker", "worker", "worker"]);
  const inProcess = await fx.etl.run({ ...quiet, workers: 0, params: { rows: 200 } }) as pl.DataFrame;
  assert.ok(onPool.frameEqual(inProcess, true));
  assert.deepEqual(onPool.columns, ["customer", "total", "last"]);
  assert.equal(onPool.height, 7);
  // Computed again here, by hand: the frames lost nothing on the way.
  const expected = fx.orders(200).filter(pl.col("amount").isNotNull()).groupBy("customer")
    .agg(pl.col("amount").sum().alias("total"), pl.col("id").max().alias("last")).sort("customer");
  assert.ok(onPool.frameEqual(expected, true));
});

Deno.test("where results are routed a frame stays the bytes a worker wrote, shared on unread; the pipeline's code reads its own", () => {
  const df = fx.orders(40);
  const sent = encodeValue({ df, series: df.getColumn("id") }, "transfer");
  const bytes = (sent.value as { df: { ipc: Uint8Array } }).df.ipc;
  assert.ok(bytes.buffer instanceof SharedArrayBuffer, "between threads the bytes are shared");
  assert.deepEqual(sent.transfer, []);
  const arrived = crossThread(sent.value, []) as { df: { ipc: Uint8Array } };
  const routed = decodeValue(arrived, CORE_STORAGE, { route: true }) as {
    df: RoutedFrame;
    series: RoutedFrame;
  };
  assert.ok(routed.df instanceof RoutedFrame && routed.series instanceof RoutedFrame, "not read here");
  assert.equal(routed.df.ipc, arrived.df.ipc);
  for (const encoding of ["transfer", "share"] as const) {
    const again = encodeValue({ a: routed.df, b: [routed.df] }, encoding);
    assert.equal(
      (again.value as { a: { ipc: Uint8Array } }).a.ipc,
      arrived.df.ipc,
      `${encoding}: the same bytes`,
    );
    assert.deepEqual(again.transfer, []);
  }
  const remote = encodeValue(routed.df, "ipc").value as { ipc: Uint8Array };
  assert.ok(remote.ipc.buffer instanceof ArrayBuffer);
  assert.deepEqual(remote.ipc, new Uint8Array(bytes), "beyond this process, a plain copy of the same bytes");
  const plain = { n: 1, list: [2] };
  assert.equal(readRoutedFrames(plain), plain, "a value without routed frames is handed out as it is");
  const own = readRoutedFrames({ nested: new Map([["k", routed.df]]), series: routed.series, n: 1 }) as {
    nested: Map<string, pl.DataFrame>;
    series: pl.Series;
  };
  assert.ok(own.nested.get("k")!.frameEqual(df, true));
  assert.deepEqual(own.series.toArray(), df.getColumn("id").toArray());
  assert.notEqual(
    (encodeValue(own.nested.get("k"), "share").value as { ipc: Uint8Array }).ipc,
    arrived.df.ipc,
  );
  // A task's own decode reads the frame.
  assert.equal(polarsKind((decodeValue(arrived, CORE_STORAGE) as { df: unknown }).df), "DataFrame");
});

Deno.test("a frame fanned out on the pool and changed in place by the pipeline reaches each task right", async () => {
  const result = await fx.fanOut.run({ ...quiet, workers: 2 });
  assert.deepEqual(result, {
    widths: ["id,customer,amount", "id,customer,amount", "id,customer,amount"],
    changed: "ID,CUSTOMER,AMOUNT",
    rows: 30,
  });
});

Deno.test("a task given a frame on the worker that made it gets a clone: changing it in place reaches no other task", async () => {
  const sum = fx.orders(10).getColumn("amount").sum();
  const changed = `changed_id,changed_customer,changed_amount:-10`;
  for (const workers of [1, 2]) {
    assert.deepEqual(await fx.mutatedOnItsWorker.run({ ...quiet, workers }), {
      changed,
      after: ["id,customer,amount", sum],
      again: changed,
    });
  }
});

Deno.test("objects of frames destructure into refs as other values do", async () => {
  const expected = { big: 11, small: 5, ids: 20, idType: "Int64", lastId: String(9007199254740993n + 19n) };
  assert.deepEqual(await fx.destructured.run(quiet), expected);
  assert.deepEqual(await fx.destructured.run({ ...quiet, workers: 0 }), expected);
});

Deno.test("a polars Expr is refused before dispatch, naming the task and the argument, in both modes", async () => {
  for (const workers of [undefined, 0]) {
    await assert.rejects(
      () => fx.exprArg.run({ ...quiet, ...(workers === undefined ? {} : { workers }) }),
      (e: Error) => {
        assert.match(
          e.message,
          /argument 1 of task "takesExpr" .* in pipeline "polars_expr": it is a polars Expr/,
        );
        assert.match(e.message, /build the Expr inside the task/);
        return true;
      },
      `workers: ${workers}`,
    );
  }
});

Deno.test("a remote runner takes and returns frames through the wire format, staged when over the cap", async () => {
  const root = await Deno.makeTempDir();
  try {
    const staging = { uri: "file://stage/glacier", config: { root } };
    const df = fx.orders(30_000);
    const payload: TaskPayload = {
      version: PAYLOAD_VERSION,
      pipeline: "polars_etl",
      runId: "r1",
      nodeId: "clean",
      task: "clean",
      module: new URL("../../fixtures/polars_tasks.ts", import.meta.url).href,
      attempt: 1,
      // As a Lambda event carries it: JSON, the frame's bytes in base64.
      args: fromWireJson(toWireJson(encodeValue([df], "ipc").value)),
      output: { cap: 50_000, staging },
    };
    const result = await runPayload(payload) as { $staged: { key: string; polars: string } };
    assert.equal(result.$staged.polars, "LazyFrame", "the collected LazyFrame went to staging");
    assert.match(result.$staged.key, /runs\/r1\/clean\/1\/out/);
    const resolved = await Staging.resolve(fromWireJson(toWireJson(result)), CORE_STORAGE);
    if (needsLibraries(resolved)) await loadLibraries(resolved);
    const back = decodeValue(resolved, CORE_STORAGE) as pl.LazyDataFrame;
    assert.equal(polarsKind(back), "LazyDataFrame");
    assert.ok(back.collectSync().frameEqual(fx.clean.fn(df).collectSync(), true));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a frame of many chunks crosses to a thread or a checkpoint as an IPC file, of one chunk as a stream, and both read back", () => {
  const one = pl.DataFrame({ a: [1, 2, 3], s: ["x", null, "z"] });
  const many = pl.concat([one, one.slice(1, 2), one], { rechunk: false, how: "vertical" });
  assert.ok(many.nChunks() > 1 && one.nChunks() === 1);
  const magic = (ipc: Uint8Array) => new TextDecoder().decode(ipc.subarray(0, 6));
  for (const encoding of ["share", "transfer"] as const) {
    const encoded = encodeValue({ one, many }, encoding).value as Record<string, { ipc: Uint8Array }>;
    assert.equal(magic(encoded.many.ipc), "ARROW1", `${encoding}: many chunks, a file`);
    assert.notEqual(magic(encoded.one.ipc), "ARROW1", `${encoding}: one chunk, a stream`);
    const back = decodeValue(encoded, CORE_STORAGE) as { one: pl.DataFrame; many: pl.DataFrame };
    assert.ok(back.one.frameEqual(one) && back.many.frameEqual(many));
  }
  const checkpoint = encodeValue(many, "machine").value as { ipc: Uint8Array };
  assert.equal(magic(checkpoint.ipc), "ARROW1");
  assert.ok((decodeValue(checkpoint, CORE_STORAGE) as pl.DataFrame).frameEqual(many));
  // Another machine always gets a stream.
  assert.notEqual(magic((encodeValue(many, "ipc").value as { ipc: Uint8Array }).ipc), "ARROW1");
});
