// A deployed function's secret environment: `GLACIER_SECRET_<NAME>` names a
// Secrets Manager secret, read at start with the AWS SDK (GetSecretValue,
// signed with the function's credentials) into `<NAME>`. Tested against a
// Secrets Manager stand-in on 127.0.0.1 that checks the request the SDK sends,
// and through the Lambda runtime: the launcher polls Databricks with the
// token from the secret, and a secret it cannot read fails the init.
import assert from "node:assert/strict";
import { loadSecretEnvironment } from "../../../executors/lambda/_secrets.ts";
import { GlacierError } from "../../../src/errors.ts";
import { AWS_CREDENTIAL_VARIABLES, S3RVER_CREDENTIALS } from "../../support/s3rver.ts";
import {
  answerSecretRequest,
  type SecretRequest,
  startSecretsManager,
} from "../../support/secrets_manager.ts";

const RUNTIME = new URL("../../../executors/lambda/runtime.ts", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:glacier/p/DATABRICKS_TOKEN-AbC123";
const TOKEN = "dapi-from-the-secret";

// The SDK's environment pointed at the stand-in with dummy keys; no way to real credentials.
function awsEnvFor(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  };
}

function withEnv(values: Record<string, string>): () => void {
  const names = [...Object.keys(values), ...AWS_CREDENTIAL_VARIABLES];
  const old = Object.fromEntries(names.map((k) => [k, Deno.env.get(k)]));
  for (const k of AWS_CREDENTIAL_VARIABLES) Deno.env.delete(k);
  for (const [k, v] of Object.entries(values)) Deno.env.set(k, v);
  return () => {
    for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
}

function memoryEnv(values: Record<string, string>): Pick<typeof Deno.env, "get" | "set" | "toObject"> {
  const map = new Map(Object.entries(values));
  return {
    get: (k: string) => map.get(k),
    set: (k: string, v: string) => void map.set(k, v),
    toObject: () => Object.fromEntries(map),
  };
}

Deno.test("loadSecretEnvironment() reads each GLACIER_SECRET_<NAME> with GetSecretValue into <NAME>, and keeps a <NAME> already set", async () => {
  const server = startSecretsManager({ [ARN]: TOKEN });
  const seen = server.seen;
  const restore = withEnv(awsEnvFor(server.endpoint));
  try {
    const env = memoryEnv({
      GLACIER_SECRET_DATABRICKS_TOKEN: ARN,
      GLACIER_SECRET_API_KEY: `${ARN}-other`,
      API_KEY: "set locally",
    });
    assert.deepEqual(await loadSecretEnvironment({ env }), ["DATABRICKS_TOKEN"]);
    assert.equal(env.get("DATABRICKS_TOKEN"), TOKEN);
    assert.equal(env.get("API_KEY"), "set locally", "a variable already set wins, nothing is read for it");
    assert.equal(seen.length, 1);
    assert.equal(seen[0].target, "secretsmanager.GetSecretValue");
    assert.equal(seen[0].secretId, ARN);
    // Signed for Secrets Manager in the secret's region (from its ARN), with the SDK's credentials.
    assert.match(
      seen[0].authorization,
      /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, /,
    );
    assert.deepEqual(await loadSecretEnvironment({ env: memoryEnv({ API_KEY: "x" }) }), []);
  } finally {
    restore();
    await server.stop();
  }
});

Deno.test("loadSecretEnvironment() fails with USER:SECRET_READ naming the variable and the secret, never a value", async () => {
  const server = startSecretsManager({});
  const restore = withEnv(awsEnvFor(server.endpoint));
  try {
    const env = memoryEnv({ GLACIER_SECRET_DATABRICKS_TOKEN: ARN });
    await assert.rejects(
      () => loadSecretEnvironment({ env }),
      (e: unknown) =>
        e instanceof GlacierError && e.code === "USER:SECRET_READ" &&
        e.message.includes(`Cannot read DATABRICKS_TOKEN from secret ${ARN}`) &&
        /not authorized to perform: secretsmanager:GetSecretValue/.test(e.message) &&
        /the stack's input env_databricks_token/.test(e.message),
    );
    assert.equal(env.get("DATABRICKS_TOKEN"), undefined);
  } finally {
    restore();
    await server.stop();
  }
});

Deno.test("The Lambda runtime reads the launcher's Databricks token from its secret before the first invocation", async () => {
  const seen: SecretRequest[] = [];
  const bearers: (string | null)[] = [];
  const queue = [{ id: "poll-1", body: JSON.stringify({ poll: "databricks", runId: 7 }) }];
  const posts: { path: string; body: string }[] = [];
  let finished = Promise.withResolvers<void>();
  // One server plays the Runtime API, Secrets Manager and the Databricks workspace.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.headers.get("x-amz-target")) return answerSecretRequest(request, seen, { [ARN]: TOKEN });
    if (path === "/api/2.1/jobs/runs/get") {
      bearers.push(request.headers.get("authorization"));
      return Response.json({ run_id: 7, state: { life_cycle_state: "RUNNING" } });
    }
    if (path === "/2018-06-01/runtime/invocation/next") {
      const next = queue.shift();
      if (!next) {
        finished.resolve();
        return new Response("gone", { status: 500 });
      }
      return new Response(next.body, { headers: { "Lambda-Runtime-Aws-Request-Id": next.id } });
    }
    posts.push({ path, body: await request.text() });
    if (path.endsWith("/init/error")) finished.resolve();
    return new Response(JSON.stringify({ status: "OK" }), { status: 202 });
  });
  const dir = await Deno.makeTempDir();
  const manifest = { version: 1, pipeline: "p", root: "file:///x/", runtime: "executors/lambda/runtime.ts" };
  await Deno.writeTextFile(`${dir}/glacier.json`, JSON.stringify({ ...manifest, modules: [] }));
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  const run = async (secret: string) => {
    finished = Promise.withResolvers<void>();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", RUNTIME],
      cwd: ROOT,
      clearEnv: true,
      env: {
        ...Object.fromEntries(
          ["PATH", "HOME", "DENO_DIR"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
        ),
        ...awsEnvFor(endpoint),
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.addr.port}`,
        GLACIER_MANIFEST: `${dir}/glacier.json`,
        GLACIER_APP_ROOT: ROOT,
        GLACIER_PIPELINE: "p",
        DATABRICKS_HOST: endpoint,
        // What the generated stack gives the launcher: where the token is, not the token.
        GLACIER_SECRET_DATABRICKS_TOKEN: secret,
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await finished.promise;
    } finally {
      try {
        child.kill();
      } catch { /* it already exited */ }
      await child.status;
    }
  };
  try {
    await run(ARN);
    assert.deepEqual(bearers, [`Bearer ${TOKEN}`], "the poll carries the token read from the secret");
    assert.deepEqual(posts.map((p) => p.path), ["/2018-06-01/runtime/invocation/poll-1/response"]);
    assert.deepEqual(JSON.parse(posts[0].body), { state: "RUNNING" });
    assert.equal(seen.length, 1, "the secret is read once, at start");

    // A secret the role may not read: the function fails its init, naming the secret, and runs nothing.
    posts.length = 0;
    queue.push({ id: "poll-2", body: JSON.stringify({ poll: "databricks", runId: 7 }) });
    await run(`${ARN}-missing`);
    assert.deepEqual(posts.map((p) => p.path), ["/2018-06-01/runtime/init/error"]);
    const error = JSON.parse(posts[0].body);
    assert.match(error.errorMessage, /Cannot read DATABRICKS_TOKEN from secret .*-missing/);
    assert.equal(bearers.length, 1, "no Databricks call without the token");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
