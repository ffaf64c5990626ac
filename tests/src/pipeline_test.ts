import assert from "node:assert/strict";
import { GlacierError, LocalConfig, pipeline, Provider, RUN_MODES, TaskError } from "../../mod.ts";
import type { Bucket } from "../../mod.ts";

const provider = new Provider({ config: new LocalConfig({ root: Deno.makeTempDirSync() }) });
const local = provider.local();

const numbers = local.task(function numbers(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
});
const sum = local.task(function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
});
const add = local.task(function add(a: number, b: number): number {
  return a + b;
});
const boom = local.task(function boom(_x: unknown): number {
  throw new Error("kaput");
});
const pair = local.task(function pair(x: number): { lo: number; hi: number } {
  return { lo: x - 1, hi: x + 1 };
});

Deno.test("run() resolves to the return value with every ref replaced, nested in arrays and objects", async () => {
  const p = pipeline({ name: "nested" }, () => {
    const xs = numbers(4);
    return { total: sum(xs), parts: [add(1, 2), { deep: add(sum(xs), 100) }], plain: "x" };
  });
  assert.deepEqual(await p.run({ workers: 0, quiet: true }), {
    total: 10,
    parts: [3, { deep: 110 }],
    plain: "x",
  });
});

Deno.test("refs inside arrays and objects passed to a task become edges", async () => {
  const gather = local.task(function gather(input: { items: number[]; extra: number }): number {
    return input.items.reduce((a, b) => a + b, 0) + input.extra;
  });
  const p = pipeline(
    { name: "containers" },
    () => gather({ items: [add(1, 1), add(2, 2)], extra: sum(numbers(3)) }),
  );
  assert.equal(await p.run({ workers: 0, quiet: true }), 12);
  const dag = p.lastRun!.dag;
  assert.deepEqual(dag.get("gather")!.inputs.map((n) => n.id), ["add", "add#2", "sum"]);
});

Deno.test("a failing task gives a TaskError, siblings finish and dependents are skipped", async () => {
  const finished: string[] = [];
  const slowSibling = local.task(async function slowSibling(): Promise<string> {
    await new Promise((r) => setTimeout(r, 30));
    finished.push("slowSibling");
    return "done";
  });
  const p = pipeline({ name: "partial" }, () => {
    const bad = boom(1);
    const after = add(bad, 1);
    return { bad, after: add(after, 1), ok: slowSibling() };
  });
  await assert.rejects(() => p.run({ workers: 0, quiet: true }), (e: Error) => {
    assert.ok(e instanceof TaskError);
    assert.equal(e.pipeline, "partial");
    assert.equal(e.task, "boom");
    assert.equal(e.nodeId, "boom");
    assert.equal(e.attempt, 1);
    assert.equal((e.cause as Error).message, "kaput");
    assert.match(e.message, /Task "boom" of pipeline "partial" failed on attempt 1: kaput/);
    return true;
  });
  assert.deepEqual(finished, ["slowSibling"]);
  const byId = Object.fromEntries(p.lastRun!.tasks.map((t) => [t.id, t]));
  assert.equal(byId.boom.status, "failed");
  assert.equal(byId.add.status, "skipped");
  assert.equal(byId["add#2"].status, "skipped");
  assert.equal(byId["add#2"].skippedBecause, "boom");
  assert.equal(byId.slowSibling.status, "done");
  assert.equal(p.lastRun!.status, "failed");
});

Deno.test("every run writes its report to .glacier/runs/<runId>.json atomically", async () => {
  const p = pipeline({ name: "reported" }, () => sum(numbers(3)));
  await p.run({ workers: 0, quiet: true });
  const report = p.lastRun!;
  const saved = JSON.parse(await Deno.readTextFile(`.glacier/runs/${report.runId}.json`));
  assert.equal(saved.pipeline, "reported");
  assert.equal(saved.status, "succeeded");
  assert.deepEqual(
    saved.tasks.map((
      t: { id: string; status: string; executor: string; ranOn: string },
    ) => [t.id, t.status, t.executor, t.ranOn]),
    [
      ["numbers", "done", "local", "in-process"],
      ["sum", "done", "local", "in-process"],
    ],
  );
  assert.deepEqual(saved.dag.edges, [{ from: "numbers", to: "sum" }]);
  const leftovers = [...Deno.readDirSync(".glacier/runs")].filter((e) => e.name.includes(".tmp-"));
  assert.equal(leftovers.length, 0);
});

Deno.test("await inside a pipeline runs what the value needs first (dynamic fan-out)", async () => {
  const order: string[] = [];
  const list = local.task(function list(n: number): number[] {
    order.push("list");
    return Array.from({ length: n }, (_, i) => i);
  });
  const square = local.task(function square(x: number): number {
    order.push(`square ${x}`);
    return x * x;
  });
  const p = pipeline({ name: "dynamic" }, async (params: { n: number }) => {
    const items = await list(params.n);
    assert.deepEqual(items, [0, 1, 2, 3]); // the real value, not a placeholder
    return sum(items.map((x) => square(x)));
  });
  assert.equal(await p.run({ workers: 0, quiet: true, params: { n: 4 } }), 14);
  assert.equal(order[0], "list");
  assert.deepEqual(p.lastRun!.tasks.map((t) => t.id), [
    "list",
    "square",
    "square#2",
    "square#3",
    "square#4",
    "sum",
  ]);
});

Deno.test("independent branches interleave: a node starts as soon as its own inputs are ready", async () => {
  const events: string[] = [];
  const wait = local.task(async function wait(label: string, ms: number): Promise<string> {
    events.push(`start ${label}`);
    await new Promise((r) => setTimeout(r, ms));
    events.push(`end ${label}`);
    return label;
  });
  const tag = local.task(function tag(label: string): string {
    events.push(`tag ${label}`);
    return label;
  });
  const p = pipeline({ name: "eager" }, () => [tag(wait("fast", 1)), tag(wait("slow", 40))]);
  await p.run({ workers: 0, quiet: true });
  // The fast branch's second step runs while the slow branch is still waiting.
  assert.ok(events.indexOf("tag fast") < events.indexOf("end slow"), events.join(", "));
});

Deno.test("multi-output: tuple and object destructuring of refs", async () => {
  const split = local.task(function split(xs: number[]): [number[], number[]] {
    return [xs.slice(0, 2), xs.slice(2)];
  });
  const p = pipeline({ name: "multi" }, () => {
    const [a, b] = split(numbers(5));
    const { lo, hi } = pair(sum(b));
    return { a: sum(a), lo, hi };
  });
  assert.deepEqual(await p.run({ workers: 0, quiet: true }), { a: 3, lo: 11, hi: 13 });
  assert.deepEqual(p.lastRun!.dag.get("sum#2")!.inputs.map((n) => n.id), ["split"]);
});

Deno.test("conditional on params takes the branch the params choose", async () => {
  const p = pipeline(
    { name: "branchy" },
    (params: { big?: boolean }) => (params.big ? add(100, 1) : add(1, 1)),
  );
  assert.equal(await p.run({ workers: 0, quiet: true }), 2);
  assert.equal(await p.run({ workers: 0, quiet: true, params: { big: true } }), 101);
});

Deno.test("an unknown mode is a RangeError listing the valid ones; unavailable modes say so", async () => {
  const p = pipeline({ name: "modes" }, () => add(1, 2));
  await assert.rejects(
    () => p.run({ mode: "turbo" as never }),
    (e: Error) =>
      e instanceof RangeError && /"turbo".*"local", "cloud", "analyze", "generate", "deploy"/.test(e.message),
  );
  assert.deepEqual(RUN_MODES, ["local", "cloud", "analyze", "generate", "deploy"]);
  // Static analysis reads module top level; this pipeline lives inside a test, so it says how to trace instead.
  await assert.rejects(() => p.run({ mode: "analyze" }), /analyze\(\{ trace: true \}\)/);
  assert.equal((await p.analyze({ trace: true })).dag.nodes.length, 1);
});

Deno.test("a pipeline needs a name and a function", () => {
  assert.throws(
    () => pipeline({} as never, () => 1),
    (e: Error) => e instanceof TypeError && /needs a name/.test(e.message),
  );
  assert.throws(() => pipeline({ name: "bad name" }, () => 1), TypeError);
  assert.throws(() => pipeline({ name: "ok" }, null as never), TypeError);
});

Deno.test("tracing records calls without running any task; calls over an awaited list are dynamic", async () => {
  let ran = 0;
  const list = local.task(function listKeys(_b: Bucket): string[] {
    ran++;
    return ["a"];
  });
  const load = local.task(function load(b: Bucket, _key: string): Promise<Uint8Array> {
    ran++;
    return b.read();
  });
  const store = local.task(function store(b: Bucket, data: Uint8Array[]): Promise<void> {
    ran++;
    return b.put(data[0]);
  });
  const inbox = provider.bucket({ bucket: "lake", path: "in/" });
  const out = provider.bucket({ bucket: "lake", path: "out/all.bin" });
  const p = pipeline({ name: "traced" }, async () => {
    const keys = await list(inbox);
    return store(out, keys.map((k) => load(inbox, k)));
  });
  const dag = await p.trace();
  assert.equal(ran, 0);
  // store is one call after the fan-out: not dynamic
  assert.deepEqual(dag.nodes.map((n) => [n.id, n.dynamic]), [["listKeys", false], ["load", true], [
    "store",
    false,
  ]]);
  assert.deepEqual(dag.get("load")!.inputs.map((n) => n.id), ["listKeys"]);
  assert.deepEqual(dag.get("store")!.inputs.map((n) => n.id), ["load"]);
  assert.deepEqual(dag.sources.map((s) => s.uri), [inbox.uri]);
  assert.deepEqual(dag.sinks.map((s) => s.uri), [out.uri]);
});

Deno.test("a ref used as a plain value inside the pipeline gets advice", async () => {
  const p = pipeline({ name: "misuse" }, () => {
    const n = add(1, 2) as unknown as number;
    return add(n + 1, 1);
  });
  await assert.rejects(
    () => p.run({ workers: 0, quiet: true }),
    (e: Error) => e instanceof GlacierError && /used as a plain value.*await it first/.test(e.message),
  );
});

Deno.test("retries apply inside a run and the report counts the attempts", async () => {
  let calls = 0;
  const flaky = local.task({ retries: 3, retryDelay: 1 }, function flakyStep(): number {
    if (++calls < 3) throw new Error("transient");
    return 7;
  });
  const p = pipeline({ name: "retrying" }, () => add(flaky(), 1));
  assert.equal(await p.run({ workers: 0, quiet: true }), 8);
  assert.equal(p.lastRun!.tasks[0].attempts, 3);
});

Deno.test("generate and deploy use the provider the pipeline's own tasks and buckets come from", async () => {
  const { eastPipeline, westPipeline } = await import("../fixtures/codegen/two_providers.ts");
  const west = await westPipeline.generate({ format: "terraform" });
  assert.match(west.files["main.tf"], /default\s*=\s*"eu-west-1"/);
  const westText = Object.values(west.files).join("\n");
  assert.ok(westText.includes("stage-west") && !westText.includes("stage-east"));
  assert.ok(!westText.includes("us-east-1"));
  const east = await eastPipeline.deploy({ orchestrator: "step_functions" });
  const eastText = Object.values(east.files).join("\n");
  assert.ok(eastText.includes("stage-east") && !eastText.includes("stage-west"));
  assert.ok(!eastText.includes("eu-west-1"));
});
