// Runs that never lose work: every call's state is journaled and every
// finished output checkpointed as it ends, so a run stopped by SIGINT or
// SIGTERM, or killed outright, resumes with only the unfinished calls; the
// run's report says how it ended; params a report cannot keep are refused
// before anything runs. The runs are real processes sent real signals.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pipeline, Provider } from "../../../mod.ts";
import { readJournal } from "../../../src/run/journal.ts";

const FIXTURE = new URL("../../fixtures/durable_tasks.ts", import.meta.url);
const MOD = new URL("../../../mod.ts", import.meta.url).href;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

interface Project {
  cwd: string;
  dir: string;
  runs: string;
  [Symbol.asyncDispose](): Promise<void>;
}

// A temp project holding the fixture (so its .glacier/ is there) and a data folder.
async function project(): Promise<Project> {
  const cwd = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(cwd, "tasks.ts"),
    (await Deno.readTextFile(FIXTURE)).replace('"../../mod.ts"', JSON.stringify(MOD)),
  );
  return {
    cwd,
    dir,
    runs: join(cwd, ".glacier", "runs"),
    async [Symbol.asyncDispose]() {
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function spawnWith(p: Project, code: string): Deno.ChildProcess {
  const file = join(p.cwd, `run-${crypto.randomUUID()}.ts`);
  Deno.writeTextFileSync(file, `import * as fx from "./tasks.ts";\n${code}`);
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, file],
    cwd: p.cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function until(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function reports(
  p: Project,
): Promise<
  {
    runId: string;
    status: string;
    tasks: { id: string; status: string; restoredFrom?: string }[];
    params: unknown;
  }[]
> {
  const out = [];
  for await (const e of Deno.readDir(p.runs)) {
    if (e.name.endsWith(".json")) out.push(JSON.parse(await Deno.readTextFile(join(p.runs, e.name))));
  }
  return out.sort((a, b) => a.startedAt < b.startedAt ? -1 : 1);
}

async function firstRuns(p: Project): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(p.dir)) if (e.name.startsWith("first-")) n++;
  return n;
}

// Starts the pipeline, waits until `first` is checkpointed and `slow` runs, then signals.
async function stopMidRun(p: Project, signal: Deno.Signal): Promise<{ code: number; stderr: string }> {
  const child = spawnWith(p, `await fx.durable.run({ params: { dir: ${JSON.stringify(p.dir)} } });`);
  await until("slow to start and first to be checkpointed", async () => {
    if (!(await exists(join(p.dir, "slow-started"))) || !(await exists(p.runs))) return false;
    for await (const e of Deno.readDir(p.runs)) {
      if (!e.name.endsWith(".journal.jsonl")) continue;
      const journal = await readJournal(p.runs, e.name.replace(/\.journal\.jsonl$/, ""));
      if (journal.get("first")?.checkpoint) return true;
    }
    return false;
  });
  child.kill(signal);
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function resume(p: Project): Promise<{ code: number; stdout: string; stderr: string }> {
  await Deno.writeTextFile(join(p.dir, "go"), "");
  const out = await spawnWith(
    p,
    `console.log(JSON.stringify(await fx.durable.run({ resume: true, quiet: true })));`,
  )
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

for (const [signal, exitCode] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test(`${signal} stops a run cleanly: report interrupted, exit ${exitCode}, and resume runs only what did not finish`, async () => {
    await using p = await project();
    const stopped = await stopMidRun(p, signal);
    assert.equal(stopped.code, exitCode, stopped.stderr);
    assert.match(stopped.stderr, /resume/i);
    const [first] = await reports(p);
    assert.equal(first.status, "interrupted");
    assert.deepEqual(first.tasks.map((t) => [t.id, t.status]), [["first", "done"], ["slow", "interrupted"]]);
    const resumed = await resume(p);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout), 42);
    assert.equal(await firstRuns(p), 1, "the finished call was restored, not run again");
    const [, second] = await reports(p);
    assert.equal(second.status, "succeeded");
    assert.deepEqual(second.params, { dir: p.dir }, "resumed with the stopped run's params");
    assert.equal(second.tasks.find((t) => t.id === "first")?.restoredFrom, first.runId);
    assert.ok(
      !(await exists(join(p.cwd, ".glacier", "checkpoints", first.runId))),
      "checkpoints go once the chain succeeds",
    );
  });
}

Deno.test("SIGKILL loses only the running call: the killed run stays running in its report and resumes from its journal", async () => {
  await using p = await project();
  const killed = await stopMidRun(p, "SIGKILL");
  assert.notEqual(killed.code, 0);
  const [first] = await reports(p);
  assert.equal(first.status, "running", "nobody wrote an end: the report says it never ended");
  const resumed = await resume(p);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout), 42);
  assert.equal(await firstRuns(p), 1);
  const [, second] = await reports(p);
  assert.equal(second.tasks.find((t) => t.id === "first")?.restoredFrom, first.runId);
});

Deno.test("resume takes the latest run, never an older failure past a newer success, or the run named", async () => {
  await using p = await project();
  await Deno.writeTextFile(join(p.dir, "go"), "");
  const out = await spawnWith(
    p,
    `const dir = ${JSON.stringify(p.dir)};
     await fx.durable.run({ params: { dir }, quiet: true });
     try { await fx.durable.run({ resume: true, quiet: true }); } catch (e) { console.log(e.code + " " + e.message); }
     try { await fx.durable.run({ resume: "durable-no-such-run", quiet: true }); } catch (e) { console.log(e.code + " " + e.message); }`,
  ).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const [latest, named] = stdout.trim().split("\n");
  assert.match(latest, /^USER:NOTHING_TO_RESUME .*succeeded/);
  assert.match(named, /^USER:NOTHING_TO_RESUME .*durable-no-such-run/);
});

Deno.test("params a run's report cannot keep are refused before any task runs, naming the pipeline and the path", async () => {
  let ran = 0;
  const local = new Provider().local();
  const touch = local.task(function touch(_p: unknown) {
    ran++;
    return 1;
  });
  const p = pipeline({ name: "params_check" }, (params: Record<string, unknown>) => touch(params));
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n: 10n }, /params\.n is the BigInt 10n/],
    [cyclic, /params\.self is a cycle/],
    [{ when: new Date(0) }, /params\.when is a Date instance/],
    [{ list: [1, () => 2] }, /params\.list\[1\] is a function/],
    [{ x: NaN }, /params\.x is NaN/],
  ];
  for (const [params, message] of cases) {
    await assert.rejects(() => p.run({ params, workers: 0, quiet: true }), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /Pipeline "params_check"/);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(ran, 0);
});

Deno.test("a journal's torn last line (a process killed mid-write) is ignored, the lines before it stand", async () => {
  const runs = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(runs, "r.journal.jsonl"),
    '{"node":"a","status":"running","at":"x"}\n{"node":"a","status":"done","at":"y","checkpoint":"r"}\n{"node":"b","sta',
  );
  const journal = await readJournal(runs, "r");
  assert.deepEqual([...journal.keys()], ["a"]);
  assert.equal(journal.get("a")?.checkpoint, "r");
  assert.deepEqual(await readJournal(runs, "missing"), new Map());
  await Deno.remove(runs, { recursive: true });
});
