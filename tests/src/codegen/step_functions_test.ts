// deno-lint-ignore-file no-explicit-any -- the ASL is navigated by path in assertions
import assert from "node:assert/strict";
import aslValidator from "asl-validator";
import { StateMachine } from "aws-local-stepfunctions";
import { patterns } from "../../fixtures/codegen/aws_patterns.ts";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { wideVm } from "../../fixtures/codegen/aws_wide_vm.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { dynamicFanOut } from "../../../examples/patterns/dynamic_fan_out.ts";
import { gcpPipeline } from "../../fixtures/analyze/clouds.ts";
import { sfnLargeList } from "../../fixtures/codegen/aws_sfn_execute.ts";
import { INLINE_MAP_MAX_ITEMS } from "../../../src/codegen/step_functions.ts";
import { GlacierError } from "../../../src/errors.ts";
import { checkTerraformReferences, parseTerraform } from "../../support/codegen_checks.ts";
import { artifactRootFor, assertGolden } from "../../support/golden.ts";

function validAsl(text: string): any {
  const asl = JSON.parse(text);
  const result = aslValidator(asl);
  assert.ok(result.isValid, `asl-validator: ${JSON.stringify(result.errors)}`);
  return asl;
}

// Every state of a machine, nested ones included, by name.
function allStates(machine: any, out: Record<string, any> = {}): Record<string, any> {
  for (const [name, state] of Object.entries<any>(machine.States)) {
    out[name] = state;
    for (const branch of state.Branches ?? []) allStates(branch, out);
    if (state.ItemProcessor) allStates(state.ItemProcessor, out);
  }
  return out;
}

const cases = [
  { name: "ml_inference", pipeline: mlInference, golden: "examples/deploy/step_functions" },
  {
    name: "aws_patterns",
    pipeline: patterns,
    golden: "tests/fixtures/codegen/golden/aws_patterns/step_functions",
  },
];

for (const c of cases) {
  Deno.test(`deploy step_functions for ${c.name}: the ASL passes asl-validator and its Terraform resolves`, async () => {
    const result = await c.pipeline.deploy({
      orchestrator: "step_functions",
      artifactRoot: artifactRootFor(c.golden),
    });
    validAsl(result.files["state_machine.asl.json"]);
    const tf = Object.fromEntries(Object.entries(result.files).filter(([name]) => name.endsWith(".tf")));
    checkTerraformReferences(await parseTerraform(tf));
    assert.match(
      result.files["step_functions.tf"],
      /definition = file\("\$\{path\.module\}\/state_machine\.asl\.json"\)/,
    );
    await assertGolden(c.golden, result.files);
  });
}

Deno.test("deploy step_functions for ml_inference: Lambda invoke with the Glacier payload, launcher for local and Databricks", async () => {
  const { files, summary, url } = await mlInference.deploy({ orchestrator: "step_functions" });
  const asl = validAsl(files["state_machine.asl.json"]);
  assert.equal(asl.StartAt, "extract");
  const states = allStates(asl);
  const clean = states.clean;
  assert.equal(clean.Resource, "arn:aws:states:::lambda:invoke");
  assert.equal(clean.Parameters.FunctionName, "glacier-ml_inference-lambda");
  assert.deepEqual(clean.Parameters.Payload, {
    version: 2,
    pipeline: "ml_inference",
    "runId.$": "$$.Execution.Name",
    "params.$": "$.params",
    nodeId: "clean",
    task: "clean",
    module: "examples/ml_inference.ts",
    source: "examples/ml_inference.ts",
    "attempt.$": "States.MathAdd($$.State.RetryCount, 1)",
    args: [{ $ref: "extract.out" }],
    "staging.$": "States.Format('s3://glacier-staging/ml/runs/{}/', $$.Execution.Name)",
    output: "clean.out",
    outputLimitBytes: 262144,
  });
  assert.equal(clean.TimeoutSeconds, 60);
  assert.deepEqual(clean.Retry[1], {
    ErrorEquals: ["States.ALL"],
    IntervalSeconds: 1,
    MaxAttempts: 2,
    BackoffRate: 2,
  });
  assert.equal(clean.Catch[0].Next, "PipelineFailed");
  assert.equal(clean.Next, "predict");
  // Local tasks run on the launcher; Databricks runs are submitted and polled through it.
  assert.equal(states.extract.Parameters.FunctionName, "glacier-ml_inference-launcher");
  assert.equal(states.extract.Parameters.Payload.executor, "local");
  assert.equal(states.predict.Parameters.Payload.submit, "databricks");
  assert.equal(states["predict (done?)"].Choices[1].Next, "predict (wait)");
  assert.equal(states.save.End, true);
  assert.match(files["lambda.tf"], /resource "aws_lambda_function" "launcher"/);
  assert.ok(!("local" in allStates(asl)));
  assert.match(summary, /run on the launcher function glacier-ml_inference-launcher/);
  // The pipeline's own schedule "0 6 * * *" becomes an EventBridge Scheduler schedule.
  assert.match(files["step_functions.tf"], /schedule_expression = "cron\(0 6 \* \* \? \*\)"/);
  assert.equal(url, "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/statemachines");
});

Deno.test("deploy step_functions: fan-out is Parallel, dynamic fan-out a Distributed Map past 40, params a Choice", async () => {
  const { files, url } = await patterns.deploy({ orchestrator: "step_functions" });
  const asl = validAsl(files["state_machine.asl.json"]);
  const states = allStates(asl);
  assert.equal(states["Stage 4"].Type, "Parallel");
  assert.deepEqual(states["Stage 4"].Branches.map((b: any) => b.StartAt), ["stats", "audit", "deep (if)"]);
  const map = states.sizeOf;
  assert.equal(map.Type, "Map");
  assert.equal(map.MaxConcurrency, 100);
  assert.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });
  assert.equal(map.ItemReader.Parameters.Bucket, "patterns-staging");
  // Past 40 at once it is Distributed whatever the list: no Choice before it; its results go to staging.
  assert.equal(states["sizeOf (inline?)"], undefined);
  assert.deepEqual(map.ResultWriter, {
    Resource: "arn:aws:states:::s3:putObject",
    Parameters: {
      Bucket: "patterns-staging",
      "Prefix.$": "States.Format('runs/{}/sizeof.map', $$.Execution.Name)",
    },
  });
  assert.equal(states["sizeOf (item)"].Parameters.Payload["item.$"], "$.item");
  assert.equal(states["sizeOf (item)"].OutputPath, null, "an iteration's output is dropped, not collected");
  assert.deepEqual(states.total.Parameters.Payload.args, [{ $refs: "sizeof/" }]);
  const choice = states["deep (if)"];
  assert.equal(choice.Type, "Choice");
  assert.equal(choice.Default, "deep (skipped)");
  assert.deepEqual(choice.Choices[0].And[1], {
    Not: {
      And: [{ Variable: "$.params.mode", IsPresent: true }, {
        Variable: "$.params.mode",
        StringEquals: "quick",
      }],
    },
  });
  assert.match(files["step_functions.tf"], /states:StartExecution/);
  // "30 2 1 * 1-5" fires on the 1st or on weekdays: two EventBridge schedules.
  assert.match(files["step_functions.tf"], /schedule_expression = "cron\(30 2 1 \* \? \*\)"/);
  assert.match(files["step_functions.tf"], /schedule_expression = "cron\(30 2 \? \* MON-FRI \*\)"/);
  assert.equal(
    url,
    "https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/statemachines/view/arn:aws:states:us-west-2:123456789012:stateMachine:glacier-aws_patterns",
  );
});

Deno.test("deploy step_functions: a fan-out over a staged list (over 256 KiB) or a long one runs as a Distributed Map reading staging, else inline", async () => {
  const { files } = await sfnLargeList.deploy({ orchestrator: "step_functions" });
  const asl = validAsl(files["state_machine.asl.json"]);
  const states = allStates(asl);
  assert.equal(states.pages.Next, "measure (inline?)");
  const choice = states["measure (inline?)"];
  const inline = states.measure;
  const distributed = states["measure (distributed)"];
  assert.equal(inline.ItemsPath, "$.results.pages.value");
  assert.deepEqual(inline.ItemProcessor.ProcessorConfig, { Mode: "INLINE" });
  // The Distributed Map reads the array the runner staged for every output, at the key the runner wrote it.
  assert.equal(distributed.ItemsPath, undefined);
  assert.deepEqual(distributed.ItemReader, {
    Resource: "arn:aws:states:::s3:getObject",
    ReaderConfig: { InputType: "JSON" },
    Parameters: {
      Bucket: "glacier-staging",
      "Key.$": "States.Format('sfn/runs/{}/pages.out', $$.Execution.Name)",
    },
  });
  assert.equal(states["pages"].Parameters.Payload.output, "pages.out");
  assert.equal(
    states["pages"].Parameters.Payload["staging.$"],
    "States.Format('s3://glacier-staging/sfn/runs/{}/', $$.Execution.Name)",
  );
  assert.deepEqual(distributed.ItemProcessor.ProcessorConfig, {
    Mode: "DISTRIBUTED",
    ExecutionType: "STANDARD",
  });
  assert.equal(
    distributed.ResultWriter.Parameters["Prefix.$"],
    "States.Format('sfn/runs/{}/measure.map', $$.Execution.Name)",
  );
  // Both run the same item processor (state names differ: they are unique across a machine).
  assert.deepEqual(distributed.ItemSelector, inline.ItemSelector);
  assert.equal(distributed.MaxConcurrency, inline.MaxConcurrency);
  assert.deepEqual(distributed.ItemProcessor.States["measure (distributed item)"], states["measure (item)"]);
  for (const map of [inline, distributed]) {
    assert.equal(map.Next, "summary");
    assert.equal(map.Catch[0].Next, "PipelineFailed");
  }
  // The Choice, run by an ASL interpreter on what the producer's result can be.
  const decide = async (value: any) => {
    const machine = new StateMachine({
      StartAt: "choose",
      States: {
        choose: {
          ...choice,
          Choices: choice.Choices.map((c: any) => ({ ...c, Next: "distributed" })),
          Default: "inline",
        },
        distributed: { Type: "Pass", Result: "distributed", End: true },
        inline: { Type: "Pass", Result: "inline", End: true },
      },
    } as any);
    return await machine.run({ params: {}, results: { pages: { value } } }).result;
  };
  assert.equal(await decide(["a", "b"]), "inline");
  assert.equal(await decide([]), "inline");
  assert.equal(await decide(Array(INLINE_MAP_MAX_ITEMS).fill("x")), "inline");
  assert.equal(await decide(Array(INLINE_MAP_MAX_ITEMS + 1).fill("x")), "distributed");
  assert.equal(await decide({ $ref: "s3://glacier-staging/sfn/runs/r/pages.out" }), "distributed");
  // Any fan-out may run distributed: the role may start and manage child executions, read the items and write results.
  const tf = files["step_functions.tf"];
  assert.match(tf, /resource "aws_iam_role_policy" "orchestrator_distributed_map"/);
  assert.match(
    tf,
    /Action = \["states:StartExecution"\]\n\s+Resource = \["arn:aws:states:\$\{var\.region\}:\$\{data\.aws_caller_identity\.current\.account_id\}:stateMachine:glacier-sfn_large_list"\]/,
  );
  assert.match(
    tf,
    /Action = \["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"\]\n\s+Resource = \["\$\{data\.aws_s3_bucket\.staging\.arn\}\/sfn\/runs\/\*"\]/,
  );
  checkTerraformReferences(
    await parseTerraform(Object.fromEntries(Object.entries(files).filter(([name]) => name.endsWith(".tf")))),
  );
});

Deno.test("deploy step_functions refuses local-folder buckets, naming the bucket and the task (the launcher's code folder is read-only)", async () => {
  for (const [p, task] of [[dynamicFanOut, "seed"], [wide, "publish"]] as const) {
    await assert.rejects(
      () => p.deploy({ orchestrator: "step_functions" }),
      (e: unknown) =>
        e instanceof GlacierError && e.code === "USER:DEPLOY_LOCAL_FOLDER" &&
        e.message.includes(`task "${task}"`) && /local folder bucket "file:\/\/\/.+"/.test(e.message) &&
        e.message.includes("bind the bucket to a cloud provider"),
    );
  }
});

Deno.test("deploy step_functions refuses tasks it cannot reach and clouds other than AWS, naming the task", async () => {
  await assert.rejects(
    () => wideVm.deploy({ orchestrator: "step_functions" }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:DEPLOY_UNSUPPORTED" &&
      e.message.includes('task "old" (node "old") runs on "legacy" (ec2)') &&
      e.message.includes("use another orchestrator"),
  );
  await assert.rejects(
    () => gcpPipeline.deploy({ orchestrator: "step_functions" }),
    (e: unknown) => e instanceof GlacierError && e.code === "USER:DEPLOY_CLOUD",
  );
});
