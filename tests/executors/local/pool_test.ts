import assert from "node:assert/strict";
import fc from "fast-check";
import { type LocalRunOptions, openWorkerPool, Provider, TaskError } from "../../../mod.ts";
import * as fx from "../../fixtures/pool_tasks.ts";

const quiet = { quiet: true, workers: 2 } as const;

Deno.test("a worker that calls Deno.exit is detected, replaced, and its task retried", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal(await fx.exitPipeline.run({ ...quiet, params: { dir } }), "after survived");
  const task = fx.exitPipeline.lastRun!.tasks.find((t) => t.id === "exitsOnce")!;
  assert.equal(task.attempts, 2);
  assert.equal(task.ranOn, "worker");
  assert.equal(await Deno.readTextFile(`${dir}/exitsOnce`), "2");
});

Deno.test("a worker killed by an uncaught error is replaced and its task retried", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal(await fx.crashPipeline.run({ ...quiet, params: { dir } }), "after survived");
  assert.equal(fx.crashPipeline.lastRun!.tasks[0].attempts, 2);
});

Deno.test("a timeout terminates the worker running a CPU-bound loop; the sibling finishes", async () => {
  await assert.rejects(() => fx.spinPipeline.run(quiet), (e: Error) => {
    assert.ok(e instanceof TaskError);
    assert.equal(e.code, "USER:TASK_TIMEOUT");
    assert.equal(e.task, "spin");
    assert.match(e.message, /timed out after 300 ms/);
    return true;
  });
  const byId = Object.fromEntries(fx.spinPipeline.lastRun!.tasks.map((t) => [t.id, t.status]));
  assert.deepEqual(byId, { spin: "failed", after: "done" });
});

Deno.test("resume re-runs only what failed or never ran, feeding it checkpointed inputs", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => fx.resumePipeline.run({ ...quiet, params: { dir } }), /first run fails/);
  const first = fx.resumePipeline.lastRun!;
  assert.deepEqual(first.tasks.map((t) => [t.id, t.status]), [["counted", "done"], ["counted#2", "done"], [
    "flaky",
    "failed",
  ], ["add", "skipped"]]);
  // Params come from the failed run.
  assert.equal(await fx.resumePipeline.run({ ...quiet, resume: true }), 12);
  const second = fx.resumePipeline.lastRun!;
  assert.equal(second.resumedFrom, first.runId);
  assert.deepEqual(second.tasks.map((t) => [t.id, t.status, t.ranOn]), [
    ["counted", "cached", "checkpoint"],
    ["counted#2", "cached", "checkpoint"],
    ["flaky", "done", "worker"],
    ["add", "done", "worker"],
  ]);
  assert.equal(await Deno.readTextFile(`${dir}/counted-1`), "1");
  assert.equal(await Deno.readTextFile(`${dir}/counted-2`), "1");
  await assert.rejects(
    () => fx.resumePipeline.run({ ...quiet, resume: true }),
    /succeeded, so there is nothing to resume/,
  );
});

Deno.test("a cache hit skips the work and a change of input misses", async () => {
  const dir = await Deno.makeTempDir();
  const n = 1000 + Math.floor(Math.random() * 1_000_000); // fresh inputs: the cache is shared by runs
  const expected = Array.from({ length: n }, (_, i) => i * i).reduce((a, b) => a + b, 0);
  assert.equal(await fx.cachePipeline.run({ ...quiet, params: { dir, n } }), expected);
  assert.equal(await fx.cachePipeline.run({ ...quiet, params: { dir, n } }), expected);
  assert.equal(fx.cachePipeline.lastRun!.tasks[0].status, "cached");
  assert.equal(fx.cachePipeline.lastRun!.tasks[0].ranOn, "cache");
  assert.equal(await Deno.readTextFile(`${dir}/expensive`), "1");
  await fx.cachePipeline.run({ ...quiet, params: { dir, n: n + 1 } });
  assert.equal(await Deno.readTextFile(`${dir}/expensive`), "2");
  const leftovers = [...Deno.readDirSync(".glacier/cache")].filter((e) => e.name.includes(".tmp-"));
  assert.deepEqual(leftovers, []);
});

Deno.test("a task narrowed to no read permission fails naming the task and the permission; a granted one reads", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "secret");
  await assert.rejects(() => fx.permissionPipeline.run({ ...quiet, params: { path } }), (e: Error) => {
    assert.ok(e instanceof TaskError);
    assert.equal(e.code, "USER:PERMISSION_DENIED");
    assert.equal(e.task, "sneaky");
    assert.match(e.message, /read access/);
    assert.match(e.message, /"permissions" option/);
    return true;
  });
  const granted = fx.permissionPipeline.lastRun!.tasks.find((t) => t.id === "allowed")!;
  assert.equal(granted.status, "done");
});

Deno.test("a 10M-row table crosses workers intact, by transfer and when shared by three consumers", async () => {
  const rows = 10_000_000;
  const idSum = (rows * (rows - 1)) / 2;
  const single = await fx.tablePipeline.run({ ...quiet, params: { rows } });
  assert.deepEqual(single.single, { rows, idSum, valueSum: idSum / 2, intact: true });
  const fanned = await fx.fanOutTablePipeline.run({ ...quiet, params: { rows } });
  for (const result of fanned) assert.deepEqual(result, { rows, idSum, valueSum: idSum / 2, intact: true });
});

Deno.test("Utf8View and BinaryView tables (as polars writes strings) cross workers with their data buffers", async () => {
  const strings = ["short", "a string longer than twelve bytes, so it lives in a data buffer", null];
  assert.deepEqual(await fx.viewsPipeline.run(quiet), [...strings, ...strings]);
  assert.deepEqual(fx.viewsPipeline.lastRun!.tasks.map((t) => t.ranOn), ["worker", "worker"]);
});

Deno.test("an argument that cannot cross to a worker is refused before dispatch, naming task and argument", async () => {
  await assert.rejects(() => fx.badArgPipeline.run(quiet), (e: Error) => {
    assert.match(
      e.message,
      /argument 1 of task "takesFn" \(call takesFn\) in pipeline "pool_bad_arg"\.callback: it is a function/,
    );
    return true;
  });
});

Deno.test("a task defined inside a function cannot be found by a worker and says where to define it", async () => {
  const { pipeline } = await import("../../../mod.ts");
  const inner = new Provider().local().task(function innerTask(): number {
    return 1;
  });
  const p = pipeline({ name: "pool_inner" }, () => inner());
  await assert.rejects(
    () => p.run(quiet),
    /Task "innerTask" is not defined at the top level of .*define tasks at module top level/,
  );
  assert.equal(await p.run({ quiet: true, workers: 0 }), 1); // in-process needs no lookup
});

Deno.test("random DAG shapes give the same values on the pool as in-process", async () => {
  const shape = fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 25 }).map((raw) =>
    raw.map((deps, i) => (i === 0 ? [] : [...new Set(deps.map((d) => d % i))]))
  );
  await fc.assert(
    fc.asyncProperty(shape, async (deps) => {
      const inProcess = await fx.randomDag.run({ quiet: true, workers: 0, params: { deps } });
      const pooled = await fx.randomDag.run({ ...quiet, params: { deps } });
      assert.deepEqual(pooled, inProcess);
    }),
    { numRuns: 12 },
  );
});

Deno.test("an open pool serves several runs with the same workers and stays open until closed", async () => {
  const isolates = async (options: LocalRunOptions<unknown>) => {
    const out = await fx.isolatesPipeline.run({ quiet: true, ...options }) as string[];
    assert.deepEqual(out.map((s) => Number(s.split(":")[0])), [0, 1, 2, 3, 4, 5]);
    assert.ok(fx.isolatesPipeline.lastRun!.tasks.every((t) => t.ranOn === "worker"));
    return new Set(out.map((s) => s.split(":")[1]));
  };
  const pool = openWorkerPool({ workers: 2 });
  try {
    const first = await isolates({ pool });
    const second = await isolates({ pool });
    assert.ok(first.size >= 1 && first.size <= 2, `${first.size} workers`);
    assert.ok([...second].every((id) => first.has(id)), "the second run found the first run's workers");
    // Without a pool, each run starts its own workers.
    const fresh = await isolates({ workers: 2 });
    assert.ok([...fresh].every((id) => !first.has(id)), "a run without a pool starts new workers");
  } finally {
    await pool.close();
  }
  await assert.rejects(() => fx.isolatesPipeline.run({ pool, quiet: true }), /pool is closed/);
});

Deno.test("workers import a pipeline's module as its run starts only when that module defines tasks", async () => {
  const dir = await Deno.makeTempDir();
  const marker = `${dir}/marker`;
  Deno.env.set("GLACIER_PRELOAD_MARKER", marker);
  try {
    const { noTasksHere } = await import("../../fixtures/pool_preload_pipeline.ts");
    assert.equal(await noTasksHere.run({ quiet: true, workers: 1 }), 6);
    assert.equal(noTasksHere.lastRun!.tasks[0].ranOn, "worker");
    await assert.rejects(
      () => Deno.stat(marker),
      Deno.errors.NotFound,
      "a worker imported the pipeline's module",
    );
  } finally {
    Deno.env.delete("GLACIER_PRELOAD_MARKER");
    await Deno.remove(dir, { recursive: true });
  }
});
