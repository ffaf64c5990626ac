// Secrets in the environment never reach what Glacier writes: run reports,
// checkpoints, cache entries, task payloads on the wire to a VM, or logs.
import assert from "node:assert/strict";
import { join } from "node:path";

const SECRET = "GlacierTestSecret0123456789abcdefXYZ";
const FIXTURE = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else out.push(path);
  }
  return out;
}

Deno.test("credentials in the environment appear in no report, checkpoint, cache entry or log", async () => {
  const cwd = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  // The pipeline module in the temp folder, so its project (and .glacier/) is that folder.
  const tasks = (await Deno.readTextFile(new URL(FIXTURE))).replace(
    '"../../mod.ts"',
    JSON.stringify(new URL("../mod.ts", import.meta.url).href),
  );
  await Deno.writeTextFile(join(cwd, "tasks.ts"), tasks);
  const script = `
    import * as fx from "./tasks.ts";
    await fx.cachePipeline.run({ params: { dir: ${JSON.stringify(dir)}, n: 100 } });
    try { await fx.resumePipeline.run({ params: { dir: ${
    JSON.stringify(dir)
  } } }); } catch (e) { console.error(String(e)); }
    await fx.resumePipeline.run({ resume: true });
    // A resumed run that succeeds removes its checkpoints: fail once more to keep some.
    const again = await Deno.makeTempDir();
    try { await fx.resumePipeline.run({ params: { dir: again } }); } catch (e) { console.error(String(e)); }
  `;
  const file = join(cwd, "run.ts");
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, file],
    cwd,
    env: {
      AWS_ACCESS_KEY_ID: "AKIA" + SECRET.slice(0, 16),
      AWS_SECRET_ACCESS_KEY: SECRET,
      DATABRICKS_TOKEN: "dapi" + SECRET,
    },
  }).output();
  const logs = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, logs);
  const written = (await filesUnder(join(cwd, ".glacier"))).filter((f) => !f.endsWith(".ts"));
  const kinds = new Set(written.map((f) => f.split("/.glacier/")[1].split("/")[0]));
  assert.deepEqual([...kinds].sort(), ["cache", "runs"]); // every kind of output was written
  // Small outputs are checkpointed inside the run's journal, which is read below too.
  const journals = written.filter((f) => f.endsWith(".journal.jsonl"));
  assert.ok(
    (await Promise.all(journals.map((f) => Deno.readTextFile(f)))).some((t) => t.includes('"inline"')),
    "a checkpoint was written",
  );
  for (const path of written) {
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder("latin1").decode(bytes);
    assert.ok(!text.includes(SECRET.slice(0, 16)), `${path} holds a credential`);
  }
  assert.ok(!logs.includes(SECRET.slice(0, 16)), "the logs hold a credential");
});

Deno.test("generated infrastructure and orchestrator files hold no credential from the environment", async () => {
  const out = await Deno.makeTempDir();
  const script = `
    import { mlInference } from ${
    JSON.stringify(new URL("../examples/ml_inference.ts", import.meta.url).href)
  };
    for (const format of ["terraform", "cloudformation", "pulumi"]) await mlInference.generate({ format, outputDir: ${
    JSON.stringify(out)
  } + "/" + format });
    for (const orchestrator of ["step_functions", "airflow", "prefect", "dagster"]) {
      await mlInference.deploy({ orchestrator, schedule: "0 6 * * *", outputDir: ${
    JSON.stringify(out)
  } + "/" + orchestrator });
    }
  `;
  const file = join(await Deno.makeTempDir(), "generate.ts");
  await Deno.writeTextFile(file, script);
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, file],
    env: {
      AWS_SECRET_ACCESS_KEY: SECRET,
      DATABRICKS_TOKEN: "dapi" + SECRET,
      AWS_ACCESS_KEY_ID: "AKIA" + SECRET.slice(0, 16),
    },
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const files = await filesUnder(out);
  assert.ok(files.length >= 15, `${files.length} files generated`);
  for (const path of files) {
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes(SECRET.slice(0, 16)), `${path} holds a credential`);
    assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}/, `${path} holds an access key id`);
  }
});

// Sandbox and secrets
// A narrowed task reaches nothing outside what it was granted, through a link
// or through the project folder; a local bucket stays inside its folder; an
// endpoint's password never reaches a message; the cloud demo's emulators get
// only their own credentials.
import { GlacierError as SandboxGlacierError, LocalConfig as SandboxLocalConfig } from "../mod.ts";
import { Provider as SandboxProvider } from "../mod.ts";
import { createS3Store as sandboxS3Store } from "../stores/s3.ts";
import { createGcsStore as sandboxGcsStore } from "../stores/gcs.ts";
import { AwsConfig as SandboxAwsConfig } from "../src/config/aws.ts";
import { redactUrl, redactUrls } from "../src/_redact.ts";
import { s3rverStore, useS3rverEnv } from "./support/s3rver.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const PASSWD = "root:x:0:0:GlacierFakePasswd:/root:/bin/bash";
const ENV_SECRET = "GlacierDotEnvSecret9876543210";

// A project folder of its own: a deno.json, a `.env` with a secret, `data/`
// with the task's own file, and a pipeline module whose tasks are narrowed to
// `./data`. `run.ts` runs one pipeline in a fresh process with the project as
// its cwd and prints what came back.
async function sandboxProject(): Promise<{ dir: string; outside: string }> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-sandbox-" });
  const outside = join(await Deno.makeTempDir(), "passwd");
  await Deno.writeTextFile(outside, PASSWD);
  await Deno.mkdir(join(dir, "data"));
  await Deno.writeTextFile(join(dir, "data", "own.csv"), "id\n1\n2\n");
  await Deno.writeTextFile(join(dir, ".env"), `AWS_SECRET_ACCESS_KEY=${ENV_SECRET}\n`);
  await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    `import { pipeline, Provider } from ${JSON.stringify(MOD)};
const local = new Provider().local();
export const readData = local.task({ permissions: { read: ["./data"] } }, function readData(name: string): Promise<string> {
  return Deno.readTextFile("./data/" + name);
});
export const readDotEnv = local.task({ permissions: { read: ["./data"] } }, function readDotEnv(): Promise<string> {
  return Deno.readTextFile("./.env");
});
export const grantedDotEnv = local.task({ permissions: { read: ["./.env"] } }, function grantedDotEnv(): Promise<boolean> {
  return Deno.readTextFile("./.env").then((text) => text.includes(${JSON.stringify(ENV_SECRET)}));
});
export const data = pipeline({ name: "sandbox_data" }, (params: { name: string }) => readData(params.name));
export const dotEnv = pipeline({ name: "sandbox_env" }, () => readDotEnv());
export const granted = pipeline({ name: "sandbox_granted" }, () => grantedDotEnv());
`,
  );
  await Deno.writeTextFile(
    join(dir, "run.ts"),
    `const mod = await import(${JSON.stringify(new URL("file://" + join(dir, "pipeline.ts")).href)});
const [name, arg] = Deno.args;
try {
  const value = await mod[name].run({ quiet: true, params: { name: arg } });
  console.log(JSON.stringify({ value }));
} catch (e) {
  console.log(JSON.stringify({ error: { name: e.name, code: e.code, message: e.message } }));
}
`,
  );
  return { dir, outside };
}

interface SandboxRun {
  value?: unknown;
  error?: { name: string; code: string; message: string };
  logs: string;
  written: string;
}

async function runInProject(dir: string, name: string, arg = ""): Promise<SandboxRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, join(dir, "run.ts"), name, arg],
    cwd: dir,
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const logs = stdout + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, logs);
  const reports = await filesUnder(join(dir, ".glacier")).catch(() => []);
  const written = (await Promise.all(reports.map((f) => Deno.readTextFile(f)))).join("\n");
  return { ...JSON.parse(stdout.trim().split("\n").at(-1)!), logs, written };
}

Deno.test("a link inside a granted folder that points outside fails the task, naming the link and its target", async () => {
  const { dir, outside } = await sandboxProject();
  await Deno.symlink(outside, join(dir, "data", "passwd"));
  const run = await runInProject(dir, "data", "passwd");
  assert.equal(run.value, undefined);
  assert.equal(run.error?.name, "TaskError");
  assert.equal(run.error?.code, "USER:PERMISSION_SYMLINK");
  assert.ok(run.error!.message.includes('Task "readData" of pipeline "sandbox_data"'), run.error!.message);
  const found = join(await Deno.realPath(join(dir, "data")), "passwd"); // as the walk met it
  assert.ok(run.error!.message.includes(JSON.stringify(found)), run.error!.message);
  assert.ok(run.error!.message.includes(JSON.stringify(await Deno.realPath(outside))), run.error!.message);
  assert.match(run.error!.message, /remove the link, or grant .* in the task's "permissions" option/);
  assert.ok(!run.logs.includes("GlacierFakePasswd"), "the linked file's content was printed");
  assert.ok(!run.written.includes("GlacierFakePasswd"), "the linked file's content was written");
});

Deno.test("a link out of a granted folder is allowed once its target is granted explicitly", async () => {
  const { dir, outside } = await sandboxProject();
  await Deno.symlink(outside, join(dir, "data", "passwd"));
  const module = join(dir, "pipeline.ts");
  const source = await Deno.readTextFile(module);
  await Deno.writeTextFile(
    module,
    source.replace('read: ["./data"] }', `read: ["./data", ${JSON.stringify(outside)}] }`),
  );
  const run = await runInProject(dir, "data", "passwd");
  assert.equal(run.value, PASSWD, run.logs);
});

Deno.test("a narrowed task cannot read the project's .env, and its own data still reads", async () => {
  const { dir } = await sandboxProject();
  const denied = await runInProject(dir, "dotEnv");
  assert.equal(denied.error?.name, "TaskError");
  assert.equal(denied.error?.code, "USER:PERMISSION_DENIED");
  assert.match(denied.error!.message, /Task "readDotEnv".*read access to ".*\.env"/);
  for (const text of [denied.logs, denied.written]) {
    assert.ok(!text.includes(ENV_SECRET), "the .env secret leaked");
  }
  const own = await runInProject(dir, "data", "own.csv");
  assert.equal(own.value, "id\n1\n2\n", own.logs);
  // Listing .env explicitly still grants it.
  const granted = await runInProject(dir, "granted");
  assert.equal(granted.value, true, granted.logs);
});

Deno.test("a local bucket refuses get, put, list, exists and delete through a link that points outside", async () => {
  const root = await Deno.makeTempDir();
  const outsideDir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(outsideDir, "secret.csv"), `a\n${PASSWD}\n`);
  await Deno.mkdir(join(root, "lake", "raw"), { recursive: true });
  await Deno.writeTextFile(join(root, "lake", "raw", "real.csv"), "a\n1\n");
  await Deno.symlink(join(outsideDir, "secret.csv"), join(root, "lake", "raw", "leak.csv"));
  await Deno.symlink(outsideDir, join(root, "lake", "out"));
  await Deno.symlink(join(root, "lake", "raw", "real.csv"), join(root, "lake", "alias.csv"));
  const p = new SandboxProvider({ config: new SandboxLocalConfig({ root }) });
  const refused = (uri: RegExp) => (e: Error) => {
    assert.ok(e instanceof SandboxGlacierError, String(e));
    assert.equal(e.code, "USER:PATH_OUTSIDE_BUCKET");
    assert.match(e.message, uri);
    assert.ok(e.message.includes(`resolves to "${Deno.realPathSync(outsideDir)}`), e.message); // the target
    assert.match(e.message, /remove the link/);
    assert.ok(!e.message.includes("GlacierFakePasswd"));
    return true;
  };
  const leak = p.bucket({ bucket: "lake", path: "raw/leak.csv" });
  await assert.rejects(() => leak.read(), refused(/Cannot read "file:\/\/.*\/lake\/raw\/leak\.csv"/));
  await assert.rejects(() => leak.scanArrow(), refused(/lake\/raw\/leak\.csv/));
  await assert.rejects(() => leak.exists(), refused(/Cannot check/));
  await assert.rejects(() => leak.put("a\n2\n"), refused(/Cannot write/));
  await assert.rejects(() => leak.delete(), refused(/Cannot delete/));
  assert.equal(await Deno.readTextFile(join(outsideDir, "secret.csv")), `a\n${PASSWD}\n`); // not written through
  assert.ok((await Deno.lstat(join(root, "lake", "raw", "leak.csv"))).isSymlink); // nor replaced
  // A linked folder: nothing is written, listed or read through it.
  const through = p.bucket({ bucket: "lake", path: "out/new.csv" });
  await assert.rejects(
    () => through.put("a\n1\n"),
    refused(/Cannot write "file:\/\/.*\/lake\/out\/new\.csv"/),
  );
  assert.deepEqual([...Deno.readDirSync(outsideDir)].map((e) => e.name), ["secret.csv"]);
  await assert.rejects(() => p.bucket({ bucket: "lake", path: "out/" }).list(), refused(/Cannot list/));
  await assert.rejects(
    () => p.bucket({ bucket: "lake", path: "out/secret.csv" }).read(),
    refused(/Cannot read/),
  );
  await assert.rejects(() => p.bucket({ bucket: "lake", path: "" }).list(), refused(/Cannot list/));
  await assert.rejects(() => p.bucket({ bucket: "lake", path: "raw/" }).list(), refused(/raw\/leak\.csv/));
  // A link that stays inside the bucket works, and a listing that meets no bad link is unchanged.
  assert.equal(
    new TextDecoder().decode(await p.bucket({ bucket: "lake", path: "alias.csv" }).read()),
    "a\n1\n",
  );
  await Deno.remove(join(root, "lake", "raw", "leak.csv"));
  assert.deepEqual(await p.bucket({ bucket: "lake", path: "raw/" }).list(), ["raw/real.csv"]);
});

Deno.test("a password in an S3 or Cloud Storage endpoint appears in no error message", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const endpoint = `http://glacier:secretpass@127.0.0.1:${port}`;
  const messages: string[] = [];
  const s3 = s3rverStore(endpoint);
  try {
    await assert.rejects(() => s3.get("lake", "x.csv"), (e: Error) => (messages.push(e.message), true));
  } finally {
    s3.close();
  }
  const configured = sandboxS3Store(
    new SandboxAwsConfig({ region: "us-east-1", endpoint, forcePathStyle: true }),
    { maxAttempts: 1 },
  );
  try {
    await assert.rejects(() => configured.put("lake", "x.csv", new Uint8Array(1)), (e: Error) => {
      messages.push(e.message);
      return true;
    });
  } finally {
    configured.close();
  }
  const gcs = sandboxGcsStore(undefined, { endpoint, maxAttempts: 1 });
  await assert.rejects(() => gcs.list("lake", ""), (e: Error) => (messages.push(e.message), true));
  assert.equal(messages.length, 3);
  for (const message of messages) {
    assert.ok(!message.includes("secretpass"), message);
    assert.ok(message.includes(`***@127.0.0.1:${port}`) || /credentials/i.test(message), message);
  }
  assert.equal(configured.endpoint, `http://***@127.0.0.1:${port}`);
});

Deno.test("redactUrls hides userinfo and signed query values, and leaves other text alone", () => {
  const signed =
    "https://lake.s3.amazonaws.com/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F2024&X-Amz-Signature=abc123&X-Amz-Security-Token=tok";
  assert.equal(
    redactUrls(`GET ${signed} failed`),
    "GET https://lake.s3.amazonaws.com/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=*** failed",
  );
  assert.equal(
    redactUrls("at https://u:p@ss@h.example/api?token=t&page=2"),
    "at https://***@h.example/api?token=***&page=2",
  );
  assert.equal(redactUrl("user:pw@127.0.0.1:9023"), "***@127.0.0.1:9023"); // STORAGE_EMULATOR_HOST without a scheme
  const plain = 'Cannot read s3://lake/x.csv: bucket "lake" does not exist; ssh ubuntu@10.0.0.1 said no';
  assert.equal(redactUrls(plain), plain);
  assert.equal(new SandboxGlacierError("USER:X", "at http://a:b@h/").message, "at http://***@h/");
});

Deno.test("the cloud demo's S3 environment drops a real session token and profile", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    seen.push([...request.headers].map(([k, v]) => `${k}: ${v}`).join("\n"));
    return new Response("", { status: 200 });
  });
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  const before = { token: Deno.env.get("AWS_SESSION_TOKEN"), profile: Deno.env.get("AWS_PROFILE") };
  Deno.env.set("AWS_SESSION_TOKEN", "GlacierRealSessionToken0123456789");
  Deno.env.set("AWS_PROFILE", "glacier-real-profile");
  const restore = useS3rverEnv(endpoint);
  try {
    assert.equal(Deno.env.get("AWS_SESSION_TOKEN"), undefined);
    assert.equal(Deno.env.get("AWS_PROFILE"), undefined);
    const store = sandboxS3Store(new SandboxAwsConfig({ region: "us-east-1", forcePathStyle: true }));
    try {
      await store.put("lake", "x.txt", new TextEncoder().encode("hi"));
    } finally {
      store.close();
    }
  } finally {
    restore();
    await server.shutdown();
  }
  assert.equal(Deno.env.get("AWS_SESSION_TOKEN"), "GlacierRealSessionToken0123456789"); // restored
  for (const [k, v] of Object.entries({ AWS_SESSION_TOKEN: before.token, AWS_PROFILE: before.profile })) {
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  assert.ok(seen.length >= 1);
  for (const headers of seen) {
    assert.ok(!headers.includes("GlacierRealSessionToken"), headers);
    assert.match(headers, /Credential=S3RVER\//);
  }
});

// Injection into generated code (codegen escaping)
// The review's reproduction: a description that closes the module docstring
// of the generated Airflow, Prefect and Dagster files with `"""` and runs a
// command. Each file is executed for real by python3, with the orchestrator
// libraries stubbed so every top-level statement runs; the command would
// create a marker file.
import { pathToFileURL as codegenFileUrl } from "node:url";
import { STUB_RUN_PROGRAM as codegenStubProgram } from "./src/codegen/_injection.ts";
import type { Pipeline as CodegenPipeline } from "../mod.ts";

async function codegenRunPython(source: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("python3", {
    args: ["-c", codegenStubProgram],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const done = await child.output();
  return {
    code: done.code,
    out: new TextDecoder().decode(done.stdout) + new TextDecoder().decode(done.stderr),
  };
}

async function codegenMarkerExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test('a description holding """ and os.system runs nothing when the generated Airflow, Prefect and Dagster files run', async () => {
  const dir = await Deno.makeTempDir();
  const marker = join(dir, "injected");
  const description = `Daily orders"""\nimport os; os.system("touch ${marker}")\n"""`;
  const module = join(dir, "injected.ts");
  await Deno.writeTextFile(
    module,
    `import { pipeline, Provider } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
const local = new Provider().local();
export const load = local.task(function load() {
  return 1;
});
export const injected = pipeline({ name: "injected", description: ${JSON.stringify(description)} }, () => {
  load();
});
`,
  );
  const { injected } = await import(codegenFileUrl(module).href) as { injected: CodegenPipeline };
  for (const orchestrator of ["airflow", "prefect", "dagster"]) {
    const { files } = await injected.deploy({ orchestrator });
    const source = Object.values(files)[0];
    const run = await codegenRunPython(source);
    assert.equal(run.code, 0, `${orchestrator}: ${run.out}`);
    assert.match(run.out, /GLACIER_MODULE_RAN/, `${orchestrator}: the module did not run to its end`);
    assert.equal(await codegenMarkerExists(marker), false, `${orchestrator}: the description ran a command`);
    // The same file with the description written raw, as before the fix: the harness sees the command run.
    const escaped = JSON.stringify(description).slice(1, -1);
    assert.ok(
      source.includes(`: ${escaped}.`),
      `${orchestrator}: the docstring holds the escaped description`,
    );
    const unfixed = source.replace(`: ${escaped}.`, `: ${description}.`);
    await codegenRunPython(unfixed);
    assert.equal(
      await codegenMarkerExists(marker),
      true,
      `${orchestrator}: the harness would not see the bug`,
    );
    await Deno.remove(marker);
  }
});

Deno.test("a staging prefix holding ${EnvApiKey} is refused, and a forged one stays literal text in Fn::Sub", async () => {
  const { AwsConfig, LambdaConfig, Provider } = await import("../mod.ts");
  const { PipelineAnalysis } = await import("../src/analyze/analysis.ts");
  const { PipelineDAG } = await import("../src/dag.ts");
  const { generateInfrastructure } = await import("../src/codegen/generate.ts");
  assert.throws(
    () => new AwsConfig({ stagingBucket: "s3://stage-bucket/${EnvApiKey}/" }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.includes('AwsConfig: "stagingBucket" is "s3://stage-bucket/${EnvApiKey}/"'),
  );
  // Past the constructor (a config built some other way), CloudFormation still reads the prefix as text.
  const forged = Object.assign(Object.create(AwsConfig.prototype), {
    cloud: "aws",
    region: "us-east-1",
    stagingBucket: "s3://stage-bucket/${EnvApiKey}/",
  });
  const fn = new Provider({ config: new AwsConfig() }).serverless({
    config: new LambdaConfig({ environment: ["API_KEY"] }),
  });
  const dag = new PipelineDAG("forged", [{ id: "load", task: { name: "load" }, resource: fn.info() }]);
  const { files } = generateInfrastructure({
    analysis: new PipelineAnalysis(dag, "static"),
    options: new Map(),
    providers: [forged],
    source: "forged.ts",
  }, "cloudformation");
  const subs = [...files["template.yaml"].matchAll(/Fn::Sub: (".*")$/gm)].map((m) =>
    JSON.parse(m[1]) as string
  );
  assert.equal(subs.filter((t) => t.includes("${!EnvApiKey}/runs/*")).length, 2, subs.join("\n"));
  for (const t of subs) {
    assert.ok(!t.includes("${EnvApiKey}"), `Fn::Sub ${t} references the NoEcho parameter from an IAM policy`);
  }
});

Deno.test("a ${...} in a Databricks workspace URL is written $${...} in Terraform, never interpolated", async () => {
  const { AwsConfig, DatabricksConfig, Provider } = await import("../mod.ts");
  const { PipelineAnalysis } = await import("../src/analyze/analysis.ts");
  const { PipelineDAG } = await import("../src/dag.ts");
  const { generateInfrastructure } = await import("../src/codegen/generate.ts");
  const { parse } = await import("@cdktf/hcl2json");
  const cluster = new Provider({ config: new AwsConfig() }).cluster({
    config: new DatabricksConfig({
      clusterId: "0101-123456-abcdefgh",
      host: 'https://dbc.example.com/${file("~/.ssh/id_rsa")}',
    }),
  });
  const dag = new PipelineDAG("dbx", [{ id: "train", task: { name: "train" }, resource: cluster.info() }]);
  const { files } = generateInfrastructure({
    analysis: new PipelineAnalysis(dag, "static"),
    options: new Map(),
    providers: [new AwsConfig()],
    source: "dbx.ts",
  }, "terraform");
  const main = await parse("main.tf", files["main.tf"]) as {
    variable: Record<string, { default: string }[]>;
  };
  // hcl2json keeps template escapes: `$${` is the literal text `${`.
  assert.equal(main.variable.databricks_host[0].default, 'https://dbc.example.com/$${file("~/.ssh/id_rsa")}');
});
