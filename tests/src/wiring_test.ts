import assert from "node:assert/strict";
import { CORE_WIRING, defineWiring, GLACIER_WIRING } from "../../extend.ts";
import { type GlacierError, LocalConfig, Provider } from "../../mod.ts";
import { linesCount, notes, ROOT, wiring } from "../fixtures/wiring/custom_format.ts";

Deno.test("a custom format in a provider's wiring reads its buckets here and in a worker, and nowhere else", async () => {
  await notes.put("a\nb\nc\n");
  assert.equal((await notes.scanArrow()).numRows, 3);
  // Through a worker: the bucket crosses as data and is rebuilt with the task's provider's wiring.
  assert.equal(await linesCount.run({ workers: 1, quiet: true }), 3);
  assert.equal(linesCount.lastRun!.tasks[0].ranOn, "worker");
  const plain = new Provider({ config: new LocalConfig({ root: ROOT }) }).bucket({
    bucket: "lake",
    path: "notes.lines",
  });
  await assert.rejects(
    () => plain.scanArrow(),
    (e: GlacierError) => e.code === "USER:FORMAT_UNKNOWN" && e.message.includes(".parquet"),
  );
  assert.ok(!GLACIER_WIRING.formats.some((f) => f.name === "lines"), "Glacier's wiring is unchanged");
  assert.equal(wiring.executors.lambda, GLACIER_WIRING.executors.lambda);
});

Deno.test("defineWiring() freezes what it builds and refuses parts of the wrong shape", () => {
  const w = defineWiring({ stores: { mem: () => Promise.reject(new Error("unused")) } });
  assert.ok(Object.isFrozen(w) && Object.isFrozen(w.stores) && Object.isFrozen(w.formats));
  assert.deepEqual(Object.keys(w.stores), ["mem"]);
  assert.equal(CORE_WIRING.localExecutor, undefined, "the core runs local tasks in-process");
  assert.equal(defineWiring({ localExecutor: null }, GLACIER_WIRING).localExecutor, undefined);
  // @ts-expect-error: a store must be a function
  assert.throws(() => defineWiring({ stores: { s3: "nope" } }), /"stores" maps a scheme/);
  assert.throws(
    () =>
      defineWiring({
        formats: [{ name: "x", extensions: [".x"], decode: () => null!, encode: () => null! }],
      }),
    /lower-case extensions without the dot/,
  );
  assert.throws(
    () => new Provider({ wiring: { ...GLACIER_WIRING } }),
    (e: Error) => e instanceof TypeError && /defineWiring/.test(e.message),
  );
});
