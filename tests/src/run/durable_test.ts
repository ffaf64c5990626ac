// Runs that never lose work: every call's state is journaled and every
// finished output checkpointed as it ends, so a run stopped by SIGINT or
// SIGTERM, or killed outright, resumes with only the unfinished calls; the
// run's report says how it ended; params a report cannot keep are refused
// before anything runs. The runs are real processes sent real signals.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pipeline, Provider } from "../../../mod.ts";
import { readJournal } from "../../../src/run/journal.ts";
import {
  exists,
  firstRuns,
  project,
  reports,
  resume,
  spawnWith,
  stopMidRun,
  until,
} from "../../support/durable_run.ts";

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

Deno.test("one SIGTERM stops every run going in the process: each writes its report, then the process exits 143", async () => {
  await using p = await project();
  const dir = JSON.stringify(p.dir);
  const child = spawnWith(
    p,
    `const options = { params: { dir: ${dir} }, quiet: true, concurrent: true };
     await Promise.allSettled([fx.durable.run(options), fx.durable.run(options)]);
     console.log("both returned"); // never printed: the process exits once both reports are written`,
  );
  await until("both runs' slow calls to start", async () => {
    const ids = (await reports(p).catch(() => [])).map((r) => r.runId);
    const journals = await Promise.all(ids.map((id) => readJournal(p.runs, id)));
    return journals.length === 2 && journals.every((j) => j.get("slow")?.status === "running");
  });
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 143, new TextDecoder().decode(out.stderr));
  assert.doesNotMatch(new TextDecoder().decode(out.stdout), /both returned/);
  assert.deepEqual((await reports(p)).map((r) => r.status), ["interrupted", "interrupted"]);
});

Deno.test("a process whose runs are over dies of SIGTERM as it would without Glacier", async () => {
  await using p = await project();
  await Deno.writeTextFile(join(p.dir, "go"), "");
  const child = spawnWith(
    p,
    `await fx.durable.run({ params: { dir: ${JSON.stringify(p.dir)} }, quiet: true });
     console.log("ran");
     setInterval(() => {}, 1000); // a process that goes on with other work`,
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "ran");
  child.kill("SIGTERM");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  assert.equal(status.signal, "SIGTERM", "killed by the signal: no listener of Glacier's is left");
  assert.equal((await reports(p))[0].status, "succeeded");
});

Deno.test("a second run of a pipeline is refused while the first one's process lives; a killed run's lock is taken over", async () => {
  await using p = await project();
  const child = spawnWith(
    p,
    `await fx.durable.run({ params: { dir: ${JSON.stringify(p.dir)} }, quiet: true });`,
  );
  await until("slow to start", () => exists(join(p.dir, "slow-started")));
  const second = await spawnWith(
    p,
    `try { await fx.durable.run({ params: { dir: "elsewhere" }, quiet: true }); } catch (e) { console.log(e.code + " " + e.message); }`,
  ).output();
  const refused = new TextDecoder().decode(second.stdout);
  assert.match(
    refused,
    /^USER:RUN_IN_PROGRESS Pipeline "durable" is already running in this project \(run durable-\S+, process \d+/,
  );
  assert.match(refused, /concurrent: true/);
  child.kill("SIGKILL");
  await child.output();
  assert.ok(await exists(join(p.runs, "durable.lock")), "a killed run leaves its lock");
  const after = await resume(p);
  assert.equal(after.code, 0, after.stderr);
  assert.ok(!(await exists(join(p.runs, "durable.lock"))), "the run that took the stale lock over let it go");
});

Deno.test("a task changed since its checkpoint runs again on resume, and the run says so", async () => {
  await using p = await project();
  const stopped = await stopMidRun(p, "SIGTERM");
  assert.equal(stopped.code, 143, stopped.stderr);
  const tasks = join(p.cwd, "tasks.ts");
  await Deno.writeTextFile(tasks, (await Deno.readTextFile(tasks)).replace("return 21;", "return 20 + 1;"));
  const resumed = await resume(p);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout), 42);
  assert.match(resumed.stderr, /task "first" changed since its checkpoint was written: it runs again/);
  assert.equal(await firstRuns(p), 2, "the changed task ran again");
});

Deno.test("a call whose bucket input changed since its checkpoint runs again on resume; an unchanged one is restored", async () => {
  await using p = await project();
  await Deno.mkdir(join(p.cwd, "data", "inputs"), { recursive: true });
  const input = join(p.cwd, "data", "inputs", "n.txt");
  await Deno.writeTextFile(input, "20");
  const code = `
import { type Bucket, pipeline, Provider } from ${
    JSON.stringify(new URL("../../../mod.ts", import.meta.url).href)
  };
const provider = new Provider();
const local = provider.local();
const src = provider.bucket({ bucket: "inputs", path: "n.txt" });
const readN = local.task(async function readN(b: Bucket): Promise<number> {
  await Deno.writeTextFile(${JSON.stringify(p.dir)} + "/first-" + crypto.randomUUID(), "");
  return Number(new TextDecoder().decode(await b.read()));
});
const add = local.task(async function add(n: number): Promise<number> {
  await Deno.stat(${JSON.stringify(p.dir)} + "/go"); // fails until the test allows it
  return n + 1;
});
const p = pipeline({ name: "inputs" }, () => add(readN(src)));
const resume = Deno.args.length > 0;
try {
  console.log(JSON.stringify(await p.run({ quiet: true, resume })));
} catch (e) {
  console.log("failed");
  console.error(String(e));
}
`;
  const runOnce = async (resume: boolean) => {
    const file = join(p.cwd, "inputs.ts");
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        new URL("../../../deno.json", import.meta.url).pathname,
        file,
        ...(resume ? ["resume"] : []),
      ],
      cwd: p.cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      stdout: new TextDecoder().decode(out.stdout).trim(),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const failed = await runOnce(false);
  assert.equal(failed.stdout, "failed", failed.stderr);
  assert.equal(await firstRuns(p), 1);
  assert.equal((await runOnce(true)).stdout, "failed");
  assert.equal(await firstRuns(p), 1, "an unchanged input: the reader is restored");
  await Deno.writeTextFile(input, "41");
  await Deno.writeTextFile(join(p.dir, "go"), "");
  const resumed = await runOnce(true);
  assert.equal(resumed.stdout, "42", resumed.stderr);
  assert.equal(await firstRuns(p), 2, "a changed input: the reader ran again");
  assert.match(resumed.stderr, /the objects task "readN" was given changed since its checkpoint was written/);
});

Deno.test("a table lent by transfer to its only consumer is checkpointed before its buffers go", async () => {
  const fx = await import("../../fixtures/lent_tasks.ts");
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  try {
    assert.equal(await fx.lent.run({ quiet: true, workers: 2 }), 249750);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings.filter((w) => w.includes("no checkpoint")), []);
  const report = fx.lent.lastRun!;
  const journal = await readJournal(
    join(new URL("../../fixtures/", import.meta.url).pathname, "..", "..", ".glacier", "runs"),
    report.runId,
  );
  assert.ok(journal.get("make")?.inline ?? journal.get("make")?.checkpoint, "make's output was checkpointed");
});

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
