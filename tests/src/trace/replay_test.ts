import assert from "node:assert/strict";
import { GlacierError } from "../../../src/errors.ts";
import { bindArgs, mappedCalls, traceCall } from "../../../src/trace/replay.ts";
import { inbox, out, raw, replayEtl } from "../../fixtures/replay_pipeline.ts";

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
