import assert from "node:assert/strict";
import { GlacierError } from "../../../src/errors.ts";
import { bindArgs, mappedCalls, traceCall } from "../../../src/trace/replay.ts";
import { inbox, out, raw, replayEtl } from "../../fixtures/replay_pipeline.ts";
import { branchy } from "../../fixtures/replay_branches.ts";
import { analyzeStatic } from "../../../src/analyze/static.ts";

Deno.test("traceCall() finds a call by id with its literal arguments and the run's params", async () => {
  const { call, mapOver } = await traceCall(replayEtl, { minScore: 7 }, "clean");
  assert.equal(call.task.name, "clean");
  assert.deepEqual(call.deps, ["extract"]);
  assert.equal(call.args[1], 7);
  assert.equal(mapOver, undefined);
  const save = await traceCall(replayEtl, {}, "save");
  assert.equal(save.call.args[1], out);
  const bound = bindArgs(save, { value: (id) => `value of ${id}`, gathered: () => [] });
  assert.deepEqual(bound, ["value of clean", out]);
});

Deno.test("bindArgs() gives a mapped call its item and a gathering call the mapped outputs in order", async () => {
  const calls = await replayEtl.traceCalls({});
  assert.deepEqual([...mappedCalls(calls)], [["processFile", "listFiles"]]);
  const mapped = await traceCall(replayEtl, {}, "processFile");
  assert.equal(mapped.mapOver, "listFiles");
  const args = bindArgs(mapped, {
    value: () => assert.fail("no plain upstream"),
    gathered: () => [],
    item: "inbox/b",
  });
  assert.deepEqual(args, [inbox, "inbox/b"]);
  const combine = await traceCall(replayEtl, {}, "combine");
  const sizes = bindArgs(combine, {
    value: () => undefined,
    gathered: (id) => id === "processFile" ? [1, 2, 3] : [],
  });
  assert.deepEqual(sizes, [[1, 2, 3]]);
  const extract = await traceCall(replayEtl, {}, "extract");
  assert.deepEqual(bindArgs(extract, { value: () => undefined, gathered: () => [] }), [raw]);
});

Deno.test("traceCall() names the calls there are when the id is not in the pipeline", async () => {
  await assert.rejects(
    () => traceCall(replayEtl, {}, "nope"),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:REPLAY_NODE_MISSING" && e.message.includes('"combine"') &&
      e.message.includes("redeploy"),
  );
});

Deno.test("traceCall() finds a call by its static call site whatever branch the params take", async () => {
  const { dag } = await analyzeStatic(branchy);
  const args = async (full: boolean, id: string) => (await traceCall(branchy, { full }, id)).call.args;
  // Static analysis names every site; without `full` a counted trace would call "always a" stamp#1.
  const idOf = (label: string) => dag.nodes.find((n) => n.task.name === "stamp" && n.id === label)?.id;
  assert.equal(idOf("stamp#2"), "stamp#2");
  for (const full of [true, false]) {
    assert.deepEqual(await args(full, "stamp#2"), ["always a"]);
    assert.deepEqual(await args(full, "stamp#3"), ["always b"]);
    // One site inside a helper, reached from two lines of the pipeline.
    assert.deepEqual(await args(full, "stamp#4"), ["c via helper"]);
    assert.deepEqual(await args(full, "stamp#5"), ["d via helper"]);
  }
  assert.deepEqual(await args(true, "stamp"), ["only when full"]);
  await assert.rejects(
    () => traceCall(branchy, { full: false }, "stamp"),
    /REPLAY_NODE_MISSING|has no call "stamp"/,
  );
  // The gathering call's refs point at the static ids, so its inputs are read from the right keys.
  const joined = await traceCall(branchy, { full: false }, "join");
  assert.deepEqual(joined.call.deps, ["stamp#2", "stamp#3", "stamp#4", "stamp#5"]);
  const bound = bindArgs(joined, { value: (id) => `<${id}>`, gathered: () => [] });
  assert.deepEqual(bound, ["skipped", "<stamp#2>", "<stamp#3>", "<stamp#4>", "<stamp#5>"]);
});
