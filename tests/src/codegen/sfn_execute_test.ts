// The generated Step Functions state machine, executed: aws-local-stepfunctions
// (an ASL interpreter from npm) runs the exact `state_machine.asl.json`
// `deploy()` writes, and every `lambda:invoke` Task state goes over the Lambda
// Invoke API to the Lambda emulator, which runs the artifact `glacier build`
// writes (its real bootstrap and runtime) for the launcher and the Lambda
// resource, created with the environment the generated lambda.tf gives them.
// Staging is s3rver. Executions run a Parallel stage, an inline Map fan-out and
// a Choice on a param; one fails in a Map item and one in a Parallel branch,
// and the execution fails with the task's error.
// deno-lint-ignore-file no-explicit-any -- the ASL and the events are navigated by path
import assert from "node:assert/strict";
import { join } from "node:path";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { fromWireJson } from "../../../executors/_wire.ts";
import { decodeValue } from "../../../src/data/payload.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";
import { sfnExecute } from "../../fixtures/codegen/aws_sfn_execute.ts";
import { parseTerraform } from "../../support/codegen_checks.ts";
import { startLambdaEmulator } from "../../support/lambda_emulator.ts";
import { S3RVER_CREDENTIALS, s3rverEnv, s3rverStore, startS3rver } from "../../support/s3rver.ts";
import { executeStateMachine } from "../../support/sfn_execution.ts";

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
      // The functions as the generated Terraform declares them, code through S3.
      const tf: any = await parseTerraform({ "lambda.tf": files["lambda.tf"] });
      const declared = Object.values<any>(tf["lambda.tf"].resource.aws_lambda_function).map((f) => f[0]);
      const built = await buildLambdaArtifacts(sfnExecute, { cwd });
      assert.deepEqual(
        built.map((a) => a.functionName).sort(),
        declared.map((f) => f.function_name).sort(),
        "glacier build builds every function lambda.tf declares",
      );
      for (const artifact of built) {
        const fn = declared.find((f) => f.function_name === artifact.functionName);
        const key = `code/${artifact.functionName}.zip`;
        await store.put(BUCKET, key, await Deno.readFile(join(cwd, artifact.path)));
        await client.send(
          new CreateFunctionCommand({
            FunctionName: artifact.functionName,
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
    } finally {
      client.destroy();
      store.close();
      await lambda.stop();
      await s3.stop();
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    }
  },
});
