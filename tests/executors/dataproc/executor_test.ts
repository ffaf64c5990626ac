// The Dataproc executor end to end: cloud runs against the Dataproc jobs API
// emulator, whose PySpark drivers are real `python3` processes running the
// staged Python launcher, which runs the real cluster launcher with Deno;
// every payload is staged through the Cloud Storage JSON API test server.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { DataprocExecutor } from "../../../executors/dataproc/executor.ts";
import { TaskError } from "../../../mod.ts";
import { Staging, type TaskInvocation } from "../../../extend.ts";
import {
  type DataprocEmulator,
  groupMembers,
  startDataprocEmulator,
} from "../../support/dataproc_emulator.ts";
import { type GcsEmulator, startGcsEmulator, useGcsEmulatorEnv } from "../../support/gcs_emulator.ts";
import { dataprocPipeline, score } from "./fixtures/dataproc_pipeline.ts";
import { waitForFile } from "../../support/gate.ts";

const TOKEN = `ya29.glacier-secret-${crypto.randomUUID()}`;
const LAUNCHER = new URL("../../../executors/cluster/launcher.ts", import.meta.url).pathname;
const CRASH = new URL("../databricks/fixtures/crash_launcher.ts", import.meta.url).pathname;
const CLUSTER = { project: "glacier-test", region: "europe-west1", clusters: ["etl-cluster"] };

function executor(
  endpoint: string,
  runId: string,
  overrides: Partial<ConstructorParameters<typeof DataprocExecutor>[0]> = {},
) {
  const provider = score.resource.providerConfig!;
  return new DataprocExecutor({
    pipeline: "dataproc_test",
    runId,
    resource: score.resource,
    provider,
    staging: Staging.fromUri("gs://glacier-staging/dp", provider, runId, score.resource.storage),
    syncCode: false,
    endpoint,
    launcher: LAUNCHER,
    pollInterval: 20,
    maxPollInterval: 200,
    retryDelay: 10,
    ...overrides,
  });
}

function invocation(args: unknown[], signal = new AbortController().signal): TaskInvocation {
  return {
    pipeline: "dataproc_test",
    runId: "direct",
    nodeId: "score",
    task: score,
    args,
    attempt: 1,
    signal,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...(await filesUnder(join(dir, e.name))).map((f) => join(e.name, f)));
    else out.push(e.name);
  }
  return out;
}

const doubled = (
  out: unknown,
) => [...(out as { getChild(n: string): { toArray(): Float64Array } }).getChild("x").toArray()];

Deno.test({
  name: "Dataproc executor runs cloud-mode tasks as PySpark jobs on the emulator, staged through gs://",
  // The emulator's drivers are awaited and the servers stopped in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gcs: GcsEmulator = await startGcsEmulator({ buckets: ["glacier-staging"] });
    const restoreGcs = useGcsEmulatorEnv(gcs.host);
    const emulator: DataprocEmulator = await startDataprocEmulator({ token: TOKEN, ...CLUSTER });
    const names = ["GLACIER_DATAPROC_ENDPOINT", "GLACIER_DATAPROC_LAUNCHER", "GOOGLE_OAUTH_ACCESS_TOKEN"];
    const old = Object.fromEntries(names.map((k) => [k, Deno.env.get(k)]));
    Deno.env.set("GLACIER_DATAPROC_ENDPOINT", emulator.endpoint);
    Deno.env.set("GLACIER_DATAPROC_LAUNCHER", LAUNCHER);
    Deno.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN);
    const seen: string[] = []; // every error and report, checked for the token at the end
    try {
      await t.step("a cloud run sends the Dataproc task to a PySpark job on the cluster", async () => {
        assert.equal(await dataprocPipeline.run({ mode: "cloud", params: { rows: 10 }, quiet: true }), 90);
        const report = dataprocPipeline.lastRun!;
        seen.push(JSON.stringify(report));
        const byId = Object.fromEntries(report.tasks.map((task) => [task.id, task]));
        assert.deepEqual(
          [byId.make, byId.score, byId.total].map((r) => [r.executor, r.ranOn, r.status]),
          [["local", "worker", "done"], ["dataproc", "dataproc", "done"], ["local", "worker", "done"]],
        );
        assert.equal(emulator.jobs.size, 1);
        const job = [...emulator.jobs.values()][0];
        const body = job.body as {
          requestId: string;
          job: {
            placement: { clusterName: string };
            pysparkJob: { mainPythonFileUri: string; args: string[] };
          };
        };
        assert.match(body.requestId, /^[0-9a-f-]{36}$/);
        assert.equal(body.job.placement.clusterName, "etl-cluster");
        assert.equal(
          body.job.pysparkJob.mainPythonFileUri,
          "gs://glacier-staging/dp/scripts/glacier_dataproc_launcher.py",
        );
        const [launcher, payload, result] = body.job.pysparkJob.args;
        assert.equal(launcher, LAUNCHER);
        assert.match(payload, /^gs:\/\/glacier-staging\/dp\/runs\/.+\/score\/1\/payload\.json$/);
        assert.match(result, /^gs:\/\/glacier-staging\/dp\/runs\/.+\/score\/1\/result\.json$/);
        assert.equal(job.state, "DONE");
        assert.equal(job.exited, true);
        assert.ok(
          emulator.requests.some((r) =>
            r.startsWith("POST /v1/projects/glacier-test/regions/europe-west1/jobs:submit")
          ),
          "the project from GcpConfig, the region from GcpConfig when DataprocConfig has none",
        );
        assert.ok(gcs.events.includes("created glacier-staging/dp/scripts/glacier_dataproc_launcher.py"));
      });

      await t.step(
        "a task that throws on the cluster fails with the remote type, message and stack",
        async () => {
          const error = await dataprocPipeline.run({ mode: "cloud", params: { fail: true }, quiet: true })
            .then(
              () => assert.fail("the run should fail"),
              (e) => e,
            );
          seen.push(String(error.stack), JSON.stringify(dataprocPipeline.lastRun));
          assert.ok(error instanceof TaskError, String(error));
          assert.equal(error.task, "score");
          assert.equal(error.code, "USER:TASK_FAILED");
          assert.equal(error.attempt, 2, "retried once, as the task's retries say");
          assert.match(
            error.message,
            /RangeError: score was told to fail on 10 rows \(on Dataproc job glacier-/,
          );
          assert.equal((error.cause as Error).name, "RangeError");
          assert.match(error.stack!, /Remote stack[^]*at score \(file:\/\/\/.*dataproc_pipeline\.ts/);
        },
      );

      await t.step("a job that dies without a result fails with status.details", async () => {
        const error = await executor(emulator.endpoint, "crash", { launcher: CRASH })
          .execute(invocation([tableFromArrays({ x: [1] }), false, ""]))
          .then(() => assert.fail("the job should fail"), (e) => e);
        seen.push(String(error.stack));
        assert.ok(error instanceof TaskError, String(error));
        assert.equal(error.code, "USER:TASK_FAILED");
        assert.match(error.message, /TypeError: the cluster ran out of disk \(on Dataproc job /);
        assert.equal((error.cause as Error).name, "TypeError");
        assert.match(error.stack!, /Remote stack[^]*Job failed with message[^]*driver output: gs:\/\//);
      });

      await t.step(
        "an attempt that times out cancels its job and the driver and Deno are killed",
        async () => {
          const gate = join(await Deno.makeTempDir(), "gate");
          const controller = new AbortController();
          const running = executor(emulator.endpoint, "cancel").execute(
            invocation([tableFromArrays({ x: [1, 2] }), false, gate], controller.signal),
          );
          const taskPid = Number(await waitForFile(`${gate}.started`));
          const job = [...emulator.jobs.values()].at(-1)!;
          assert.equal(job.state, "RUNNING");
          controller.abort(new DOMException("attempt timed out", "TimeoutError"));
          await assert.rejects(running, (e: Error) => e.name === "TimeoutError");
          assert.equal(emulator.cancels.at(-1), job.jobId);
          assert.equal(job.state, "CANCELLED");
          assert.equal(job.exited, true, "the driver was killed and reaped");
          assert.ok(taskPid > 0 && taskPid !== job.pid, "the task ran in Deno under the Python driver");
          assert.deepEqual(groupMembers(job.pid!), [], "the driver and the task's Deno process are gone");
          assert.equal(existsSync(`/proc/${job.pid}`), false, `the Python driver ${job.pid} was reaped`);
        },
      );

      await t.step("status polls back off: the gaps between jobs.get calls grow", async () => {
        const slow = await startDataprocEmulator({ token: TOKEN, ...CLUSTER, pendingPolls: 5 });
        try {
          const out = await executor(slow.endpoint, "backoff", { pollInterval: 40, maxPollInterval: 2000 })
            .execute(invocation([tableFromArrays({ x: [1, 2, 3] }), false, ""]));
          assert.deepEqual(doubled(out), [2, 4, 6]);
          const polls = [...slow.jobs.values()][0].polls;
          assert.ok(polls.length >= 6, `polled ${polls.length} times`);
          const gaps = polls.slice(1).map((p, i) => p - polls[i]);
          // The waits are 64, 102, 164, … ms after the first 40: each gap is at least its wait.
          [64, 102, 164, 262].forEach((wait, i) =>
            assert.ok(gaps[i] >= wait - 2, `gap ${i} is ${gaps[i]} ms, under its ${wait} ms wait: ${gaps}`)
          );
        } finally {
          await slow.stop();
        }
      });

      await t.step(
        "5xx answers are retried: a retried submit creates the job once and polls recover",
        async () => {
          const before = emulator.jobs.size;
          const submits = () => emulator.requests.filter((r) => r.includes("jobs:submit"));
          const submitted = submits().length;
          emulator.inject({ endpoint: "jobs:submit", status: 503 });
          emulator.inject({ endpoint: "jobs.get", status: 500, times: 2 });
          const out = await executor(emulator.endpoint, "retry")
            .execute(invocation([tableFromArrays({ x: [5] }), false, ""]));
          assert.deepEqual(doubled(out), [10]);
          assert.equal(emulator.jobs.size, before + 1, "one job");
          const sent = submits().slice(submitted).map((r) => JSON.parse(r.slice(r.indexOf("{"))).requestId);
          assert.equal(sent.length, 2);
          assert.equal(sent[0], sent[1], "the retry carried the same requestId");

          emulator.inject({ endpoint: "jobs:submit", status: 503, times: 2 });
          const error = await executor(emulator.endpoint, "down", { maxAttempts: 2 })
            .execute(invocation([tableFromArrays({ x: [5] }), false, ""]))
            .then(() => assert.fail("should fail"), (e) => e);
          seen.push(String(error.stack));
          assert.equal(error.code, "SYSTEM:DATAPROC_SERVICE");
          assert.equal(error.retryable, true);
          assert.match(error.message, /jobs:submit with 503 after 2 attempts/);
        },
      );

      await t.step(
        "a 50 MB table crosses local → Dataproc → local through gs:// staging, removed after",
        async () => {
          const rows = 6_553_600; // 50 MiB of float64
          const result = await dataprocPipeline.run({ mode: "cloud", params: { rows }, quiet: true });
          assert.equal(result, rows * (rows - 1));
          const runId = dataprocPipeline.lastRun!.runId;
          seen.push(JSON.stringify(dataprocPipeline.lastRun));
          const created = gcs.events.filter((e) => e.startsWith("created") && e.includes(`/runs/${runId}/`));
          assert.ok(created.some((e) => e.includes("/score/1/in-")), `input staged: ${created}`);
          assert.ok(created.some((e) => e.includes("/score/1/out-")), `output staged: ${created}`);
          const left = (await filesUnder(gcs.directory)).filter((f) => decodeURIComponent(f).includes(runId));
          assert.deepEqual(left, [], "staged objects removed after success");
        },
      );

      await t.step("a wrong token and an unknown cluster are refused with advice", async () => {
        const auth = await executor(emulator.endpoint, "auth", { token: "ya29.wrong-token-value" })
          .execute(invocation([1, false, ""])).then(() => assert.fail("should be refused"), (e) => e);
        seen.push(String(auth.stack));
        assert.equal(auth.code, "USER:DATAPROC_AUTH");
        assert.equal(auth.retryable, false);
        assert.match(auth.message, /check GOOGLE_OAUTH_ACCESS_TOKEN/);
        assert.doesNotMatch(auth.message, /wrong-token-value/);

        const other = await startDataprocEmulator({ token: TOKEN, ...CLUSTER, clusters: ["another"] });
        try {
          const error = await executor(other.endpoint, "cluster").execute(invocation([1, false, ""]))
            .then(() => assert.fail("should be refused"), (e) => e);
          seen.push(String(error.stack));
          assert.equal(error.code, "USER:DATAPROC_REQUEST");
          assert.match(
            error.message,
            /404[^]*clusters\/etl-cluster[^]*DataprocConfig\(\{ cluster: "etl-cluster" \}\)/,
          );
        } finally {
          await other.stop();
        }
      });

      await t.step("the token is in no report, error, job body, staged object or driver output", async () => {
        for (const job of emulator.jobs.values()) seen.push(JSON.stringify(job.body), job.stderr);
        for (const file of await filesUnder(gcs.directory)) {
          seen.push(await Deno.readTextFile(join(gcs.directory, file)).catch(() => ""));
        }
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
      await emulator.stop();
      await gcs.stop();
      restoreGcs();
      for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  },
});
