import assert from "node:assert/strict";
import { type Bucket, pipeline, Provider } from "../../../mod.ts";
import { analyzeStatic } from "../../../src/analyze/static.ts";
import { lineage } from "../../fixtures/analyze/lineage/pipeline.ts";

const local = new Provider().local();
const count = local.task(function count(xs: number[]): number {
  return xs.length;
});
const use = local.task(function use(n: number): number {
  return n;
});
const item = local.task(function item(x: unknown): unknown {
  return x;
});
const later = local.task(async function later(x: unknown): Promise<unknown> {
  return await Promise.resolve(x);
});

Deno.test("trace() keeps a fixed-count call after an await at one call", async () => {
  const p = pipeline({ name: "fixed" }, async () => {
    const n = await count([1, 2]);
    return use(n);
  });
  const dag = await p.trace();
  assert.deepEqual(dag.nodes.map((n) => [n.id, n.dynamic]), [["count", false], ["use", false]]);
});

Deno.test("trace() marks dynamic the calls in callbacks and loops over an awaited list, also after their awaits", async () => {
  const p = pipeline({ name: "loops" }, async () => {
    const xs = await count([1]) as unknown as number[];
    const mapped = await Promise.all(xs.map(async (x) => {
      const y = await item(x);
      return later(y);
    }));
    for (const x of xs) use(x as number);
    const after = use(mapped.length);
    for (const x of [1, 2]) item(x);
    return after;
  });
  const dag = await p.trace();
  assert.deepEqual(dag.nodes.map((n) => [n.id, n.dynamic]), [
    ["count", false],
    ["item", true],
    ["later", true],
    ["use", true],
    ["use#2", false],
    ["item#2", false],
    ["item#3", false],
  ]);
});

Deno.test("trace() and static analysis agree on dynamic flags and on lineage through .at() keys", async () => {
  const traced = await lineage.trace();
  const { dag } = await analyzeStatic(lineage);
  const flags = (d: typeof dag) => d.nodes.map((n) => [n.id, n.dynamic]);
  assert.deepEqual(flags(traced), flags(dag));
  assert.deepEqual(flags(traced), [["days", false], ["report", true], ["summarize", false], [
    "anywhere",
    false,
  ]]);
  // Keys under `.at(...)`: a literal key exactly, a computed one as its prefix.
  for (const id of ["report", "anywhere"]) {
    const t = traced.get(id)!, s = dag.get(id)!;
    assert.deepEqual([[...t.reads].sort(), [...t.writes].sort()], [
      [...s.reads].sort(),
      [...s.writes].sort(),
    ]);
  }
  assert.deepEqual([...traced.get("report")!.writes].sort(), [
    "s3://lake/reports/archive/",
    "s3://lake/reports/index.json",
  ]);
  assert.deepEqual(traced.get("report")!.reads, []);
  // A key known only at run time is granted as the bucket passed.
  assert.deepEqual(traced.get("anywhere")!.writes, ["s3://lake/reports/latest.json"]);
  // Helpers are not resolved in a trace: a bucket passed to one is read and written.
  assert.deepEqual(traced.get("summarize")!.writes.includes("s3://lake/raw/orders.csv"), true);
});

Deno.test("trace() grants a bucket given inside an array both directions, and .uri alone nothing", async () => {
  const provider = new Provider();
  const a = provider.bucket({ bucket: "lake", path: "a/" });
  const onlyUri = local.task(function onlyUri(b: Bucket): string {
    return b.uri;
  });
  const many = local.task(function many(bs: Bucket[]): number {
    return bs.length;
  });
  const p = pipeline({ name: "grants" }, () => [onlyUri(a), many([a])]);
  const dag = await p.trace();
  assert.deepEqual([dag.get("onlyUri")!.reads, dag.get("onlyUri")!.writes], [[], []]);
  assert.deepEqual([dag.get("many")!.reads, dag.get("many")!.writes], [[a.uri], [a.uri]]);
});
