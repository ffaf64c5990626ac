// The Step Functions launcher function end to end with real parts: the
// launcher artifact `glacier build` writes runs in the Lambda emulator (its
// real bootstrap and runtime), gets the exact Payloads of the generated state
// machine (JSONPath resolved as Step Functions does for a start input), and
// submits and polls runs of the generated Databricks jobs on the Jobs API
// emulator, which runs each job's generated glacier_launcher.py with python3
// on the built artifact. Staging goes through s3rver. The launcher gets its
// Databricks token as the generated stack gives it: the ARN of a Secrets
// Manager secret (a stand-in on 127.0.0.1), read by the artifact's runtime.
// deno-lint-ignore-file no-explicit-any -- the ASL is navigated by path
import assert from "node:assert/strict";
import { join } from "node:path";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Table } from "apache-arrow";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { fromWireJson } from "../../../executors/_wire.ts";
import { decodeValue, ensureArrow } from "../../../src/data/payload.ts";
import { CORE_STORAGE } from "../../../src/resources/object_store.ts";
import { type DatabricksEmulator, startDatabricksEmulator } from "../../support/databricks_emulator.ts";
import { startLambdaEmulator } from "../../support/lambda_emulator.ts";
import {
  S3RVER_CREDENTIALS,
  s3rverEnv,
  s3rverStore,
  startS3rver,
  useS3rverEnv,
} from "../../support/s3rver.ts";
import { TaskError } from "../../../mod.ts";
import { dbxPipeline } from "./fixtures/dbx_pipeline.ts";
import { startSecretsManager } from "../../support/secrets_manager.ts";

await ensureArrow(); // encodeValue()/decodeValue() of tables need apache-arrow loaded first

const TOKEN = `dapi-glacier-secret-${crypto.randomUUID()}`;
const BUCKET = "glacier-staging";
const REGION = "us-east-1";
const TOKEN_SECRET =
  `arn:aws:secretsmanager:${REGION}:000000000000:secret:glacier/dbx_test/DATABRICKS_TOKEN-AbC123`;

// One JSONPath or intrinsic of a `.$` field, as Step Functions evaluates it
// for a state whose input is `input` in execution `name` (first attempt).
function evaluate(expr: string, input: unknown, name: string): unknown {
  const add = /^States\.MathAdd\((.+), (-?\d+)\)$/.exec(expr);
  if (add) return (evaluate(add[1], input, name) as number) + Number(add[2]);
  const format = /^States\.Format\('([^']*)', (.+)\)$/.exec(expr);
  if (format) return format[1].replace("{}", String(evaluate(format[2], input, name)));
  if (expr === "$$.Execution.Name") return name;
  if (expr === "$$.State.RetryCount") return 0;
  if (expr.startsWith("$.")) {
    return expr.slice(2).split(".").reduce((v: any, k) => {
      if (v === undefined || !(k in v)) throw new Error(`${expr} is not in the state input`);
      return v[k];
    }, input);
  }
  throw new Error(`the test cannot evaluate ${expr}`);
}

function resolve(template: any, input: unknown, name: string): any {
  if (Array.isArray(template)) return template.map((t) => resolve(t, input, name));
  if (template === null || typeof template !== "object") return template;
  return Object.fromEntries(
    Object.entries(template).map(([k, v]) =>
      k.endsWith(".$") ? [k.slice(0, -2), evaluate(v as string, input, name)] : [k, resolve(v, input, name)]
    ),
  );
}

Deno.test({
  name:
    "The launcher function submits and polls the generated Databricks jobs with the state machine's payloads",
  // Every server and subprocess is stopped in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cwd = await Deno.makeTempDir({ prefix: "glacier-launch-" });
    const workspace = await Deno.makeTempDir({ prefix: "glacier-workspace-" });
    const s3 = await startS3rver({ buckets: [BUCKET] });
    const awsEnv = s3rverEnv(s3.endpoint);
    const store = s3rverStore(s3.endpoint);
    // The cluster's environment: no Databricks credentials (the emulator drops them), s3rver for staging.
    const dbx: DatabricksEmulator = await startDatabricksEmulator({
      token: TOKEN,
      env: { ...Deno.env.toObject(), ...awsEnv },
      workspaceDir: workspace,
    });
    const secrets = startSecretsManager({ [TOKEN_SECRET]: TOKEN });
    const lambda = await startLambdaEmulator({ env: awsEnv });
    const client = new LambdaClient({
      endpoint: lambda.endpoint,
      region: REGION,
      maxAttempts: 1,
      credentials: S3RVER_CREDENTIALS,
    });
    const seen: string[] = [];
    try {
      // What a deployment has: the built artifacts, the generated jobs and the state machine.
      const built = await buildLambdaArtifacts(dbxPipeline, { cwd });
      const launcher = built.find((a) => a.resource === "launcher")!;
      const cluster = built.find((a) => a.resource !== "launcher")!;
      assert.ok(launcher && cluster, `built ${built.map((a) => a.resource)}`);
      assert.equal(launcher.functionName, "glacier-dbx_test-launcher");
      assert.equal(launcher.codeSha256, cluster.codeSha256, "one zip serves the launcher and the cluster");
      const deployed = await dbxPipeline.deploy({ orchestrator: "step_functions" });
      const states = JSON.parse(deployed.files["state_machine.asl.json"]).States;
      const staging = /GLACIER_STAGING\s*=\s*"([^"]+)"/.exec(deployed.files["lambda.tf"])![1];
      assert.match(
        deployed.files["lambda.tf"],
        /GLACIER_SECRET_DATABRICKS_TOKEN = aws_secretsmanager_secret\.env_databricks_token\.arn/,
      );
      assert.doesNotMatch(deployed.files["lambda.tf"], /^\s+DATABRICKS_TOKEN = /m, "no token variable");
      const generated = (await dbxPipeline.generate({ format: "cloudformation" })).files;
      const dir = join(workspace, "Shared/glacier/dbx_test");
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "glacier_launcher.py"), generated["databricks/glacier_launcher.py"]);
      await Deno.writeTextFile(join(dir, "init_deno.sh"), generated["databricks/init_deno.sh"]);
      await Deno.copyFile(join(cwd, cluster.path), join(dir, `${cluster.resource}.zip`));
      for (const job of JSON.parse(generated["databricks/jobs.json"]).jobs) {
        const created = await fetch(`${dbx.host}/api/2.1/jobs/create`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(job),
        });
        assert.equal(created.status, 200, await created.text());
      }
      // The launcher function as Terraform deploys it (code through S3: it is over 50 MB).
      const codeKey = `code/${launcher.functionName}.zip`;
      await store.put(BUCKET, codeKey, await Deno.readFile(join(cwd, launcher.path)));
      await client.send(
        new CreateFunctionCommand({
          FunctionName: launcher.functionName,
          Runtime: "provided.al2023",
          Role: "arn:aws:iam::000000000000:role/glacier-test",
          Handler: "bootstrap",
          Code: { S3Bucket: BUCKET, S3Key: codeKey },
          Timeout: 120,
          MemorySize: 512,
          Environment: {
            Variables: {
              GLACIER_PIPELINE: "dbx_test",
              GLACIER_STAGING: staging,
              DATABRICKS_HOST: dbx.host,
              // Where the token is, as lambda.tf says; the runtime reads it at start.
              GLACIER_SECRET_DATABRICKS_TOKEN: TOKEN_SECRET,
              AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
            },
          },
        }),
      );

      const invoke = async (state: string, input: unknown, name: string) => {
        const params = states[state].Parameters;
        assert.equal(params.FunctionName, launcher.functionName, `state "${state}" invokes the launcher`);
        const event = resolve(params.Payload, input, name);
        const out = await client.send(
          new InvokeCommand({
            FunctionName: params.FunctionName,
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        );
        const text = new TextDecoder().decode(out.Payload);
        seen.push(text);
        return { event, error: out.FunctionError, body: JSON.parse(text) };
      };
      const readOutput = async (uri: string) => {
        const key = uri.slice(`s3://${BUCKET}/`.length);
        return decodeValue(
          fromWireJson(new TextDecoder().decode(await store.get(BUCKET, key))),
          CORE_STORAGE,
        );
      };
      // make (on the launcher), then score's submit/wait/poll loop, as the state machine runs them.
      const execute = async (name: string, params: Record<string, unknown>) => {
        const input: any = { params };
        const made = await invoke("make", input, name);
        assert.equal(made.error, undefined, JSON.stringify(made.body));
        const submitted = await invoke("score", input, name);
        assert.equal(submitted.error, undefined, JSON.stringify(submitted.body));
        assert.equal(submitted.event.submit, "databricks");
        assert.equal(typeof submitted.body.runId, "number");
        // ResultSelector and ResultPath of the submit state.
        input.databricks = { score: { runId: submitted.body.runId } };
        for (;;) {
          const polled = await invoke("score (poll)", input, name);
          if (polled.error) return { polled, submitted };
          assert.ok(["PENDING", "RUNNING", "SUCCESS"].includes(polled.body.state), polled.body.state);
          if (polled.body.state === "SUCCESS") return { polled, submitted };
          await new Promise((r) => setTimeout(r, 200)); // the Wait state
        }
      };

      await t.step("a Databricks task runs as a run of its job and its output lands in staging", async () => {
        const { polled, submitted } = await execute("exec-ok", { rows: 10 });
        assert.equal(polled.body.state, "SUCCESS");
        assert.ok(
          secrets.seen.some((r) =>
            r.secretId === TOKEN_SECRET && r.target === "secretsmanager.GetSecretValue"
          ),
          "the launcher read its token from the secret",
        );
        const run = dbx.runs.get(submitted.body.runId)!;
        assert.equal(run.body.run_name, submitted.event.job);
        // Step Functions retrying the submit (its answer lost) starts no second run.
        const runs = dbx.runs.size;
        const again = await invoke("score", { params: { rows: 10 } }, "exec-ok");
        assert.equal(again.body.runId, submitted.body.runId);
        assert.equal(dbx.runs.size, runs);
        assert.equal(JSON.parse(run.jobParameters!.payload).nodeId, "score", "the payload went inline");
        const out = await readOutput(`${submitted.event.payload.staging}score.out`) as Table;
        assert.deepEqual([...out.getChild("x")!.toArray()], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      });

      await t.step("a task that throws on Databricks fails the poll with the remote message", async () => {
        const { polled } = await execute("exec-fail", { rows: 10, fail: true });
        assert.equal(polled.error, "Unhandled");
        assert.equal(polled.body.errorType, "GlacierTaskFailed");
        assert.match(polled.body.errorMessage, /Task "score" of pipeline "dbx_test" failed/);
        assert.match(
          polled.body.errorMessage,
          /attempt 1: RangeError: score was told to fail on 10 rows \(on Databricks run/,
        );
      });

      await t.step("a job that was never created is a clear error naming it", async () => {
        const name = "exec-nojob";
        const event = {
          ...resolve(states.score.Parameters.Payload, { params: {} }, name),
          job: "glacier-dbx_test-databricks-missing",
        };
        const out = await client.send(
          new InvokeCommand({
            FunctionName: launcher.functionName,
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        );
        const body = JSON.parse(new TextDecoder().decode(out.Payload));
        seen.push(JSON.stringify(body));
        assert.equal(out.FunctionError, "Unhandled");
        assert.equal(body.code, "USER:DATABRICKS_JOB_NOT_FOUND");
        assert.match(body.errorMessage, /no job named "glacier-dbx_test-databricks-missing"/);
        assert.match(body.errorMessage, /apply the generated Terraform/);
      });

      await t.step(
        "a payload past Databricks' parameter limit travels as a staged s3:// reference",
        async () => {
          const { polled, submitted } = await execute("exec-big", { rows: 4, pad: "x".repeat(12_000) });
          assert.equal(polled.body.state, "SUCCESS", JSON.stringify(polled.body));
          const reference = dbx.runs.get(submitted.body.runId)!.jobParameters!.payload;
          assert.ok(reference.startsWith(`${submitted.event.payload.staging}payloads/`), reference);
          const staged = new TextDecoder().decode(
            await store.get(BUCKET, reference.slice(`s3://${BUCKET}/`.length)),
          );
          assert.equal(JSON.parse(staged).params.pad.length, 12_000);
          const out = await readOutput(`${submitted.event.payload.staging}score.out`) as Table;
          assert.deepEqual([...out.getChild("x")!.toArray()], [0, 2, 4, 6]);
        },
      );

      await t.step(
        "a cloud run's one-time runs go through the generated launcher and the built artifact",
        async () => {
          const restore = useS3rverEnv(s3.endpoint);
          Deno.env.set("DATABRICKS_HOST", dbx.host);
          Deno.env.set("DATABRICKS_TOKEN", TOKEN);
          try {
            const before = dbx.runs.size;
            assert.equal(await dbxPipeline.run({ mode: "cloud", params: { rows: 10 }, quiet: true }), 90);
            seen.push(JSON.stringify(dbxPipeline.lastRun));
            const run = [...dbx.runs.values()].at(-1)!;
            assert.equal(dbx.runs.size, before + 1);
            assert.equal(run.jobId, undefined, "a one-time run, not a job's");
            assert.equal(run.python, true, "the workspace's glacier_launcher.py ran the artifact");
            const error = await dbxPipeline.run({
              mode: "cloud",
              params: { rows: 3, fail: true },
              quiet: true,
            })
              .then(() => undefined, (e) => e);
            seen.push(JSON.stringify(dbxPipeline.lastRun), String(error?.stack));
            assert.ok(error instanceof TaskError, String(error));
            assert.match(error.message, /RangeError: score was told to fail on 3 rows/);
          } finally {
            Deno.env.delete("DATABRICKS_HOST");
            Deno.env.delete("DATABRICKS_TOKEN");
            restore();
          }
        },
      );

      for (const text of [...seen, ...dbx.requests.filter((r) => !r.includes("authorization"))]) {
        assert.ok(!text.includes(TOKEN), "the token never reaches a response");
      }
    } finally {
      client.destroy();
      store.close();
      await secrets.stop();
      await lambda.stop();
      await dbx.stop();
      await s3.stop();
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
      await Deno.remove(workspace, { recursive: true }).catch(() => {});
    }
  },
});
