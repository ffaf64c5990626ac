// The Lambda executor end to end: cloud runs against the local Lambda
// emulator (the real bootstrap and Deno runtime in subprocesses) with data
// staged through s3rver.
import assert from "node:assert/strict";
import { join } from "node:path";
import { GetFunctionCommand, UpdateFunctionCodeCommand } from "@aws-sdk/client-lambda";
import { zipSync } from "fflate";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { LAMBDA_ZIP_UPLOAD_CAP } from "../../../executors/lambda/executor.ts";
import { TaskError } from "../../../mod.ts";
import {
  type CloudFixture,
  createFunction,
  freePort,
  spawnEmulator,
  stagedKeys,
  startCloudFixture,
  waitForFile,
} from "./_cloud_fixture.ts";
import { lambdaPipeline } from "./fixtures/lambda_pipeline.ts";
import { polarsLambda } from "./fixtures/polars_lambda.ts";

Deno.test({
  name: "Lambda executor runs cloud-mode tasks on the emulator",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fx = await startCloudFixture();
    try {
      await t.step("a cloud run sends Lambda tasks to Lambda and local ones to the local pool", async () => {
        assert.equal(
          await lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, params: { rows: 10 }, quiet: true }),
          90,
        );
        const report = lambdaPipeline.lastRun!;
        assert.equal(report.mode, "cloud");
        const byId = Object.fromEntries(report.tasks.map((task) => [task.id, task]));
        assert.deepEqual(
          [byId.make, byId.scale, byId.total].map((r) => [r.executor, r.ranOn, r.status]),
          [["local", "worker", "done"], ["lambda", "lambda", "done"], ["local", "worker", "done"]],
        );
        const written = JSON.parse(await Deno.readTextFile(join(".glacier", "runs", `${report.runId}.json`)));
        assert.equal(written.tasks.find((r: { id: string }) => r.id === "scale").ranOn, "lambda");
        // The task's lines from the invocation's log tail, without Lambda's START/END/REPORT.
        assert.equal(
          await Deno.readTextFile(join(".glacier", byId.scale.logs![0])),
          "scale: doubling 10 rows\n",
        );
      });

      await t.step(
        "a task that throws on Lambda fails with the remote error type, message and stack",
        async () => {
          const error = await lambdaPipeline.run({
            mode: "cloud",
            wiring: fx.wiring,
            params: { fail: true },
            quiet: true,
          }).then(
            () => assert.fail("the run should fail"),
            (e) => e,
          );
          assert.ok(error instanceof TaskError, String(error));
          assert.equal(error.task, "scale");
          assert.equal(error.code, "USER:TASK_FAILED");
          assert.equal(error.attempt, 3, "retried twice, as the task's retries say");
          assert.match(error.message, /RangeError: scale was told to fail on 10 rows/);
          assert.equal((error.cause as Error).name, "RangeError");
          // The stack frames are the function's: its copy of the fixture module in the sandbox.
          assert.match(
            error.stack!,
            /Remote stack[^]*at scale \(file:\/\/\/.*\/app\/tests\/executors\/lambda\/fixtures\/lambda_pipeline\.ts/,
          );
          const failed = lambdaPipeline.lastRun!.tasks.find((r) => r.id === "scale")!;
          assert.deepEqual(failed.error?.logTail?.slice(0, 2), [
            "scale: doubling 10 rows",
            "scale: told to fail",
          ]);
          assert.ok(!failed.error?.logTail?.some((line) => /^(START|END|REPORT) RequestId/.test(line)));
        },
      );

      await t.step("a function throttled twice succeeds on the third attempt", async () => {
        const fn = fx.built.functionName;
        const before = fx.emulator.invocations.get(fn) ?? 0;
        fx.emulator.throttle(fn, 2);
        assert.equal(
          await lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, params: { rows: 4 }, quiet: true }),
          12,
        );
        const scale = lambdaPipeline.lastRun!.tasks.find((r) => r.id === "scale")!;
        assert.equal(scale.attempts, 3);
        assert.equal(scale.status, "done");
        assert.equal(fx.emulator.invocations.get(fn), before + 1, "throttled calls never reach a sandbox");
      });

      await t.step(
        "a 20 MB table crosses local → Lambda → local through staging, removed after success",
        async () => {
          const rows = 2_621_440; // 20 MiB of float64
          const result = await lambdaPipeline.run({
            mode: "cloud",
            wiring: fx.wiring,
            params: { rows },
            quiet: true,
          });
          assert.equal(result, rows * (rows - 1));
          const runId = lambdaPipeline.lastRun!.runId;
          const created = fx.s3.events.filter((e) =>
            e.startsWith("ObjectCreated") && e.includes(`/runs/${runId}/`)
          );
          assert.ok(created.some((e) => e.includes("/scale/1/in-")), `input staged: ${created}`);
          assert.ok(created.some((e) => e.includes("/scale/1/out-")), `output staged: ${created}`);
          assert.deepEqual((await stagedKeys(fx)).filter((k) => k.includes(runId)), []);

          await lambdaPipeline.run({
            mode: "cloud",
            wiring: fx.wiring,
            params: { rows },
            quiet: true,
            keepStaging: true,
          });
          const kept = (await stagedKeys(fx)).filter((k) => k.includes(lambdaPipeline.lastRun!.runId));
          assert.equal(kept.length, 2, `kept: ${kept}`);
        },
      );

      await t.step("the same sources build a byte-identical artifact", async () => {
        const [again] = await buildLambdaArtifacts(lambdaPipeline);
        assert.equal(again.codeSha256, fx.built.codeSha256);
      });

      await t.step(
        "an out-of-date function fails with deploy advice, and syncCode uploads the artifact",
        async () => {
          const other = zipSync({ bootstrap: new TextEncoder().encode("#!/bin/sh\nexit 1\n") });
          await fx.client.send(
            new UpdateFunctionCodeCommand({ FunctionName: fx.built.functionName, ZipFile: other }),
          );
          const error = await lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, quiet: true }).then(
            () => assert.fail("the run should fail"),
            (e) => e,
          );
          assert.ok(error instanceof TaskError);
          assert.equal(error.code, "USER:LAMBDA_CODE_OUTDATED");
          assert.equal(error.attempt, 1, "not retried: retrying cannot help");
          assert.match(error.message, /syncCode: true/);
          assert.match(error.message, /glacier build/);

          assert.equal(
            await lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, syncCode: true, quiet: true }),
            90,
          );
          const runId = lambdaPipeline.lastRun!.runId;
          // Over Lambda's 50 MB inline limit a zip goes up through S3; under it, inline.
          const throughS3 = fx.s3.events.some((e) =>
            e.includes(`/runs/${runId}/code/${fx.built.functionName}-`)
          );
          assert.equal(
            throughS3,
            fx.built.bytes > LAMBDA_ZIP_UPLOAD_CAP,
            `a ${(fx.built.bytes / 2 ** 20).toFixed(1)} MB zip ${
              throughS3 ? "went" : "did not go"
            } through S3`,
          );
          const deployed = await fx.client.send(
            new GetFunctionCommand({ FunctionName: fx.built.functionName }),
          );
          assert.equal(deployed.Configuration?.CodeSha256, fx.built.codeSha256);
        },
      );

      await t.step(
        "a polars task runs on Lambda: frames cross both ways, and syncCode uploads its 50+ MB zip through S3",
        async () => {
          const [built] = await buildLambdaArtifacts(polarsLambda);
          assert.ok(
            built.bytes > LAMBDA_ZIP_UPLOAD_CAP,
            `${built.bytes} bytes: polars' binary makes it large`,
          );
          // The function exists with other code; syncCode: true puts the artifact up through S3.
          await createFunction(
            fx.client,
            built.functionName,
            { ZipFile: zipSync({ bootstrap: new TextEncoder().encode("#!/bin/sh\nexit 1\n") }) },
            { timeout: 120, memory: 1024 },
          );
          const rows = 100_000;
          const result = await polarsLambda.run({
            mode: "cloud",
            wiring: fx.wiring,
            syncCode: true,
            params: { rows },
            quiet: true,
          });
          assert.deepEqual(result, {
            rows: rows / 2 - 1,
            sum: ((rows / 2 - 1) * (rows / 2)) / 2,
            last: `row number ${rows - 1}, long enough for a view buffer`,
          });
          const runId = polarsLambda.lastRun!.runId;
          assert.ok(fx.s3.events.some((e) => e.includes(`/runs/${runId}/code/${built.functionName}-`)));
          assert.equal(polarsLambda.lastRun!.tasks.find((r) => r.id === "positive")!.ranOn, "lambda");
        },
      );

      await t.step(
        "an emulator killed mid-invoke fails naming the endpoint; after a restart the run finishes",
        async () => {
          await killAndRestart(fx);
        },
      );
    } finally {
      await fx.stop();
    }
  },
});

async function killAndRestart(fx: CloudFixture): Promise<void> {
  const port = freePort();
  const gate = join(await Deno.makeTempDir(), "gate");
  let emulator = await spawnEmulator(port, fx);
  fx.useLambdaEndpoint(`http://127.0.0.1:${port}`);
  try {
    const run = lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, params: { gate }, quiet: true }).then(
      () => assert.fail("the run should fail"),
      (e) => e,
    );
    await waitForFile(`${gate}.started`); // the task is running in a sandbox
    emulator.kill("SIGKILL");
    await emulator.status;
    const error = await run;
    await Deno.writeTextFile(gate, ""); // lets the orphaned sandbox finish and exit
    assert.ok(error instanceof TaskError, String(error));
    assert.equal(error.code, "SYSTEM:LAMBDA_UNREACHABLE");
    assert.ok(error.message.includes(`http://127.0.0.1:${port}`), error.message);

    emulator = await spawnEmulator(port, fx);
    // `resume` re-runs only what failed: `make` comes from the failed run's checkpoint.
    assert.equal(
      await lambdaPipeline.run({ mode: "cloud", wiring: fx.wiring, resume: true, quiet: true }),
      90,
    );
    const resumed = lambdaPipeline.lastRun!.tasks.find((r) => r.id === "make")!;
    assert.equal(resumed.ranOn, "checkpoint");
  } finally {
    try {
      emulator.kill("SIGTERM");
    } catch { /* already gone */ }
    await emulator.status;
    fx.useLambdaEndpoint(fx.emulator.endpoint);
  }
}
