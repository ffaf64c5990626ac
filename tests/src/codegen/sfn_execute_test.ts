// The generated Step Functions state machine, executed: aws-local-stepfunctions
// (an ASL interpreter from npm) runs the exact `state_machine.asl.json`
// `deploy()` writes, and every `lambda:invoke` Task state goes over the Lambda
// Invoke API to the Lambda emulator, which runs the artifact `glacier build`
// writes (its real bootstrap and runtime) for the launcher and the Lambda
// resource, created with the environment the generated lambda.tf gives them.
// Staging is s3rver. Executions run a Parallel stage, an inline Map fan-out and
// a Choice on a param; one fails in a Map item and one in a Parallel branch,
// and the execution fails with the task's error. A second pipeline of the same
// module (same artifact) fans out over a run-time list over 256 KiB: the
// runner stages it and returns a reference, and the Distributed Map reads the
// staged array with ItemReader (emulated against s3rver by
// tests/support/sfn_execution.ts, which says what it emulates).
// deno-lint-ignore-file no-explicit-any -- the ASL and the events are navigated by path
import assert from "node:assert/strict";
import { join } from "node:path";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { fromWireJson } from "../../../executors/_wire.ts";
import { decodeValue } from "../../../src/data/payload.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";
import { sfnExecute, sfnLargeList } from "../../fixtures/codegen/aws_sfn_execute.ts";
import { parseTerraform } from "../../support/codegen_checks.ts";
import { startLambdaEmulator } from "../../support/lambda_emulator.ts";
import { S3RVER_CREDENTIALS, s3rverEnv, s3rverStore, startS3rver } from "../../support/s3rver.ts";
import { executeStateMachine, type SfnExecution } from "../../support/sfn_execution.ts";
import { OUTPUT_LIMIT_BYTES } from "../../../src/codegen/_flow.ts";

const BUCKET = "glacier-staging";

Deno.test({
  name:
    "The generated state machine executes: Glacier's runner behind each Lambda state, a Map fan-out, a failing task",
  // Every server and sandbox is stopped in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cwd = await Deno.makeTempDir({ prefix: "glacier-sfn-execute-" });
    const s3 = await startS3rver({ buckets: [BUCKET] });
    const store = s3rverStore(s3.endpoint);
    const lambda = await startLambdaEmulator({ env: s3rverEnv(s3.endpoint) });
    const client = new LambdaClient({
      endpoint: lambda.endpoint,
      region: "us-east-1",
      maxAttempts: 1,
      credentials: S3RVER_CREDENTIALS,
    });
    try {
      const { files } = await sfnExecute.deploy({ orchestrator: "step_functions" });
      const asl = JSON.parse(files["state_machine.asl.json"]);
      const large = await sfnLargeList.deploy({ orchestrator: "step_functions" });
      const largeAsl = JSON.parse(large.files["state_machine.asl.json"]);
      // The functions as the generated Terraform declares them (by resource), code through S3.
      const declaredIn = async (lambdaTf: string) => {
        const tf: any = await parseTerraform({ "lambda.tf": lambdaTf });
        return Object.entries<any>(tf["lambda.tf"].resource.aws_lambda_function).map(([resource, f]) => ({
          resource,
          ...f[0],
        }));
      };
      const declared = await declaredIn(files["lambda.tf"]);
      const built = await buildLambdaArtifacts(sfnExecute, { cwd });
      assert.deepEqual(
        built.map((a) => a.functionName).sort(),
        declared.map((f) => f.function_name).sort(),
        "glacier build builds every function lambda.tf declares",
      );
      // sfn_large_list's functions run the same artifacts: its tasks are in the same module, on the same resources.
      for (const fn of [...declared, ...await declaredIn(large.files["lambda.tf"])]) {
        const artifact = built.find((a) => a.resource === fn.resource)!;
        const key = `code/${fn.function_name}.zip`;
        await store.put(BUCKET, key, await Deno.readFile(join(cwd, artifact.path)));
        await client.send(
          new CreateFunctionCommand({
            FunctionName: fn.function_name,
            Runtime: fn.runtime,
            Role: "arn:aws:iam::000000000000:role/glacier-test",
            Handler: fn.handler,
            Code: { S3Bucket: BUCKET, S3Key: key },
            Timeout: fn.timeout,
            MemorySize: 512,
            Environment: { Variables: fn.environment[0].variables },
          }),
        );
      }
      const readOutput = async (key: string) =>
        decodeValue(
          fromWireJson(new TextDecoder().decode(await store.get(BUCKET, `sfn/runs/${key}`))),
          CORE_STORAGE,
        );

      await t.step(
        "seed and count at once, square per item in the Map, total, describe: outputs land in staging",
        async () => {
          const run = await executeStateMachine(asl, { params: { n: 5, label: true } }, client, "exec-ok");
          assert.equal(run.error, undefined, JSON.stringify(run.error));
          assert.deepEqual(
            run.output.stages.s1.seed.value,
            [1, 2, 3, 4, 5],
            "seed's list went inline to the Map",
          );
          assert.equal(await readOutput("exec-ok/count.out"), 5);
          for (let i = 0; i < 5; i++) assert.equal(await readOutput(`exec-ok/square/${i}.out`), (i + 1) ** 2);
          assert.equal(await readOutput("exec-ok/total.out"), 55);
          assert.equal(await readOutput("exec-ok/describe.out"), "5 squares sum to 55");
          const byState = (s: string) => run.invocations.filter((i) => i.state === s);
          assert.deepEqual(byState("seed").map((i) => i.functionName), ["glacier-sfn_execute-launcher"]);
          assert.deepEqual(
            byState("square (item)").map((i) => i.payload.item).sort((a, b) => a.index - b.index),
            [1, 2, 3, 4, 5].map((value, index) => ({ value, index })),
          );
          assert.ok(byState("square (item)").every((i) => i.functionName === "glacier-sfn_execute-lambda"));
          assert.deepEqual(byState("total").map((i) => i.payload.args), [[{ $refs: "square/" }]]);
          assert.deepEqual(run.invocations.filter((i) => i.functionError), []);
          // 5 squares, count and describe on the Lambda resource; seed and total on the launcher.
          assert.equal(lambda.invocations.get("glacier-sfn_execute-lambda"), 7);
          assert.equal(lambda.invocations.get("glacier-sfn_execute-launcher"), 2);
        },
      );

      await t.step("without the param the Choice skips describe", async () => {
        const run = await executeStateMachine(asl, { params: { n: 3 } }, client, "exec-nolabel");
        assert.equal(run.error, undefined, JSON.stringify(run.error));
        assert.equal(await readOutput("exec-nolabel/total.out"), 14);
        assert.ok(!run.invocations.some((i) => i.state === "describe"));
        assert.ok(
          run.events.some((e) => e.type === "StateEntered" && e.state?.name === "describe (skipped)"),
        );
      });

      await t.step(
        "a task that throws in a Map item fails the execution with the task's error and cause",
        async () => {
          const run = await executeStateMachine(asl, { params: { n: 5, failOn: 3 } }, client, "exec-fail");
          assert.equal(run.output, undefined);
          // The execution's own error is the task's: its type, and the function's error payload as cause.
          assert.equal(run.error?.name, "RangeError");
          assert.match(JSON.parse(run.error!.message).errorMessage, /square was told to fail on 3/);
          // The Map item's Task state failed with the function's error: the task's RangeError.
          const failed = run.events.filter((e: any) =>
            e.type === "StateFailed" && e.state.name === "square (item)"
          );
          assert.equal(failed.length, 1, JSON.stringify(run.events.map((e) => e.type)));
          const cause = JSON.parse((failed[0] as any).Cause);
          assert.equal((failed[0] as any).Error, "RangeError");
          assert.equal(cause.errorType, "RangeError");
          assert.match(cause.errorMessage, /square was told to fail on 3/);
          // The Map's Catch put the error at $.error and went to PipelineFailed; total never ran.
          const caught = run.events.find((e: any) => e.type === "StateCaught" && e.state.name === "square");
          assert.ok(caught, "the Map state caught the item's error");
          const entered = run.events.find((e: any) =>
            e.type === "StateEntered" && e.state.name === "PipelineFailed"
          );
          assert.match((entered as any).state.input.error.Cause, /square was told to fail on 3/);
          assert.ok(!run.invocations.some((i) => i.state === "total"));
          const ended = run.events.find((e) => e.type === "ExecutionFailed") as any;
          assert.equal(ended.Error, "RangeError");
        },
      );
      await t.step("a task that fails in a Parallel branch fails the execution the same way", async () => {
        const run = await executeStateMachine(asl, { params: { n: -1 } }, client, "exec-seed");
        assert.equal(run.error?.name, "RangeError");
        assert.match(JSON.parse(run.error!.message).errorMessage, /seed needs n >= 1, got -1/);
        assert.ok(!run.invocations.some((i) => i.state === "square (item)" || i.state === "total"));
        assert.equal(run.invocations.find((i) => i.state === "seed")?.functionError, "Unhandled");
      });

      // No state's input or output may pass Step Functions' 256 KiB (the service fails the execution).
      const assertWithinStateLimit = (run: SfnExecution) => {
        const events = [...run.events, ...run.mapRuns.flatMap((m) => m.children.flatMap((c) => c.events))];
        for (const e of events) {
          for (const data of [e.state?.input, e.output]) {
            const bytes = new TextEncoder().encode(JSON.stringify(data ?? null)).byteLength;
            assert.ok(bytes <= OUTPUT_LIMIT_BYTES, `${e.type} ${e.state?.name}: ${bytes} bytes in the state`);
          }
        }
      };
      const width = 50_000, count = 6, letters = "abcdef";

      await t.step(
        "a run-time list over 256 KiB is staged and the Choice takes the Distributed Map, which reads it with ItemReader",
        async () => {
          const run = await executeStateMachine(
            largeAsl,
            { params: { count, width } },
            client,
            "exec-large",
            {
              store,
            },
          );
          assert.equal(run.error, undefined, JSON.stringify(run.error));
          // pages' output is in staging, a JSON array (what ItemReader's InputType JSON reads); the state has its reference.
          const staged = await store.get(BUCKET, "sfn/runs/exec-large/pages.out");
          assert.ok(staged.byteLength > OUTPUT_LIMIT_BYTES, `${staged.byteLength} bytes staged`);
          const list = JSON.parse(new TextDecoder().decode(staged));
          assert.deepEqual(list.map((p: string) => p[0] + p.length), [...letters].map((l) => `${l}${width}`));
          const choice = run.events.find((e) =>
            e.type === "StateEntered" && e.state?.name === "measure (inline?)"
          );
          assert.deepEqual(choice?.state?.input.results.pages.value, {
            $ref: "s3://glacier-staging/sfn/runs/exec-large/pages.out",
          });
          const entered = run.events.filter((e) => e.type === "StateEntered").map((e) => e.state!.name);
          assert.ok(
            entered.includes("measure (distributed)") && !entered.includes("measure"),
            entered.join(", "),
          );
          // One Map Run: the staged list read by ItemReader, one child execution per page, each named apart from the parent.
          assert.equal(run.mapRuns.length, 1);
          const [mapRun] = run.mapRuns;
          assert.deepEqual(mapRun.itemReader, { bucket: BUCKET, key: "sfn/runs/exec-large/pages.out" });
          assert.equal(mapRun.items, count);
          assert.equal(mapRun.children.length, count);
          assert.ok(mapRun.children.every((c) => !c.error && c.name !== "exec-large"));
          const items = run.invocations.filter((i) => i.state === "measure (distributed item)");
          assert.deepEqual(
            items.map((i) => [i.payload.item.index, i.payload.item.value, i.payload.runId]).sort(),
            list.map((page: string, index: number) => [index, page, "exec-large"]),
            "each child got its page and index, and the parent's run id",
          );
          for (let i = 0; i < count; i++) {
            assert.equal(await readOutput(`exec-large/measure/${i}.out`), `${letters[i]}${width}`);
          }
          assert.equal(
            await readOutput("exec-large/summary.out"),
            [...letters].map((l) => `${l}${width}`).join(" "),
          );
          // ResultWriter put the children's results in staging, not in the state.
          assert.match(
            mapRun.resultWriter!.manifest,
            /^sfn\/runs\/exec-large\/measure\.map\/[^/]+\/manifest\.json$/,
          );
          const succeeded = JSON.parse(
            new TextDecoder().decode(
              await store.get(
                BUCKET,
                mapRun.resultWriter!.manifest.replace("manifest.json", "SUCCEEDED_0.json"),
              ),
            ),
          );
          assert.equal(succeeded.length, count);
          assertWithinStateLimit(run);
        },
      );

      await t.step("the same pipeline over a small list takes the inline Map", async () => {
        const run = await executeStateMachine(
          largeAsl,
          { params: { count: 3, width: 10 } },
          client,
          "exec-small",
          {
            store,
          },
        );
        assert.equal(run.error, undefined, JSON.stringify(run.error));
        assert.deepEqual(run.mapRuns, []);
        assert.ok(run.events.some((e) => e.type === "StateEntered" && e.state?.name === "measure"));
        assert.equal(run.invocations.filter((i) => i.state === "measure (item)").length, 3);
        assert.equal(await readOutput("exec-small/summary.out"), "a10 b10 c10");
        assertWithinStateLimit(run);
      });

      await t.step(
        "a page that fails in the Distributed Map fails the Map Run, caught into PipelineFailed",
        async () => {
          const run = await executeStateMachine(
            largeAsl,
            { params: { count, width, failOn: "c" } },
            client,
            "exec-large-fail",
            { store },
          );
          // On AWS a failed child fails the Map Run with this error; the task's own is in the child's history.
          assert.equal(run.error?.name, "States.ExceedToleratedFailureThreshold");
          // Only page "c" failed (children still running then are aborted, as the Map Run stops them).
          const failed = run.mapRuns[0].children.filter((c) =>
            c.error && c.error.name !== "ExecutionAbortedError"
          );
          assert.deepEqual(failed.map((c) => [c.input.item.index, c.error!.name]), [[2, "RangeError"]]);
          assert.match(JSON.parse(failed[0].error!.message).errorMessage, /measure was told to fail on "c"/);
          assert.ok(run.events.some((e) => e.type === "StateEntered" && e.state?.name === "PipelineFailed"));
          assert.ok(!run.invocations.some((i) => i.state === "summary"));
        },
      );
    } finally {
      client.destroy();
      store.close();
      await lambda.stop();
      await s3.stop();
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    }
  },
});
