import assert from "node:assert/strict";
import { tableFromArrays, tableFromIPC } from "apache-arrow";
import { encodeValue, ensureArrow } from "../../../src/data/payload.ts";
import type { GlacierError } from "../../../src/errors.ts";
import { LocalConfig } from "../../../src/config/local.ts";
import { Provider } from "../../../src/provider.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";
import { estimateWireSize, stageValue, Staging } from "../../../src/run/staging.ts";

await ensureArrow(); // encodeValue()/decodeValue() of tables need apache-arrow loaded first

async function stagingArea(runId = "run-1") {
  const root = await Deno.makeTempDir();
  const location = new Provider({ config: new LocalConfig({ root }) }).bucket({
    bucket: "stage",
    path: "glacier/",
  });
  return { root, staging: new Staging(location, runId) };
}

function bigTable(rows: number) {
  return tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) });
}

Deno.test("Staging.stage() leaves a value that fits the cap inline", async () => {
  const { staging } = await stagingArea();
  const value = encodeValue([bigTable(10), { n: 1 }], "ipc").value;
  const staged = await staging.stage(value, { cap: 1024 * 1024, name: "t/1/in" });
  assert.equal(staged, value);
  assert.equal(Staging.hasRefs(staged), false);
  assert.equal(await staging.cleanup(), 0, "nothing was staged under the run's prefix");
});

Deno.test("Staging.stage() puts tables over the cap under the run's prefix and resolve() reads them back", async () => {
  const { staging } = await stagingArea("run-42");
  const table = bigTable(200_000); // 1.6 MB of float64
  const value = encodeValue({ table, label: "keep me" }, "ipc").value;
  const staged = await staging.stage(value, { cap: 100_000, name: "clean/1/in" }) as Record<string, unknown>;
  assert.ok(Staging.hasRefs(staged));
  assert.equal(staged.label, "keep me");
  const ref = (staged.table as { $staged: { uri: string; key: string; bytes: number } }).$staged;
  assert.equal(ref.key, "glacier/runs/run-42/clean/1/in-1.arrow");
  assert.ok(ref.bytes > 1_600_000);
  assert.ok(estimateWireSize(staged) < 100_000, "only a reference travels");
  const back = await Staging.resolve(staged, staging.root.location.storage) as {
    table: { $arrow: Uint8Array };
  };
  const decoded = tableFromIPC(back.table.$arrow);
  assert.equal(decoded.numRows, 200_000);
  assert.equal(decoded.getChild("x")!.get(199_999), 199_999);
});

Deno.test("Staging.stage() stages the largest tables first and only as many as needed", async () => {
  const { staging } = await stagingArea();
  const value = encodeValue([bigTable(100_000), bigTable(100)], "ipc").value;
  const staged = await staging.stage(value, { cap: 200_000, name: "t/1/in" }) as unknown[];
  assert.ok("$staged" in (staged[0] as object));
  assert.ok("$arrow" in (staged[1] as object));
  assert.equal((await staging.root.list()).length, 1);
});

Deno.test("Staging.cleanup() removes every object of the run and nothing else", async () => {
  const { root } = await stagingArea();
  const location = new Provider({ config: new LocalConfig({ root }) }).bucket({
    bucket: "stage",
    path: "glacier/",
  });
  const mine = new Staging(location, "run-a");
  const other = new Staging(location, "run-b");
  await mine.put("a/1/in", new Uint8Array(10));
  await mine.put("a/1/out", new Uint8Array(10));
  await other.put("b/1/in", new Uint8Array(10));
  assert.equal(await mine.cleanup(), 2);
  assert.deepEqual(await mine.root.list(), []);
  assert.equal((await other.root.list()).length, 1);
});

Deno.test("stageValue() without a staging location says how to set one", async () => {
  const value = encodeValue(bigTable(100_000), "ipc").value;
  await assert.rejects(
    () => stageValue(value, { cap: 1000, name: "scale/1/in" }, undefined),
    (error: GlacierError) => {
      assert.equal(error.code, "USER:STAGING_REQUIRED");
      assert.match(error.message, /"scale\/1\/in"/);
      assert.match(error.message, /stagingBucket/);
      return true;
    },
  );
});

Deno.test("stageValue() refuses data over the cap that holds no table", async () => {
  const { staging } = await stagingArea();
  const value = { numbers: Array.from({ length: 10_000 }, (_, i) => i) };
  await assert.rejects(
    () => stageValue(value, { cap: 50_000, name: "f/1/out" }, staging),
    (error: GlacierError) => error.code === "USER:PAYLOAD_TOO_LARGE" && /Arrow table/.test(error.message),
  );
});

Deno.test("Staging.resolve() names the URI of a staged object that is gone", async () => {
  const { staging } = await stagingArea();
  const ref = await staging.put("gone/1/in", new Uint8Array(8));
  await staging.cleanup();
  await assert.rejects(
    () => Staging.resolve([ref], staging.root.location.storage),
    (error: GlacierError) => error.code === "SYSTEM:STAGING_READ" && error.message.includes(ref.$staged.uri),
  );
});

Deno.test("Staging.fromUri() stages under <uri>/runs/<runId>/ and rejects a malformed URI", () => {
  const staging = Staging.fromUri(
    "s3://lake/glacier/x",
    { cloud: "aws", region: "us-east-1" },
    "r1",
    CORE_STORAGE,
  );
  assert.equal(staging.root.uri, "s3://lake/glacier/x/runs/r1/");
  assert.throws(() => Staging.fromUri("lake/glacier", {}, "r1", CORE_STORAGE), RangeError);
});
