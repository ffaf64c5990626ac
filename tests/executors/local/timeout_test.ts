import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openWorkerPool, TaskError } from "../../../mod.ts";
import * as fx from "../../fixtures/timeout_tasks.ts";

// This process's CPU seconds (user + system), from /proc/self/stat (Linux).
function cpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; 100 a second on Linux
}

// Cores this process used over about `ms` of wall time.
async function coresUsed(ms: number): Promise<number> {
  const cpu = cpuSeconds();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (cpuSeconds() - cpu) / ((performance.now() - start) / 1000);
}

function isTimeout(error: unknown): boolean {
  assert.ok(error instanceof TaskError);
  assert.equal(error.code, "USER:TASK_TIMEOUT");
  assert.equal(error.task, "spinForever");
  assert.match(error.message, /timed out after 300 ms; raise its "timeout" option/);
  return true;
}

Deno.test({
  name:
    "a CPU-bound task that times out on the pool fails with the timeout and its thread stops using the CPU",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const pool = openWorkerPool({ workers: 1 });
    try {
      await assert.rejects(() => fx.spinPipeline.run({ pool, quiet: true }), isTimeout);
      // A thread left spinning is a whole core; the margin is wide for a noisy machine.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const cores = await coresUsed(1000);
      assert.ok(cores < 0.5, `the process used ${cores.toFixed(2)} cores after the timeout`);
    } finally {
      await pool.close();
    }
  },
});

Deno.test("the worker that replaces a timed-out one runs the next call", async () => {
  const pool = openWorkerPool({ workers: 1 });
  try {
    await assert.rejects(() => fx.spinPipeline.run({ pool, quiet: true }), isTimeout);
    assert.equal(pool.size, 1);
    assert.equal(await fx.afterSpinPipeline.run({ pool, quiet: true }), "next ran");
    assert.equal(fx.afterSpinPipeline.lastRun!.tasks[0].ranOn, "worker");
  } finally {
    await pool.close();
  }
});

Deno.test("a script whose task times out exits on its own once it ends", async () => {
  const script = fileURLToPath(new URL("../../fixtures/timeout_script.ts", import.meta.url));
  const config = fileURLToPath(new URL("../../deno.test.json", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", config, script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<"hung">((resolve) => timer = setTimeout(() => resolve("hung"), 60_000));
  try {
    const ended = await Promise.race([child.output(), limit]);
    if (ended === "hung") {
      child.kill("SIGKILL");
      await child.output();
      assert.fail("the script was still running 60 s after it started: a worker thread kept it alive");
    }
    const stderr = new TextDecoder().decode(ended.stderr);
    assert.equal(ended.code, 0, stderr);
    assert.equal(new TextDecoder().decode(ended.stdout).trim(), "USER:TASK_TIMEOUT");
  } finally {
    clearTimeout(timer);
  }
});
