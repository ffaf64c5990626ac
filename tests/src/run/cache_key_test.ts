// What a cached output is keyed by and when it is not trusted (issue 18): the
// code a task can reach, its cacheVersion, its bucket inputs' objects, its
// expiry, and checksums on every entry and checkpoint.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LocalConfig, type Pipeline, Provider, type Task } from "../../../mod.ts";
import { cacheKey, type CacheMode, Checkpoints, codeHash, OutputCache } from "../../../src/run/cache.ts";
import { glacier } from "../../support/cli.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";

const FIXTURES = new URL("../../fixtures/cache/", import.meta.url);
const MOD = new URL("../../../mod.ts", import.meta.url).href;

// The fixture project copied to a temp folder (its own deno.json, Glacier by URL).
async function project(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-cache-" });
  const { imports } = JSON.parse(await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)));
  await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports, lock: false }));
  for (const name of ["priced.ts", "pricing.ts"]) {
    const text = await Deno.readTextFile(new URL(name, FIXTURES));
    await Deno.writeTextFile(join(dir, name), text.replace('"../../../mod.ts"', JSON.stringify(MOD)));
  }
  return dir;
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes(from), `${path} lacks ${from}`);
  await Deno.writeTextFile(path, text.replace(from, to));
}

let imports = 0;
// A fresh evaluation of the module (a new query each time). V8 gives a module
// whose text did not change the first one's URL, so `task.module` changes
// only with the module's own text: helpers are changed between processes.
function load(dir: string, name = "priced.ts"): Promise<Record<string, Task>> {
  return import(`${pathToFileURL(join(dir, name)).href}?v=${++imports}`);
}

function quietWarnings(): { warnings: string[]; restore: () => void } {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  return { warnings, restore: () => console.warn = original };
}

Deno.test("a cached task misses after a module constant changes, where it used to return the stale 360", async () => {
  const dir = await project();
  try {
    const run = async (m: Record<string, unknown>) => {
      const p = m.priced as Pipeline<{ units: number }>;
      return [await p.run({ params: { units: 80 }, workers: 0, quiet: true }), p.lastRun!.tasks[0].ranOn];
    };
    assert.deepEqual((await run(await load(dir)))[0], 360);
    assert.deepEqual(await run(await load(dir)), [360, "cache"]);
    await edit(join(dir, "priced.ts"), "const UNIT_PRICE = 4.5;", "const UNIT_PRICE = 3.9375;");
    const [total, ranOn] = await run(await load(dir));
    assert.equal(total, 315);
    assert.notEqual(ranOn, "cache");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("glacier run misses after an imported local helper changes, and hits when nothing did", async () => {
  const dir = await project();
  try {
    const run = async () => {
      const out = await glacier(["run", "priced.ts", "--params", "units=80", "--workers", "0", "--quiet"], {
        cwd: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim();
    };
    const entries = () => [...Deno.readDirSync(join(dir, ".glacier", "cache"))].length;
    assert.equal(await run(), "360");
    assert.equal(entries(), 1);
    await edit(join(dir, "pricing.ts"), "return amount;", "return amount * 0.875;");
    assert.equal(await run(), "315");
    assert.equal(entries(), 2);
    assert.equal(await run(), "315");
    assert.equal(entries(), 2); // a hit: nothing new written
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("codeHash() covers every local module a module imports, not where the project lives", async () => {
  const [a, b, c] = [await project(), await project(), await project()];
  try {
    await edit(join(b, "pricing.ts"), "return amount;", "return amount * 0.875;");
    const hash = (dir: string) => codeHash(pathToFileURL(join(dir, "priced.ts")).href);
    const [ha, hb, hc] = [await hash(a), await hash(b), await hash(c)];
    assert.notEqual(ha, hb);
    assert.equal(ha, hc);
    assert.match(ha, /^[0-9a-f]{64}$/);
  } finally {
    for (const dir of [a, b, c]) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cacheKey() changes with cacheVersion", async () => {
  const local = new Provider().local();
  const make = (cacheVersion?: string) =>
    local.task({ cache: true, cacheVersion }, function versioned(n: number): number {
      return n + 1;
    });
  const keys = await Promise.all([make(), make("1"), make("2"), make("2")].map((t) => cacheKey(t, [1])));
  assert.equal(new Set(keys).size, 3);
  assert.equal(keys[2], keys[3]);
});

Deno.test("cacheVersion and cacheExpiry are checked, naming the task", () => {
  const local = new Provider().local();
  const fn = function checked() {};
  assert.throws(
    () => local.task({ cacheVersion: 3 as unknown as string }, fn),
    (e: Error) =>
      e instanceof TypeError &&
      /Task "checked": "cacheVersion" must be a non-empty string, got 3/.test(e.message),
  );
  assert.throws(
    () => local.task({ cacheExpiry: 0 }, fn),
    (e: Error) => e instanceof RangeError && /Task "checked": "cacheExpiry" is 0 ms/.test(e.message),
  );
  assert.throws(
    () => local.task({ cacheExpiry: "1h" as unknown as number }, fn),
    (e: Error) =>
      e instanceof TypeError && /Task "checked": "cacheExpiry" must be a whole number of ms/.test(e.message),
  );
  const t = local.task({ cache: true, cacheVersion: "v2", cacheExpiry: 60_000 }, fn);
  assert.deepEqual([t.options.cacheVersion, t.options.cacheExpiry], ["v2", 60_000]);
});

Deno.test("cacheKey() changes when a bucket input's object, or an object its glob matches, is rewritten", async () => {
  const root = await Deno.makeTempDir();
  try {
    const provider = new Provider({ config: new LocalConfig({ root }) });
    const task = provider.local().task({ cache: true }, function readIt(_src: unknown) {});
    const one = provider.bucket({ bucket: "lake", path: "raw/a.csv" });
    const many = provider.bucket({ bucket: "lake", path: "raw/*.csv" });
    const missing = await cacheKey(task, [one]);
    await one.put("x,y\n1,2\n");
    const [a1, m1] = [await cacheKey(task, [one]), await cacheKey(task, [{ input: many }])];
    assert.notEqual(a1, missing);
    assert.equal(await cacheKey(task, [one]), a1);
    await one.put("x,y\n1,2\n3,4\n");
    const a2 = await cacheKey(task, [one]);
    assert.notEqual(a2, a1);
    assert.notEqual(await cacheKey(task, [{ input: many }]), m1);
    const m2 = await cacheKey(task, [{ input: many }]);
    await provider.bucket({ bucket: "lake", path: "raw/b.csv" }).put("x\n5\n");
    assert.notEqual(await cacheKey(task, [{ input: many }]), m2);
    await provider.bucket({ bucket: "lake", path: "raw/b.txt" }).put("not matched");
    assert.equal(await cacheKey(task, [one]), a2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an entry past its expiry is a miss", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new OutputCache(dir);
    await cache.put("k", { n: 1 }, 1_000);
    assert.deepEqual(await cache.get("k", CORE_STORAGE, { expiry: 500, now: 1_499 }), { value: { n: 1 } });
    assert.equal(await cache.get("k", CORE_STORAGE, { expiry: 500, now: 1_500 }), undefined);
    assert.deepEqual(await cache.get("k", CORE_STORAGE, { now: 10_000_000 }), { value: { n: 1 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a flipped byte in a cache entry is a miss, warned once naming the file, and the next put repairs it", async () => {
  const dir = await Deno.makeTempDir();
  const { warnings, restore } = quietWarnings();
  try {
    const cache = new OutputCache(dir);
    await cache.put("k", { total: 360 });
    const bytes = await Deno.readFile(cache.path("k"));
    bytes[bytes.length - 3] ^= 0x01;
    await Deno.writeFile(cache.path("k"), bytes);
    assert.equal(await cache.get("k", CORE_STORAGE), undefined);
    assert.equal(await cache.get("k", CORE_STORAGE), undefined);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(cache.path("k")) && /corrupt or truncated/.test(warnings[0]), warnings[0]);
    await cache.put("k", { total: 315 });
    assert.deepEqual(await cache.get("k", CORE_STORAGE), { value: { total: 315 } });
    await Deno.writeFile(cache.path("k"), (await Deno.readFile(cache.path("k"))).subarray(0, 20));
    assert.equal(await new OutputCache(dir).get("k", CORE_STORAGE), undefined);
  } finally {
    restore();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a put that fails leaves no entry and no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new OutputCache(dir);
    await assert.rejects(cache.put("k", { fn: () => 1 }));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refresh mode ignores hits and overwrites; off mode neither reads nor writes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await new OutputCache(dir).put("k", "old");
    const refresh = new OutputCache(dir, { mode: "refresh" });
    assert.equal(await refresh.get("k", CORE_STORAGE), undefined);
    await refresh.put("k", "new");
    assert.deepEqual(await new OutputCache(dir).get("k", CORE_STORAGE), { value: "new" });
    const off = new OutputCache(dir, { mode: "off" });
    assert.equal(await off.get("k", CORE_STORAGE), undefined);
    await off.put("other", "x");
    await assert.rejects(Deno.stat(off.path("other")), Deno.errors.NotFound);
    assert.throws(() => new OutputCache(dir, { mode: "skip" as CacheMode }), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated or flipped checkpoint loads as undefined, a whole one as its value", async () => {
  const root = await Deno.makeTempDir();
  const { warnings, restore } = quietWarnings();
  try {
    const task = new Provider().local().task(function step(): number {
      return 1;
    });
    const checkpoints = new Checkpoints("run-1", root);
    await checkpoints.save("step", task, { rows: [1, 2, 3] });
    assert.deepEqual(await checkpoints.load("step", task), { value: { rows: [1, 2, 3] } });
    const bytes = await Deno.readFile(checkpoints.path("step"));
    await Deno.writeFile(checkpoints.path("step"), bytes.subarray(0, bytes.length - 5));
    assert.equal(await checkpoints.load("step", task), undefined);
    bytes[50] ^= 0x80;
    await Deno.writeFile(checkpoints.path("step"), bytes);
    assert.equal(await new Checkpoints("run-1", root).load("step", task), undefined);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.every((w) => w.includes(checkpoints.path("step"))), warnings.join("\n"));
    assert.equal(await checkpoints.load("never-saved", task), undefined);
  } finally {
    restore();
    await Deno.remove(root, { recursive: true });
  }
});
