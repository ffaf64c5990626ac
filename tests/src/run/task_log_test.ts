// Task logs: what a call prints through console is kept per call and
// attempt in .glacier/logs/<runId>/, wherever the call ran (this process, a
// pool worker, a narrowed subprocess), still shows on this process's streams,
// and a failed call's last lines come with its error.
import assert from "node:assert/strict";
import { join } from "node:path";
import { TaskError } from "../../../mod.ts";
import { glacierDir } from "../../../src/_project.ts";
import type { RunReport } from "../../../src/run/report.ts";
import { logName, TaskLogs, withTaskLog } from "../../../src/run/task_log.ts";
import * as fx from "../../fixtures/logging_tasks.ts";
import { glacier } from "../../support/cli.ts";

const GLACIER = glacierDir(new URL("../../fixtures/logging_tasks.ts", import.meta.url).href);

function logOf(report: RunReport, id: string): { files: string[]; text: string } {
  const task = report.tasks.find((t) => t.id === id);
  assert.ok(task, `no call ${id} in the report`);
  const files = task.logs ?? [];
  return { files, text: files.map((f) => Deno.readTextFileSync(join(GLACIER, f))).join("") };
}

for (const workers of [0, 2]) {
  Deno.test(`workers: ${workers}: each call's console output is in its own log file, the subprocess's too`, async () => {
    await fx.logging.run({ workers, quiet: true });
    const report = fx.logging.lastRun!;
    const a = logOf(report, "chatty");
    const b = logOf(report, "chatty#2");
    assert.deepEqual(a.files, [`logs/${report.runId}/chatty.1.log`]);
    assert.equal(
      a.text,
      "a line 0\na line 1\na line 2\na line 3\na line 4\na warns { rows: 5 }\n",
      "in order, formatted as console formats them, nothing of the sibling's",
    );
    assert.match(b.text, /^b line 0\n(b line \d\n){6}b warns \{ rows: 7 \}\n$/);
    const c = logOf(report, "narrowedChatty");
    assert.match(c.text, /c from a subprocess\n/);
    assert.match(c.text, /c on stderr\n/);
  });
}

Deno.test("every call on one worker has its log, not only the worker's first", async () => {
  await fx.oneWorker.run({ workers: 1, quiet: true });
  const report = fx.oneWorker.lastRun!;
  assert.equal(logOf(report, "chatty").text, "a line 0\na line 1\na warns { rows: 2 }\n");
  assert.equal(logOf(report, "second").text, "second got 2\n");
});

Deno.test("each attempt has its own log; a failed call's error and report carry its last lines", async () => {
  const marker = await Deno.makeTempFile();
  try {
    assert.equal(await fx.retried.run({ params: { marker }, quiet: true, workers: 1 }), "ok");
    const report = fx.retried.lastRun!;
    const log = logOf(report, "flaky");
    assert.equal(log.files.length, 2);
    assert.equal(Deno.readTextFileSync(join(GLACIER, log.files[0])), "attempt one starts\n");
    assert.equal(Deno.readTextFileSync(join(GLACIER, log.files[1])), "attempt two starts\n");
  } finally {
    await Deno.remove(marker);
  }
  const error = await fx.failed.run({ quiet: true, workers: 1 }).catch((e) => e);
  assert.ok(error instanceof TaskError);
  assert.match(error.message, /no rows/);
  assert.match(error.message, /the last lines it printed \(.*failing\.1\.log\):\n {4}progress 11\n/);
  assert.match(error.message, /about to fail: the input has no rows$/);
  const failed = fx.failed.lastRun!.tasks[0];
  assert.equal(failed.error?.logTail?.length, 20);
  assert.equal(failed.error?.logTail?.at(-1), "about to fail: the input has no rows");
  assert.doesNotMatch(
    failed.error!.message,
    /last lines/,
    "the report keeps the message and the lines apart",
  );
});

Deno.test("what a task prints still reaches the process's stdout and stderr, quiet or not", async () => {
  const script = `import * as fx from ${
    JSON.stringify(new URL("../../fixtures/logging_tasks.ts", import.meta.url).href)
  };
    await fx.logging.run({ quiet: true, workers: 1 });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../../deno.json", import.meta.url).pathname, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.match(stdout, /a line 4\n/);
  assert.match(stdout, /c from a subprocess\n/);
  assert.match(stderr, /b warns \{ rows: 7 \}\n/);
  assert.match(stderr, /c on stderr\n/);
});

Deno.test("console output outside a task call is left alone, and scopes do not mix across awaits", async () => {
  const got: Record<string, string[]> = { x: [], y: [] };
  const call = (name: "x" | "y") =>
    withTaskLog((_stream, text) => got[name].push(text), async () => {
      console.log(`${name} before`);
      await new Promise((resolve) => setTimeout(resolve, name === "x" ? 5 : 1));
      console.info(`${name} after`);
    });
  await Promise.all([call("x"), call("y")]);
  assert.deepEqual(got, { x: ["x before\n", "x after\n"], y: ["y before\n", "y after\n"] });
});

Deno.test("log file names keep call ids apart and the files are appended as lines come", async () => {
  assert.equal(logName("clean", 1), "clean.1.log");
  assert.equal(logName("load#2", 3), "load%232.3.log");
  assert.notEqual(logName("a/b", 1), logName("a%2Fb", 1));
  const glacier = await Deno.makeTempDir();
  try {
    const echoed: string[] = [];
    const logs = new TaskLogs(glacier, "r1", (_s, text) => echoed.push(text));
    const sink = logs.sink("x", 1);
    sink("stdout", "one\n");
    sink("stderr", "two\nthree\n");
    await logs.close();
    assert.equal(await Deno.readTextFile(join(glacier, "logs", "r1", "x.1.log")), "one\ntwo\nthree\n");
    assert.deepEqual(logs.tail("x", 1), ["one", "two", "three"]);
    assert.deepEqual(echoed, ["one\n", "two\nthree\n"]);
    sink("stdout", "four\n");
    await logs.close();
    assert.equal(await Deno.readTextFile(join(glacier, "logs", "r1", "x.1.log")), "one\ntwo\nthree\nfour\n");
  } finally {
    await Deno.remove(glacier, { recursive: true });
  }
});

Deno.test("glacier run shows a failed call's last lines; glacier logs lists a run's calls and prints one call's log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "deno.json"), "{}");
    await Deno.writeTextFile(
      join(dir, "p.ts"),
      `import { pipeline, Provider } from ${JSON.stringify(new URL("../../../mod.ts", import.meta.url).href)};
const local = new Provider().local();
const say = local.task(function say(n: number) {
  console.log("hello", n);
  if (n === 2) throw new Error("bad n");
  return n;
});
export const p = pipeline({ name: "p" }, () => [say(1), say(2)]);
`,
    );
    const run = await glacier(["run", "p.ts", "--quiet"], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /bad n\n {2}the last lines it printed \(.*say%232\.1\.log\):\n {4}hello 2\n/);
    const list = await glacier(["logs"], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^run p-\S+ of "p": failed\n/);
    assert.match(
      list.stdout,
      /\n {2}say\s+done\s+\S+say\.1\.log\n {2}say#2\s+failed\s+\S+say%232\.1\.log\n$/,
    );
    const one = await glacier(["logs", dir, "--task", "say#2"]);
    assert.equal(one.stdout, "hello 2\n");
    const runId = list.stdout.match(/^run (\S+)/)![1];
    const positional = await glacier(["logs", runId, "say"], { cwd: dir });
    assert.equal(positional.stdout, "hello 1\n", positional.stderr);
    const json = JSON.parse((await glacier(["logs", "--json"], { cwd: dir })).stdout);
    assert.deepEqual(json.tasks.map((t: { logs: { text: string }[] }) => t.logs[0].text), [
      "hello 1\n",
      "hello 2\n",
    ]);
    const missing = await glacier(["logs", "--task", "nope"], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no call "nope"; its calls: say, say#2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
