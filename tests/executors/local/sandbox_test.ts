import assert from "node:assert/strict";
import { join } from "node:path";
import { checkGrants, moduleFiles } from "../../../executors/local/_sandbox.ts";
import { openWorkerPool } from "../../../executors/local/pool.ts";
import { TaskError } from "../../../mod.ts";

async function tree(): Promise<{ dir: string; outside: string }> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const outside = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(outside, "secret.txt"), "secret");
  await Deno.mkdir(join(dir, "in", "deep", "deeper"), { recursive: true });
  await Deno.mkdir(join(dir, "out"));
  await Deno.writeTextFile(join(dir, "in", "a.txt"), "a");
  return { dir, outside };
}

Deno.test("checkGrants() finds a link deep in a granted folder that points outside, for read and for write", async () => {
  const { dir, outside } = await tree();
  await Deno.symlink(join(outside, "secret.txt"), join(dir, "in", "deep", "deeper", "link"));
  const read = await checkGrants({ read: [join(dir, "in")] });
  assert.deepEqual(read.escape, {
    access: "read",
    granted: join(dir, "in"),
    link: join(dir, "in", "deep", "deeper", "link"),
    target: join(outside, "secret.txt"),
  });
  // A write grant is checked against write grants only: the read grant of the target does not cover a write.
  await Deno.symlink(outside, join(dir, "out", "folder"));
  const write = await checkGrants({ read: [join(dir, "in"), outside], write: [join(dir, "out")] });
  assert.equal(write.escape?.access, "write");
  assert.equal(write.escape?.link, join(dir, "out", "folder"));
});

Deno.test("checkGrants() follows a dangling link to where a write through it would land", async () => {
  const { dir, outside } = await tree();
  await Deno.symlink(join(outside, "not-yet", "file.txt"), join(dir, "out", "dangling"));
  const checked = await checkGrants({ write: [join(dir, "out")] });
  assert.equal(checked.escape?.target, join(outside, "not-yet", "file.txt"));
});

Deno.test("checkGrants() accepts links that stay inside the grants, and grants a linked folder by its real path too", async () => {
  const { dir, outside } = await tree();
  await Deno.symlink(join(dir, "in", "a.txt"), join(dir, "in", "deep", "alias")); // inside the same grant
  await Deno.symlink(join(outside, "secret.txt"), join(dir, "in", "granted")); // its target granted too
  await Deno.symlink(join(dir, "in"), join(dir, "linked-in")); // the grant itself is a link
  const checked = await checkGrants({ read: [join(dir, "linked-in"), join(outside, "secret.txt")] });
  assert.equal(checked.escape, undefined);
  assert.deepEqual(checked.permissions?.read, [
    join(dir, "linked-in"),
    join(outside, "secret.txt"),
    join(dir, "in"),
  ]);
  assert.equal((await checkGrants("none")).permissions?.read, false);
  assert.equal((await checkGrants({ read: true })).permissions?.read, true);
});

Deno.test("moduleFiles() lists the local files a module imports, JSON included, and never a .env beside them", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(dir, "deno.json"), "{}");
  await Deno.writeTextFile(join(dir, ".env"), "SECRET=x");
  await Deno.writeTextFile(join(dir, "schema.json"), '{"a":1}');
  await Deno.mkdir(join(dir, "lib"));
  await Deno.writeTextFile(
    join(dir, "lib", "dep.ts"),
    'export { default as schema } from "../schema.json" with { type: "json" };',
  );
  await Deno.writeTextFile(
    join(dir, "main.ts"),
    'import { schema } from "./lib/dep.ts";\nexport const a = schema.a;',
  );
  const files = await moduleFiles(new URL(`file://${join(dir, "main.ts")}`).href);
  assert.deepEqual(files, [join(dir, "lib", "dep.ts"), join(dir, "main.ts"), join(dir, "schema.json")]);
});

Deno.test("moduleFiles() resolves a bare specifier the module's own project cannot with this process's import map", async () => {
  // The process runs with --config of another folder, whose import map names a local file;
  // the module's folder has no import map, so "deno info" there leaves the specifier unresolved.
  const config = await Deno.realPath(await Deno.makeTempDir());
  await Deno.mkdir(join(config, "lib"));
  await Deno.writeTextFile(join(config, "lib", "dep.ts"), "export const dep = 1;");
  await Deno.writeTextFile(join(config, "deno.json"), JSON.stringify({ imports: { "@lib/": "./lib/" } }));
  const dir = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(dir, "main.ts"), 'export { dep } from "@lib/dep.ts";');
  const sandbox = new URL("../../../executors/local/_sandbox.ts", import.meta.url).href;
  const script = join(dir, "list.ts");
  await Deno.writeTextFile(
    script,
    `const { moduleFiles } = await import(${JSON.stringify(sandbox)});
console.log(JSON.stringify(await moduleFiles(${
      JSON.stringify(new URL(`file://${join(dir, "main.ts")}`).href)
    })));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(config, "deno.json"), script],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const files = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(files, [join(config, "lib", "dep.ts"), join(dir, "main.ts")].sort());
});

Deno.test("a pool checks a permission set once: a fan-out over a linked folder fails every call with the same error", async () => {
  const { pipeline } = await import("../../../mod.ts");
  const { dir, outside } = await tree();
  await Deno.symlink(join(outside, "secret.txt"), join(dir, "in", "link"));
  const module = join(dir, "fan.ts");
  await Deno.writeTextFile(
    module,
    `import { Provider } from ${JSON.stringify(new URL("../../../mod.ts", import.meta.url).href)};
export const readIn = new Provider().local().task({ permissions: { read: [${
      JSON.stringify(join(dir, "in"))
    }] } },
  function readIn(name: string): Promise<string> { return Deno.readTextFile(${
      JSON.stringify(join(dir, "in"))
    } + "/" + name); });
`,
  );
  const { readIn } = await import(new URL(`file://${module}`).href);
  const fan = pipeline({ name: "sandbox_fan" }, () => ["a.txt", "link", "a.txt"].map((n) => readIn(n)));
  const pool = openWorkerPool({ workers: 1 });
  try {
    await assert.rejects(() => fan.run({ pool, quiet: true }), (e: Error) => {
      assert.ok(e instanceof TaskError);
      assert.match(e.message, /reaches outside it.*and 2 more failed/);
      return true;
    });
    const failed = fan.lastRun!.tasks.filter((t) => t.status === "failed");
    assert.equal(failed.length, 3); // the call that would read a.txt too: the set is refused, not the file
    for (const t of failed) {
      assert.equal(t.error?.code, "USER:PERMISSION_SYMLINK");
      assert.match(String(t.error?.message), /is a symbolic link to/);
    }
    // Fixing the link is seen by the next run on a fresh pool.
    await Deno.remove(join(dir, "in", "link"));
    const fresh = openWorkerPool({ workers: 1 });
    try {
      assert.deepEqual(
        await pipeline({ name: "sandbox_fan_fixed" }, () => ["a.txt"].map((n) => readIn(n))).run({
          pool: fresh,
          quiet: true,
        }),
        ["a"],
      );
    } finally {
      await fresh.close();
    }
  } finally {
    await pool.close();
  }
});
