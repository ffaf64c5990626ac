// apache-arrow loads only for values with tables. This module must not
// import apache-arrow statically: the first tests need it unloaded (each test
// module runs in its own isolate), so tables are made after ensureArrow().
import assert from "node:assert/strict";
import type * as Arrow from "apache-arrow";
import { decodeValue, encodeValue, ensureArrow, isTable, needsLibraries } from "../../../src/data/payload.ts";
import { GlacierError } from "../../../src/errors.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";

Deno.test("needsLibraries() is false for values without tables, true for encoded table data", () => {
  assert.equal(
    needsLibraries([1, "two", { three: new Uint8Array(3), four: new Map([[5, new Set([6])]]) }]),
    false,
  );
  assert.equal(needsLibraries({ deep: [{ $arrow: new Uint8Array(4) }] }), true);
  assert.equal(needsLibraries(new Map([["t", { $table: { schema: new Uint8Array(), batches: [] } }]])), true);
});

Deno.test("encodeValue() and decodeValue() without tables need no apache-arrow", () => {
  const value = { n: 1, bytes: new Uint8Array([1, 2]), list: [new Date(0)] };
  const encoded = encodeValue(value, "transfer");
  assert.deepEqual(decodeValue(encoded.value, CORE_STORAGE), value);
});

Deno.test("a user's table before ensureArrow(): needsLibraries() is true and encodeValue() fails naming what to do", async () => {
  // The user's module loaded apache-arrow itself; the codec has not.
  const arrow: typeof Arrow = await import("apache-arrow");
  const table = arrow.tableFromArrays({ a: [1, 2] });
  assert.ok(isTable(table), "told by its class tag and shape");
  assert.equal(needsLibraries([table]), true);
  assert.throws(
    () => encodeValue([table], "share"),
    (error: unknown) =>
      error instanceof GlacierError && error.code === "SYSTEM:ARROW_NOT_LOADED" &&
      error.message.includes("await loadLibraries(value)"),
  );
});

Deno.test("decodeValue() of table data before ensureArrow() fails naming what to do", () => {
  assert.throws(
    () => decodeValue([{ $arrow: new Uint8Array(8) }], CORE_STORAGE),
    (error: unknown) =>
      error instanceof GlacierError && error.code === "SYSTEM:ARROW_NOT_LOADED" &&
      error.message.includes("await loadLibraries(value)"),
  );
});

Deno.test("after ensureArrow() tables round-trip in every encoding and needsLibraries() is false", async () => {
  await ensureArrow();
  const arrow: typeof Arrow = await import("apache-arrow");
  const table = arrow.tableFromArrays({ a: Int32Array.from([1, 2, 3]), s: ["x", "y", "z"] });
  assert.ok(isTable(table));
  assert.equal(needsLibraries({ table }), false);
  for (const encoding of ["ipc", "share", "transfer"] as const) {
    const copy = encoding === "transfer" ? arrow.tableFromIPC(arrow.tableToIPC(table)) : table;
    const back = decodeValue(encodeValue({ t: copy }, encoding).value, CORE_STORAGE) as { t: Arrow.Table };
    assert.ok(isTable(back.t), encoding);
    assert.deepEqual([...back.t.getChild("a")!.toArray()], [1, 2, 3], encoding);
    assert.deepEqual(back.t.getChild("s")!.toArray(), ["x", "y", "z"], encoding);
  }
});

Deno.test("isTable() tells a table by its class tag and shape, not by a look-alike object", async () => {
  const arrow: typeof Arrow = await import("apache-arrow");
  assert.ok(isTable(new arrow.Table()));
  assert.ok(!isTable({ batches: [], schema: {} }));
  assert.ok(!isTable(null));
});

Deno.test("Utf8View and BinaryView columns keep their data buffers in every encoding", async () => {
  await ensureArrow();
  const arrow = await import("apache-arrow");
  const strings = ["short", "a string longer than twelve bytes, so it lives in a data buffer", null];
  // A fresh table per encoding: `transfer` lends the sender's buffers away.
  const make = () =>
    new arrow.Table({
      s: arrow.vectorFromArray(strings, new arrow.Utf8View()),
      b: arrow.vectorFromArray(
        strings.map((x) => x === null ? null : new TextEncoder().encode(x)),
        new arrow.BinaryView(),
      ),
    });
  for (const encoding of ["transfer", "share", "ipc"] as const) {
    const encoded = encodeValue(make(), encoding);
    const back = decodeValue(
      structuredClone(encoded.value, { transfer: encoded.transfer }),
      CORE_STORAGE,
    ) as Arrow.Table;
    assert.deepEqual(back.getChild("s")!.toArray(), strings, encoding);
    const bytes = back.getChild("b")!.toArray().map((x: Uint8Array | null) =>
      x && new TextDecoder().decode(x)
    );
    assert.deepEqual(bytes, strings, encoding);
    assert.equal(String(back.schema.fields[0].type), "Utf8View", encoding);
  }
});
