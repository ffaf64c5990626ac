// The Databricks executor end to end: cloud runs against the Jobs API
// emulator, which runs the real launcher with Deno in subprocesses, with
// every payload staged through s3rver.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { DatabricksExecutor } from "../../../executors/databricks/executor.ts";
import { TaskError } from "../../../mod.ts";
import { Staging, type TaskInvocation } from "../../../extend.ts";
import { closeS3Stores } from "../../../stores/s3.ts";
import { type DatabricksEmulator, startDatabricksEmulator } from "../../support/databricks_emulator.ts";
import { type S3rverHandle, startS3rver, useS3rverEnv } from "../../support/s3rver.ts";
import { dbxPipeline, score } from "./fixtures/dbx_pipeline.ts";
import { waitForFile } from "../../support/gate.ts";

const TOKEN = `dapi-glacier-secret-${crypto.randomUUID()}`;
const CRASH = new URL("./fixtures/crash_launcher.ts", import.meta.url).pathname;

function executor(
  host: string,
  runId: string,
  overrides: Partial<ConstructorParameters<typeof DatabricksExecutor>[0]> = {},
) {
  const provider = score.resource.providerConfig!;
  return new DatabricksExecutor({
    pipeline: "dbx_test",
    runId,
    resource: score.resource,
    provider,
    staging: Staging.fromUri("s3://glacier-staging/dbx", provider, runId, score.resource.storage),
    syncCode: false,
    host,
    token: TOKEN,
    pollInterval: 20,
    maxPollInterval: 200,
    ...overrides,
  });
}

function invocation(args: unknown[], signal = new AbortController().signal): TaskInvocation {
  return { pipeline: "dbx_test", runId: "direct", nodeId: "score", task: score, args, attempt: 1, signal };
}

Deno.test({
  name: "Databricks executor runs cloud-mode tasks as Jobs API runs on the emulator",
  // The emulator's subprocesses are awaited and the servers stopped in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const s3: S3rverHandle = await startS3rver({ buckets: ["glacier-staging"] });
    const restoreS3 = useS3rverEnv(s3.endpoint);
    const emulator: DatabricksEmulator = await startDatabricksEmulator({ token: TOKEN });
    const old = { host: Deno.env.get("DATABRICKS_HOST"), token: Deno.env.get("DATABRICKS_TOKEN") };
    Deno.env.set("DATABRICKS_HOST", emulator.host);
    Deno.env.set("DATABRICKS_TOKEN", TOKEN);
    const seen: string[] = []; // every error and report, checked for the token at the end
    try {
      await t.step("a cloud run sends the Databricks task to a one-time run on the cluster", async () => {
        const before = emulator.runs.size;
        assert.equal(await dbxPipeline.run({ mode: "cloud", params: { rows: 10 }, quiet: true }), 90);
        const report = dbxPipeline.lastRun!;
        seen.push(JSON.stringify(report));
        const byId = Object.fromEntries(report.tasks.map((task) => [task.id, task]));
        assert.deepEqual(
          [byId.make, byId.score, byId.total].map((r) => [r.executor, r.ranOn, r.status]),
          [["local", "worker", "done"], ["databricks", "databricks", "done"], ["local", "worker", "done"]],
        );
        assert.equal(emulator.runs.size, before + 1);
        const run = [...emulator.runs.values()].at(-1)!;
        const task = (run.body.tasks as Record<string, unknown>[])[0];
        assert.equal(task.existing_cluster_id, "0101-123456-glacier1");
        const params = (task.spark_python_task as { python_file: string; parameters: string[] }).parameters;
        assert.match(params[2], /^s3:\/\/glacier-staging\/dbx\/runs\/.+\/score\/1\/payload\.json$/);
        assert.match(params[3], /^s3:\/\/glacier-staging\/dbx\/runs\/.+\/score\/1\/result\.json$/);
        assert.equal(run.exited, true);
      });

      await t.step(
        "a task that throws on the cluster fails with the remote type, message and stack",
        async () => {
          const error = await dbxPipeline.run({ mode: "cloud", params: { fail: true }, quiet: true }).then(
            () => assert.fail("the run should fail"),
            (e) => e,
          );
          seen.push(String(error.stack), JSON.stringify(dbxPipeline.lastRun));
          assert.ok(error instanceof TaskError, String(error));
          assert.equal(error.task, "score");
          assert.equal(error.code, "USER:TASK_FAILED");
          assert.equal(error.attempt, 2, "retried once, as the task's retries say");
          assert.match(
            error.message,
            /RangeError: score was told to fail on 10 rows \(on Databricks run \d+/,
          );
          assert.equal((error.cause as Error).name, "RangeError");
          assert.match(error.stack!, /Remote stack[^]*at score \(file:\/\/\/.*dbx_pipeline\.ts/);
        },
      );

      await t.step(
        "a run that dies without a result fails with runs/get-output's error and error_trace",
        async () => {
          const crashing = await startDatabricksEmulator({ token: TOKEN, launcher: CRASH });
          try {
            const error = await executor(crashing.host, "crash").execute(
              invocation([tableFromArrays({ x: [1] }), false, ""]),
            )
              .then(() => assert.fail("the run should fail"), (e) => e);
            seen.push(String(error.stack));
            assert.ok(error instanceof TaskError, String(error));
            assert.equal(error.code, "USER:TASK_FAILED");
            assert.match(error.message, /TypeError: the cluster ran out of disk \(on Databricks run \d+/);
            assert.equal((error.cause as Error).name, "TypeError");
            assert.match(
              error.stack!,
              /Remote stack[^]*at crash \(file:\/\/\/databricks\/driver\/crash\.py:3:7\)/,
            );
          } finally {
            await crashing.stop();
          }
        },
      );

      await t.step("an attempt that times out cancels its run and the launcher is killed", async () => {
        const gate = join(await Deno.makeTempDir(), "gate");
        const controller = new AbortController();
        const running = executor(emulator.host, "cancel").execute(
          invocation([tableFromArrays({ x: [1, 2] }), false, gate], controller.signal),
        );
        const taskPid = Number(await waitForFile(`${gate}.started`));
        const run = [...emulator.runs.values()].at(-1)!;
        assert.equal(run.lifeCycleState, "RUNNING");
        controller.abort(new DOMException("attempt timed out", "TimeoutError"));
        await assert.rejects(running, (e: Error) => e.name === "TimeoutError");
        assert.deepEqual(emulator.cancels.at(-1), run.runId);
        assert.equal(run.resultState, "CANCELED");
        assert.equal(run.exited, true, "the launcher subprocess was killed and reaped");
        assert.equal(existsSync(`/proc/${taskPid}`), false, `process ${taskPid} is gone`);
      });

      await t.step("status polls back off: the gaps between runs/get calls grow", async () => {
        const slow = await startDatabricksEmulator({ token: TOKEN, pendingPolls: 5 });
        try {
          const out = await executor(slow.host, "backoff", { pollInterval: 40, maxPollInterval: 2000 })
            .execute(invocation([tableFromArrays({ x: [1, 2, 3] }), false, ""]));
          assert.deepEqual([
            ...(out as { getChild(n: string): { toArray(): Float64Array } }).getChild("x").toArray(),
          ], [2, 4, 6]);
          const polls = [...slow.runs.values()][0].polls;
          assert.ok(polls.length >= 6, `polled ${polls.length} times`);
          const gaps = polls.slice(1).map((p, i) => p - polls[i]);
          // The waits are 64, 102, 164, … ms after the first 40: each gap is at least its wait.
          [64, 102, 164, 262].slice(0, gaps.length).forEach((wait, i) =>
            assert.ok(gaps[i] >= wait - 2, `gap ${i} is ${gaps[i]} ms, under its ${wait} ms wait: ${gaps}`)
          );
          assert.ok(gaps[3] > gaps[0], `gaps grow: ${gaps}`);
        } finally {
          await slow.stop();
        }
      });

      await t.step(
        "a 50 MB table crosses local → Databricks → local through staging, removed after success",
        async () => {
          const rows = 6_553_600; // 50 MiB of float64
          const result = await dbxPipeline.run({ mode: "cloud", params: { rows }, quiet: true });
          assert.equal(result, rows * (rows - 1));
          const runId = dbxPipeline.lastRun!.runId;
          seen.push(JSON.stringify(dbxPipeline.lastRun));
          const created = s3.events.filter((e) =>
            e.startsWith("ObjectCreated") && e.includes(`/runs/${runId}/`)
          );
          assert.ok(created.some((e) => e.includes("/score/1/in-")), `input staged: ${created}`);
          assert.ok(created.some((e) => e.includes("/score/1/out-")), `output staged: ${created}`);
          const left = await Array.fromAsync(Deno.readDir(join(s3.directory, "glacier-staging")))
            .catch(() => []);
          const keys = (await listKeys(s3.directory)).filter((k) => k.includes(runId));
          assert.deepEqual(keys, [], `staged objects removed (${left.length} entries at the top)`);
        },
      );

      await t.step("a wrong token is refused as an auth error that never shows a token", async () => {
        const error = await executor(emulator.host, "auth", { token: "dapi-wrong-token-value" })
          .execute(invocation([1, false, ""])).then(() => assert.fail("should be refused"), (e) => e);
        seen.push(String(error.stack));
        assert.equal(error.code, "USER:DATABRICKS_AUTH");
        assert.equal(error.retryable, false);
        assert.match(error.message, /check DATABRICKS_TOKEN/);
        assert.doesNotMatch(error.message, /dapi-wrong-token-value/);
      });

      await t.step("the token is in no report, error, staged payload or launcher output", async () => {
        for (const run of emulator.runs.values()) seen.push(JSON.stringify(run.body), run.stderr);
        for await (const entry of Deno.readDir(join(".glacier", "runs"))) {
          if (entry.name.endsWith(".json")) {
            seen.push(await Deno.readTextFile(join(".glacier", "runs", entry.name)));
          }
        }
        const leaks = seen.filter((text) => text.includes(TOKEN));
        assert.equal(leaks.length, 0, `the token leaked into: ${leaks.map((l) => l.slice(0, 200))}`);
        assert.ok(
          emulator.requests.some((r) => r.includes(TOKEN)),
          "the check can fail: requests do carry it",
        );
      });
    } finally {
      closeS3Stores();
      await emulator.stop();
      await s3.stop();
      restoreS3();
      for (const [k, v] of [["DATABRICKS_HOST", old.host], ["DATABRICKS_TOKEN", old.token]] as const) {
        v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    }
  },
});

async function listKeys(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  await walk(dir, "").catch(() => {});
  return out;
}
