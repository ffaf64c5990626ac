// Collecting .glacier/ (issue 18): cleanGlacier(), removeCheckpoints() and
// `glacier clean`.
import assert from "node:assert/strict";
import { join } from "node:path";
import { cleanGlacier, parseAge, removeCheckpoints } from "../../../src/run/clean.ts";
import { Checkpoints, OutputCache } from "../../../src/run/cache.ts";
import { Provider } from "../../../mod.ts";
import { glacier } from "../../support/cli.ts";

const DAY = 86_400_000;
const step = new Provider().local().task(function step(): number {
  return 1;
});

// A .glacier/ with two cache entries, two runs' checkpoints and two runs' task logs, one of each 10 days old.
async function fill(dir: string): Promise<void> {
  const cache = new OutputCache(join(dir, "cache"));
  await cache.put("old", "x".repeat(100));
  await cache.put("new", "y");
  const old = new Checkpoints("run-old", join(dir, "checkpoints"));
  await old.save("step", step, 1);
  await new Checkpoints("run-new", join(dir, "checkpoints")).save("step", step, 2);
  const then = new Date(Date.now() - 10 * DAY);
  await Deno.utime(cache.path("old"), then, then);
  await Deno.utime(old.path("step"), then, then);
  for (const run of ["run-old", "run-new"]) {
    await Deno.mkdir(join(dir, "logs", run), { recursive: true });
    await Deno.writeTextFile(join(dir, "logs", run, "step.1.log"), `${run} printed\n`);
  }
  await Deno.utime(join(dir, "logs", "run-old", "step.1.log"), then, then);
}

Deno.test("cleanGlacier() removes entries and checkpoints older than the age and keeps newer ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fill(dir);
    const oldSize = (await Deno.stat(join(dir, "cache", "old.bin"))).size +
      (await Deno.stat(join(dir, "checkpoints", "run-old", "step.bin"))).size +
      (await Deno.stat(join(dir, "logs", "run-old", "step.1.log"))).size;
    const removed = await cleanGlacier(dir, { olderThanMs: 7 * DAY });
    assert.deepEqual(removed, {
      cacheEntries: 1,
      checkpoints: 1,
      checkpointRuns: 1,
      logFiles: 1,
      bytes: oldSize,
    });
    assert.deepEqual([...Deno.readDirSync(join(dir, "logs"))].map((e) => e.name), ["run-new"]);
    assert.deepEqual([...Deno.readDirSync(join(dir, "cache"))].map((e) => e.name), ["new.bin"]);
    assert.deepEqual([...Deno.readDirSync(join(dir, "checkpoints"))].map((e) => e.name), ["run-new"]);
    assert.deepEqual(await new Checkpoints("run-new", join(dir, "checkpoints")).load("step", step), {
      value: 2,
    });
    const all = await cleanGlacier(dir);
    assert.deepEqual([all.cacheEntries, all.checkpoints, all.checkpointRuns, all.logFiles], [1, 1, 1, 1]);
    assert.deepEqual(await cleanGlacier(join(dir, "missing")), {
      cacheEntries: 0,
      checkpoints: 0,
      checkpointRuns: 0,
      logFiles: 0,
      bytes: 0,
    });
    await assert.rejects(cleanGlacier(dir, { olderThanMs: -1 }), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cleanGlacier() removes only the kind it is asked for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fill(dir);
    const cacheOnly = await cleanGlacier(dir, { cache: true });
    assert.deepEqual([cacheOnly.cacheEntries, cacheOnly.checkpoints, cacheOnly.logFiles], [2, 0, 0]);
    const checkpointsOnly = await cleanGlacier(dir, { checkpoints: true });
    assert.deepEqual([checkpointsOnly.cacheEntries, checkpointsOnly.checkpoints, checkpointsOnly.logFiles], [
      0,
      2,
      0,
    ]);
    const logsOnly = await cleanGlacier(dir, { logs: true });
    assert.deepEqual([logsOnly.cacheEntries, logsOnly.checkpoints, logsOnly.logFiles], [0, 0, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeCheckpoints() removes one run's folder and refuses a path", async () => {
  const root = await Deno.makeTempDir();
  try {
    await new Checkpoints("run-1", root).save("step", step, 1);
    await new Checkpoints("run-2", root).save("step", step, 2);
    assert.equal((await removeCheckpoints("run-1", root)).files, 1);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["run-2"]);
    assert.deepEqual(await removeCheckpoints("run-1", root), { files: 0, bytes: 0 });
    await assert.rejects(removeCheckpoints("../x", root), RangeError);
    await assert.rejects(removeCheckpoints("..", root), RangeError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("parseAge() reads units and refuses what it does not know", () => {
  assert.deepEqual(["90s", "30m", "12h", "7d", "2w", "250"].map(parseAge), [
    90_000,
    1_800_000,
    43_200_000,
    7 * DAY,
    14 * DAY,
    250,
  ]);
  assert.throws(() => parseAge("7 days"), RangeError);
  assert.throws(() => parseAge("-1d"), RangeError);
});

Deno.test("glacier clean --older-than 7d prints what it removed and keeps what is newer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "deno.json"), "{}");
    await fill(join(dir, ".glacier"));
    const out = await glacier(["clean", "--older-than", "7d"], { cwd: dir });
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^removed 1 cache entry, 1 checkpoint \(1 run\) and 1 log file, \d+ B freed, from .*\.glacier\n$/,
    );
    assert.ok(await Deno.stat(join(dir, ".glacier", "cache", "new.bin")));
    const json = await glacier(["clean", dir, "--cache", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      { ...JSON.parse(json.stdout), bytes: 0 },
      {
        glacierDir: join(dir, ".glacier"),
        cacheEntries: 1,
        checkpoints: 0,
        checkpointRuns: 0,
        logFiles: 0,
        bytes: 0,
      },
    );
    const bad = await glacier(["clean", "--older-than", "soon"], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--older-than: Age "soon" is not understood/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
