import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { patterns } from "../../fixtures/codegen/aws_patterns.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { GlacierError } from "../../../src/errors.ts";
import { checkTerraformReferences, parseTerraform, ROOT } from "../../support/codegen_checks.ts";
import { startSfnEmulator } from "../../support/sfn_emulator.ts";

async function untouched(dir: string, act: () => Promise<unknown>, check: (e: unknown) => boolean) {
  await Deno.writeTextFile(join(dir, "keep.txt"), "mine\n");
  await assert.rejects(act, check);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keep.txt"]);
}

Deno.test("deploy rejects an unknown orchestrator with a RangeError listing them and leaves outputDir untouched", async () => {
  const dir = await Deno.makeTempDir();
  await untouched(
    dir,
    () => mlInference.deploy({ orchestrator: "cron", outputDir: dir }),
    (e) =>
      e instanceof RangeError &&
      e.message ===
        'Unknown orchestrator "cron"; use one of "step_functions", "airflow", "prefect", "dagster"',
  );
  // @ts-expect-error: mode "deploy" needs an orchestrator; a JavaScript caller gets the RangeError
  await assert.rejects(() => mlInference.run({ mode: "deploy" }), RangeError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deploy rejects a bad schedule before anything is written", async () => {
  const dir = await Deno.makeTempDir();
  await untouched(
    dir,
    () => mlInference.deploy({ orchestrator: "airflow", schedule: "0 25 * * *", outputDir: dir }),
    (e) => e instanceof RangeError && e.message.startsWith('Schedule "0 25 * * *" is invalid'),
  );
  await untouched(
    dir,
    () => mlInference.deploy({ orchestrator: "step_functions", schedule: "0 0 */2 * */2", outputDir: dir }),
    (e) => e instanceof RangeError && /EventBridge cannot express/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deploy step_functions: the launcher's Databricks token is a Secrets Manager secret only the launcher's role reads", async () => {
  const { files } = await mlInference.deploy({ orchestrator: "step_functions" });
  // deno-lint-ignore no-explicit-any
  const parsed: any = await parseTerraform(files);
  const launcher = parsed["lambda.tf"].resource.aws_lambda_function.launcher[0];
  const env = launcher.environment[0].variables;
  assert.equal(env.DATABRICKS_TOKEN, undefined, "the token is not a plain environment variable");
  assert.equal(
    env.GLACIER_SECRET_DATABRICKS_TOKEN,
    "${aws_secretsmanager_secret.env_databricks_token.arn}",
  );
  assert.equal(env.DATABRICKS_HOST, "${var.databricks_host}");
  const secrets = parsed["secrets.tf"].resource;
  assert.equal(
    secrets.aws_secretsmanager_secret.env_databricks_token[0].name,
    "glacier/ml_inference/DATABRICKS_TOKEN",
  );
  assert.equal(
    secrets.aws_secretsmanager_secret_version.env_databricks_token[0].secret_string,
    "${var.env_databricks_token}",
  );
  assert.equal(parsed["main.tf"].variable.env_databricks_token[0].sensitive, true);
  const policy = (id: string) => parsed["iam.tf"].resource.aws_iam_role_policy[id][0].policy as string;
  assert.match(
    policy("launcher"),
    /Action = \["secretsmanager:GetSecretValue"\]\n\s+Resource = \[aws_secretsmanager_secret\.env_databricks_token\.arn\]/,
  );
  assert.doesNotMatch(policy("lambda"), /secretsmanager/, "the task function reads no secret");
  checkTerraformReferences(parsed);
});

Deno.test("deploy is deterministic and writes its files into outputDir", async () => {
  for (const orchestrator of ["step_functions", "airflow", "prefect", "dagster"]) {
    const a = await patterns.deploy({ orchestrator });
    const b = await patterns.deploy({ orchestrator });
    assert.deepEqual(a.files, b.files, orchestrator);
  }
  const dir = await Deno.makeTempDir();
  const out = join(dir, "sfn");
  const result = await mlInference.deploy({ orchestrator: "step-functions", outputDir: out });
  assert.ok(result.written!.includes(join(out, "state_machine.asl.json")));
  // The artifacts are referenced relative to the output folder: the way back to the working directory.
  const back = relative(out, Deno.cwd()).split("\\").join("/");
  assert.ok(Deno.readTextFileSync(join(out, "main.tf")).includes(`default = "${back}`), back);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deploy({ apply: true }) creates, then updates, the state machine and schedules through the AWS SDK", async () => {
  const emulator = startSfnEmulator("us-west-2");
  const saved = Object.fromEntries(
    ["AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_SCHEDULER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].map((
      k,
    ) => [
      k,
      Deno.env.get(k),
    ]),
  );
  Deno.env.set("AWS_ENDPOINT_URL_SFN", emulator.url);
  Deno.env.set("AWS_ENDPOINT_URL_SCHEDULER", emulator.url);
  Deno.env.set("AWS_ACCESS_KEY_ID", "AKIDEMULATOR");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "emulator");
  try {
    const first = await patterns.deploy({ orchestrator: "step_functions", apply: true });
    const arn = "arn:aws:states:us-west-2:123456789012:stateMachine:glacier-aws_patterns";
    assert.equal(
      first.url,
      `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/statemachines/view/${arn}`,
    );
    const machine = emulator.stateMachines.get("glacier-aws_patterns")!;
    assert.equal(machine.definition, first.files["state_machine.asl.json"]);
    assert.equal(machine.roleArn, "arn:aws:iam::123456789012:role/glacier-aws_patterns-orchestrator");
    assert.deepEqual(
      [...emulator.schedules.values()].map((
        s,
      ) => [s.Name, s.ScheduleExpression, s.Target.Arn, s.Target.Input]),
      [
        ["glacier-aws_patterns", "cron(30 2 1 * ? *)", arn, '{"params":{}}'],
        ["glacier-aws_patterns-2", "cron(30 2 ? * MON-FRI *)", arn, '{"params":{}}'],
      ],
    );
    const second = await patterns.deploy({
      orchestrator: "step_functions",
      apply: true,
      schedule: "0 6 * * *",
    });
    assert.match(second.summary, /applied: updated arn:aws:states/);
    assert.equal(machine.updates, 1);
    assert.deepEqual(
      [...emulator.schedules.keys()],
      ["glacier-aws_patterns"],
      "the second schedule is removed",
    );
    assert.equal(emulator.schedules.get("glacier-aws_patterns")!.ScheduleExpression, "cron(0 6 * * ? *)");
    assert.deepEqual(emulator.calls.filter((c) => !c.startsWith("GET")), [
      "ListStateMachines",
      "CreateStateMachine",
      "POST /schedules/glacier-aws_patterns",
      "POST /schedules/glacier-aws_patterns-2",
      "ListStateMachines",
      "UpdateStateMachine",
      "PUT /schedules/glacier-aws_patterns",
      "DELETE /schedules/glacier-aws_patterns-2",
    ]);
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await emulator.close();
  }
});

Deno.test("deploy({ apply: true }) is refused for orchestrators Glacier does not apply, and without a role", async () => {
  await assert.rejects(
    () => mlInference.deploy({ orchestrator: "airflow", apply: true }),
    (e: unknown) => e instanceof GlacierError && e.code === "USER:DEPLOY_APPLY_UNSUPPORTED",
  );
  await assert.rejects(
    () => mlInference.deploy({ orchestrator: "step_functions", apply: true }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:DEPLOY_APPLY_ROLE" && /accountId/.test(e.message),
  );
});

async function glacier(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("glacier deploy writes the orchestrator's files; a bad schedule exits 1 and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const ok = await glacier([
    "deploy",
    "examples/ml_inference.ts",
    "--orchestrator",
    "dagster",
    "--schedule",
    "15 4 * * 1",
    "--output-dir",
    join(dir, "dagster"),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    Deno.readTextFileSync(join(dir, "dagster", "ml_inference_job.py")),
    /cron_schedule="15 4 \* \* 1"/,
  );
  const bad = await glacier([
    "deploy",
    "examples/ml_inference.ts",
    "--orchestrator",
    "airflow",
    "--schedule",
    "60 * * * *",
    "--output-dir",
    join(dir, "airflow"),
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Schedule "60 \* \* \* \*" is invalid/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dagster"]);
  const missing = await glacier(["deploy", "examples/ml_inference.ts"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /needs --orchestrator/);
  await Deno.remove(dir, { recursive: true });
});
