import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import { GlacierError, LocalConfig, Provider } from "../../../mod.ts";

function provider() {
  const root = Deno.makeTempDirSync();
  return { root, provider: new Provider({ config: new LocalConfig({ root }) }) };
}

Deno.test("a local bucket is a folder under the root; Arrow IPC round-trips", async () => {
  const { root, provider: p } = provider();
  const b = p.bucket({ bucket: "lake", path: "raw/x.arrow" });
  const table = tableFromArrays({
    id: Int32Array.from([1, 2, 3]),
    score: Float64Array.from([0.5, 1.5, 2.5]),
    name: ["a", "b", "c"],
  });
  await b.write(table);
  assert.ok(Deno.statSync(`${root}/lake/raw/x.arrow`).isFile);
  const back = await b.scanArrow();
  assert.equal(back.numRows, 3);
  assert.deepEqual(back.toArray().map((r) => r.toJSON()), table.toArray().map((r) => r.toJSON()));
  assert.ok(await b.exists());
  await b.delete();
  assert.equal(await b.exists(), false);
});

Deno.test("CSV round-trips with inferred types: ints, floats, booleans, dates, strings, nulls", async () => {
  const { provider: p } = provider();
  const b = p.bucket({ bucket: "lake", path: "typed.csv" });
  await b.put(
    'id,price,ok,day,at,name\n1,2.5,true,2024-01-31,2024-01-31T10:00:00Z,"Smith, Jo"\n2,,false,2024-02-01,2024-02-01T11:30:00Z,\n',
  );
  const t = await b.scanArrow();
  assert.deepEqual(t.schema.fields.map((f) => String(f.type)), [
    "Int32",
    "Float64",
    "Bool",
    "Date32<DAY>",
    "Timestamp<MILLISECOND>",
    "Utf8",
  ]);
  const rows = t.toArray().map((r) => r.toJSON());
  assert.equal(rows[0].name, "Smith, Jo");
  assert.equal(rows[1].price, null);
  assert.equal(rows[1].name, null);
  assert.equal(rows[0].ok, true);
  assert.equal(rows[0].day, Date.UTC(2024, 0, 31));
  const copy = p.bucket({ bucket: "lake", path: "copy.csv" });
  await copy.write(t);
  const text = new TextDecoder().decode(await copy.read());
  assert.equal(text.split("\n")[1], '1,2.5,true,2024-01-31,2024-01-31T10:00:00.000Z,"Smith, Jo"');
  assert.deepEqual((await copy.scanArrow()).toArray().map((r) => r.toJSON()), rows);
});

Deno.test("a ragged CSV is a GlacierError naming the file and the line", async () => {
  const { provider: p } = provider();
  const b = p.bucket({ bucket: "lake", path: "ragged.csv" });
  await b.put("a,b\n1,2\n3\n");
  await assert.rejects(
    () => b.scanArrow(),
    (e: Error) =>
      e instanceof GlacierError && e.message.includes(b.uri) && /line 3 has 1 fields/.test(e.message),
  );
});

Deno.test("a missing object is a GlacierError naming its URI", async () => {
  const { provider: p } = provider();
  const b = p.bucket({ bucket: "lake", path: "nope.csv" });
  await assert.rejects(
    () => b.scanArrow(),
    (e: Error) =>
      e instanceof GlacierError && e.code === "USER:OBJECT_NOT_FOUND" && e.message.includes(b.uri),
  );
  await assert.rejects(
    () => p.bucket({ bucket: "lake", path: "x.unknownfmt" }).scanArrow(),
    /table format.*\.unknownfmt/,
  );
});

Deno.test("writes are atomic: a failed write leaves neither a partial nor a temp file", async () => {
  const { root, provider: p } = provider();
  const b = p.bucket({ bucket: "lake", path: "out/data.arrow" });
  await b.write(tableFromArrays({ v: Int32Array.from([1]) }));
  const before = await b.read();
  // A value that cannot be encoded makes the write fail before the rename.
  await assert.rejects(() => b.write({ schema: null } as never));
  assert.deepEqual(await b.read(), before);
  const names = [...Deno.readDirSync(`${root}/lake/out`)].map((e) => e.name);
  assert.deepEqual(names, ["data.arrow"]);
});

Deno.test("list() gives the keys under a prefix, sorted, without temp files", async () => {
  const { root, provider: p } = provider();
  const dir = p.bucket({ bucket: "lake", path: "events/" });
  for (const k of ["b.csv", "a.csv", "sub/c.csv"]) await dir.at(`events/${k}`).put("x\n");
  await Deno.writeTextFile(`${root}/lake/events/d.csv.tmp-0123abcd`, "partial");
  assert.deepEqual(await dir.list(), ["events/a.csv", "events/b.csv", "events/sub/c.csv"]);
  assert.deepEqual(await p.bucket({ bucket: "lake", path: "events/a" }).list(), ["events/a.csv"]);
  await Deno.mkdir(`${root}/lake/empty`);
  assert.deepEqual(
    await p.bucket({ bucket: "lake", path: "empty/" }).list(),
    [],
    "an empty folder lists as []",
  );
  await assert.rejects(
    () => p.bucket({ bucket: "other", path: "" }).list(),
    (e: GlacierError) => e.code === "USER:FOLDER_NOT_FOUND" && e.message.includes(`${root}/other`),
  );
  await assert.rejects(
    () => p.bucket({ bucket: "lake", path: "evnts/" }).list(),
    (e: GlacierError) => e.code === "USER:FOLDER_NOT_FOUND" && e.message.includes("evnts"),
  );
});
