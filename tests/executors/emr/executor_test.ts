// The EMR executor end to end: cloud runs against the EMR emulator, which
// runs each command-runner.jar step (the real launcher with Deno) as a
// subprocess, with every payload staged through s3rver.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { EmrExecutor } from "../../../executors/emr/executor.ts";
import { TaskError } from "../../../mod.ts";
import { Staging, type TaskInvocation } from "../../../extend.ts";
import { closeS3Stores } from "../../../stores/s3.ts";
import { type EmrEmulator, startEmrEmulator } from "../../support/emr_emulator.ts";
import { type S3rverHandle, startS3rver, useS3rverEnv } from "../../support/s3rver.ts";
import { emrPipeline, score } from "./fixtures/emr_pipeline.ts";
import { waitForFile } from "../../support/gate.ts";

const LAUNCHER = new URL("../../../executors/cluster/launcher.ts", import.meta.url).pathname;
const CRASH = new URL("../databricks/fixtures/crash_launcher.ts", import.meta.url).pathname;

function executor(runId: string, overrides: Partial<ConstructorParameters<typeof EmrExecutor>[0]> = {}) {
  const provider = score.resource.providerConfig!;
  return new EmrExecutor({
    pipeline: "emr_test",
    runId,
    resource: score.resource,
    provider,
    staging: Staging.fromUri("s3://glacier-staging/emr", provider, runId, score.resource.storage),
    syncCode: false,
    launcher: LAUNCHER,
    pollInterval: 20,
    maxPollInterval: 200,
    ...overrides,
  });
}

function invocation(args: unknown[], signal = new AbortController().signal): TaskInvocation {
  return { pipeline: "emr_test", runId: "direct", nodeId: "score", task: score, args, attempt: 1, signal };
}

Deno.test({
  name: "EMR executor runs cloud-mode tasks as command-runner steps on the emulator",
  // The emulator's subprocesses are awaited and the servers stopped in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const s3: S3rverHandle = await startS3rver({ buckets: ["glacier-staging"] });
    const restoreS3 = useS3rverEnv(s3.endpoint);
    const emulator: EmrEmulator = await startEmrEmulator({ clusters: ["j-GLACIERTEST1"] });
    const old = {
      endpoint: Deno.env.get("AWS_ENDPOINT_URL_EMR"),
      launcher: Deno.env.get("GLACIER_EMR_LAUNCHER"),
    };
    Deno.env.set("AWS_ENDPOINT_URL_EMR", emulator.endpoint);
    Deno.env.set("GLACIER_EMR_LAUNCHER", LAUNCHER);
    try {
      await t.step("a cloud run adds a step that runs the launcher with the staged payload", async () => {
        assert.equal(await emrPipeline.run({ mode: "cloud", params: { rows: 10 }, quiet: true }), 90);
        const byId = Object.fromEntries(emrPipeline.lastRun!.tasks.map((task) => [task.id, task]));
        assert.deepEqual([byId.score.executor, byId.score.ranOn, byId.score.status], ["emr", "emr", "done"]);
        const step = [...emulator.steps.values()].at(-1)!;
        assert.deepEqual(step.args.slice(0, 4), ["deno", "run", "-A", LAUNCHER]);
        assert.match(step.args[4], /^s3:\/\/glacier-staging\/emr\/runs\/.+\/score\/1\/payload\.json$/);
        assert.equal(step.state, "COMPLETED");
      });

      await t.step("a task that throws in a step fails with the remote type, message and stack", async () => {
        const error = await emrPipeline.run({ mode: "cloud", params: { fail: true }, quiet: true }).then(
          () => assert.fail("the run should fail"),
          (e) => e,
        );
        assert.ok(error instanceof TaskError, String(error));
        assert.equal(error.code, "USER:TASK_FAILED");
        assert.equal(error.attempt, 2, "retried once, as the task's retries say");
        assert.match(
          error.message,
          /RangeError: score was told to fail on 10 rows \(on EMR step s-\w+ of cluster/,
        );
        assert.equal((error.cause as Error).name, "RangeError");
        assert.match(error.stack!, /Remote stack[^]*at score \(file:\/\/\/.*emr_pipeline\.ts/);
      });

      await t.step("a step that dies without a result fails with its FailureDetails", async () => {
        const error = await executor("crash", { launcher: CRASH })
          .execute(invocation([tableFromArrays({ x: [1] }), false, ""]))
          .then(() => assert.fail("the step should fail"), (e) => e);
        assert.ok(error instanceof TaskError, String(error));
        assert.match(error.message, /TypeError: the cluster ran out of disk \(on EMR step/);
        assert.match(error.stack!, /Remote stack[^]*log: s3:\/\/emr-logs\//);
      });

      await t.step("an attempt that times out cancels its step and the launcher is killed", async () => {
        const gate = join(await Deno.makeTempDir(), "gate");
        const controller = new AbortController();
        const running = executor("cancel").execute(
          invocation([tableFromArrays({ x: [1, 2] }), false, gate], controller.signal),
        );
        const taskPid = Number(await waitForFile(`${gate}.started`));
        const step = [...emulator.steps.values()].at(-1)!;
        assert.equal(step.state, "RUNNING");
        controller.abort(new DOMException("attempt timed out", "TimeoutError"));
        await assert.rejects(running, (e: Error) => e.name === "TimeoutError");
        assert.equal(emulator.cancels.at(-1), step.id);
        assert.equal(step.state, "CANCELLED");
        assert.equal(step.exited, true, "the step's subprocess was killed and reaped");
        assert.equal(existsSync(`/proc/${taskPid}`), false, `process ${taskPid} is gone`);
      });

      await t.step("status polls back off: the gaps between DescribeStep calls grow", async () => {
        const slow = await startEmrEmulator({ clusters: ["j-GLACIERTEST1"], pendingPolls: 5 });
        Deno.env.set("AWS_ENDPOINT_URL_EMR", slow.endpoint);
        try {
          await executor("backoff", { pollInterval: 40, maxPollInterval: 2000 })
            .execute(invocation([tableFromArrays({ x: [1, 2, 3] }), false, ""]));
          const polls = [...slow.steps.values()][0].polls;
          assert.ok(polls.length >= 6, `polled ${polls.length} times`);
          const gaps = polls.slice(1).map((p, i) => p - polls[i]);
          [64, 102, 164, 262].forEach((wait, i) =>
            assert.ok(gaps[i] >= wait - 2, `gap ${i} is ${gaps[i]} ms, under its ${wait} ms wait: ${gaps}`)
          );
          assert.ok(gaps[3] > gaps[0], `gaps grow: ${gaps}`);
        } finally {
          Deno.env.set("AWS_ENDPOINT_URL_EMR", emulator.endpoint);
          await slow.stop();
        }
      });

      await t.step("a 50 MB table crosses local → EMR → local through staging", async () => {
        const rows = 6_553_600; // 50 MiB of float64
        assert.equal(
          await emrPipeline.run({ mode: "cloud", params: { rows }, quiet: true }),
          rows * (rows - 1),
        );
        const runId = emrPipeline.lastRun!.runId;
        const created = s3.events.filter((e) =>
          e.startsWith("ObjectCreated") && e.includes(`/runs/${runId}/`)
        );
        assert.ok(created.some((e) => e.includes("/score/1/in-")), `input staged: ${created}`);
        assert.ok(created.some((e) => e.includes("/score/1/out-")), `output staged: ${created}`);
      });

      await t.step("an unknown cluster is a non-retryable request error naming it", async () => {
        const provider = score.resource.providerConfig!;
        const { EMRConfig, Provider } = await import("../../../mod.ts");
        const other = new Provider({ config: provider }).cluster({
          config: new EMRConfig({ clusterId: "j-NOSUCHCLUSTER" }),
        });
        const error = await executor("unknown", { resource: other })
          .execute(invocation([1, false, ""])).then(() => assert.fail("should be refused"), (e) => e);
        assert.equal(error.code, "USER:EMR_REQUEST");
        assert.equal(error.retryable, false);
        assert.match(error.message, /j-NOSUCHCLUSTER/);
      });
    } finally {
      closeS3Stores();
      await emulator.stop();
      await s3.stop();
      restoreS3();
      for (
        const [k, v] of [["AWS_ENDPOINT_URL_EMR", old.endpoint], [
          "GLACIER_EMR_LAUNCHER",
          old.launcher,
        ]] as const
      ) {
        v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    }
  },
});
