import assert from "node:assert/strict";
import { join } from "node:path";
import { TaskError } from "../../../mod.ts";
import { openWorkerPool } from "../../../executors/local/pool.ts";
import { permissionFlags } from "../../../executors/local/_sandbox.ts";

const MOD = new URL("../../../mod.ts", import.meta.url).href;
const GLACIER_CONFIG = new URL("../../../deno.json", import.meta.url);

// A user's project: its own deno.json maps Glacier (by path, as a JSR import
// would) and has no "unstable" entry; its pipeline narrows both tasks to
// ./data, and one of them tries to write.
async function project(): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "glacier-narrowed-" }));
  const glacier = JSON.parse(await Deno.readTextFile(GLACIER_CONFIG));
  assert.ok(glacier.imports, "Glacier's deno.json lists its imports");
  await Deno.writeTextFile(
    join(dir, "deno.json"),
    JSON.stringify({ imports: { ...glacier.imports, glacier: MOD } }, null, 2),
  );
  await Deno.mkdir(join(dir, "data"));
  await Deno.writeTextFile(join(dir, "data", "in.txt"), "from data");
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    `import { pipeline, Provider } from "glacier";
const local = new Provider().local();
export const readData = local.task({ permissions: { read: ["./data"] } }, function readData(): Promise<string> {
  console.error("readData is running");
  return Deno.readTextFile("./data/in.txt");
});
export const writeData = local.task({ permissions: { read: ["./data"] } }, async function writeData(): Promise<string> {
  await Deno.writeTextFile("./data/out.txt", "x");
  return "written";
});
const read = pipeline({ name: "narrowed_read" }, () => readData());
const write = pipeline({ name: "narrowed_write" }, () => writeData());
if (import.meta.main) {
  const value = await read.run({ quiet: true });
  let error;
  try {
    await write.run({ quiet: true });
  } catch (e) {
    error = { name: e.name, code: e.code, task: e.task, message: e.message };
  }
  console.log(JSON.stringify({ value, ranOn: read.lastRun.tasks[0].ranOn, error }));
}
`,
  );
  return dir;
}

Deno.test("a narrowed task runs under a plain `deno run -A` whose deno.json has no unstable option, and a denied write fails naming the task and the permission", async () => {
  const dir = await project();
  try {
    const config = JSON.parse(await Deno.readTextFile(join(dir, "deno.json")));
    assert.equal(config.unstable, undefined);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "pipeline.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, /Unstable API/);
    assert.match(stderr, /readData is running/, "the task's stderr reaches the process's");
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.equal(result.value, "from data");
    assert.equal(result.ranOn, "worker");
    assert.equal(result.error.name, "TaskError");
    assert.equal(result.error.code, "USER:PERMISSION_DENIED");
    assert.equal(result.error.task, "writeData");
    assert.match(
      result.error.message,
      /^Task "writeData" of pipeline "narrowed_write" failed on attempt 1: its "permissions" option denies write access to ".*out\.txt": grant it in the task's options \(permissions: \{ write: \[".*out\.txt"\] \}\)/,
    );
    assert.doesNotMatch(result.error.message, /run again with/);
    await assert.rejects(() => Deno.stat(join(dir, "data", "out.txt")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a narrowed task takes and returns an Arrow table, and its timeout kills its subprocess", async () => {
  const { pipeline } = await import("../../../mod.ts");
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const module = join(dir, "tasks.ts");
  await Deno.writeTextFile(
    module,
    `import { Provider } from ${JSON.stringify(MOD)};
import { type Table, tableFromArrays } from "apache-arrow";
const local = new Provider().local();
export const double = local.task({ permissions: "none" }, function double(t: Table): Table {
  const x = t.getChild("x")!.toArray() as Float64Array;
  return tableFromArrays({ x: Float64Array.from(x, (v) => v * 2) });
});
export const spin = local.task({ permissions: "none", timeout: 300 }, function spin(): number {
  for (;;) { /* never returns */ }
});
`,
  );
  const tasks = await import(new URL(`file://${module}`).href);
  const { tableFromArrays } = await import("apache-arrow");
  const pool = openWorkerPool({ workers: 2, start: 0 });
  try {
    const doubled = pipeline(
      { name: "narrowed_table" },
      () => tasks.double(tableFromArrays({ x: Float64Array.from([1, 2, 3]) })),
    );
    const table = await doubled.run({ pool, quiet: true });
    assert.deepEqual([...table.getChild("x")!.toArray()], [2, 4, 6]);
    const spinning = pipeline({ name: "narrowed_timeout" }, () => tasks.spin());
    const started = performance.now();
    await assert.rejects(() => spinning.run({ pool, quiet: true }), (e: Error) => {
      assert.ok(e instanceof TaskError);
      assert.match(e.message, /timed out|timeout/i);
      return true;
    });
    // The loop never yields: only killing its process ends the call.
    assert.ok(performance.now() - started < 60_000);
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissionFlags() maps a permission set to stable deno run flags, adding what loading needs", () => {
  const loading = { read: ["/glacier/mod.ts"], import: ["jsr.io:443"], denyRead: ["/p/.env"] };
  assert.deepEqual(
    permissionFlags(
      { read: ["/data"], write: false, net: ["example.com:443"], env: true, sys: ["hostname"] },
      loading,
    ),
    [
      "--allow-read=/data,/glacier/mod.ts",
      "--allow-net=example.com:443",
      "--allow-env",
      "--allow-sys=hostname",
      "--allow-import=jsr.io:443",
      "--deny-read=/p/.env",
    ],
  );
  assert.deepEqual(permissionFlags({ read: true, import: true }, { read: [], import: [], denyRead: [] }), [
    "--allow-read",
    "--allow-import",
  ]);
  // Nothing remote to load and no import granted: Deno's default import hosts are denied too.
  assert.deepEqual(permissionFlags({}, { read: [], import: [], denyRead: [] }), ["--deny-import"]);
  // "inherit" is this process's state: the tests run with -A.
  assert.deepEqual(permissionFlags({ net: "inherit" }, { read: [], import: [], denyRead: [] }), [
    "--allow-net",
    "--deny-import",
  ]);
  assert.throws(() => permissionFlags({ read: ["/a,b"] }, loading), TypeError);
});
