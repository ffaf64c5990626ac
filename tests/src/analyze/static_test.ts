import assert from "node:assert/strict";
import type { DAGNode, PipelineDAG } from "../../../src/dag.ts";
import { Pipeline } from "../../../src/pipeline.ts";
import { analyzeStatic } from "../../../src/analyze/static.ts";
import { GlacierError } from "../../../src/errors.ts";

const FIXTURES = new URL("../../fixtures/analyze/", import.meta.url);

async function load(file: string, name?: string): Promise<Pipeline> {
  const module = await import(new URL(file, FIXTURES).href);
  const pipelines = Object.values(module).filter((v): v is Pipeline => v instanceof Pipeline);
  const found = name ? pipelines.find((p) => p.name === name) : pipelines[0];
  assert.ok(found, `${file} exports pipeline ${name ?? "(any)"}`);
  return found;
}

const ids = (nodes: readonly DAGNode[]) => nodes.map((n) => n.id);

// Everything a node says that static analysis and tracing must agree on.
function shape(node: DAGNode) {
  return {
    id: node.id,
    task: { name: node.task.name, module: node.task.module },
    executor: node.executor.name,
    resource: node.resource,
    inputs: ids(node.inputs),
    reads: node.reads,
    writes: node.writes,
    dynamic: node.dynamic,
  };
}

function assertSameDag(actual: PipelineDAG, expected: PipelineDAG): void {
  assert.deepEqual(actual.nodes.map(shape), expected.nodes.map(shape));
  assert.deepEqual(actual.edges.map(ids), expected.edges.map(ids));
}

// For conditionals: every traced node is in the static DAG, with inputs among the static ones.
function assertTraceWithin(stat: PipelineDAG, trace: PipelineDAG): void {
  for (const node of trace.nodes) {
    const s = stat.get(node.id);
    assert.ok(s, `traced node "${node.id}" is in the static DAG`);
    assert.deepEqual([s.task.name, s.task.module], [node.task.name, node.task.module]);
    assert.deepEqual(s.resource, node.resource);
    for (const input of ids(node.inputs)) {
      assert.ok(ids(s.inputs).includes(input), `"${node.id}" takes "${input}" statically`);
    }
  }
}

// "line:column" (1-based) of the first occurrence of a text.
function position(source: string, text: string): string {
  const before = source.slice(0, source.indexOf(text)).split("\n");
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const SAME_AS_TRACE: [string, string?][] = [
  ["sequential.ts"],
  ["fan_out.ts"],
  ["fan_in.ts"],
  ["multi_output.ts"],
  ["cross_module/pipeline.ts"],
  ["clouds.ts", "gcp_pipeline"],
  ["clouds.ts", "azure_pipeline"],
  ["clouds.ts", "local_pipeline"],
  ["generated_200.ts"],
];

for (const [file, name] of SAME_AS_TRACE) {
  Deno.test(`analyzeStatic() gives the traced DAG for ${file}${name ? ` (${name})` : ""}`, async () => {
    const pipeline = await load(file, name);
    const result = await analyzeStatic(pipeline);
    assertSameDag(result.dag, await pipeline.trace());
    assert.deepEqual(result.undecided, []);
  });
}

Deno.test("analyzeStatic() agrees with tracing on dynamic_fan_out.ts but keeps the fixed count of the call after the map", async () => {
  const pipeline = await load("dynamic_fan_out.ts");
  const result = await analyzeStatic(pipeline);
  const traced = await pipeline.trace();
  const fixed = (n: DAGNode) => ({ ...shape(n), dynamic: n.id !== "listFiles" && n.id !== "combine" });
  assert.deepEqual(result.dag.nodes.map(shape), traced.nodes.map(fixed));
  assert.equal(result.dag.get("combine")?.dynamic, false);
  assert.equal(result.undecided.length, 1);
  assert.match(
    result.undecided[0],
    /dynamic_fan_out\.ts:\d+:\d+: task "processFile" reads "key", a key known only at run time/,
  );
});

Deno.test("analyzeStatic() keeps the edge from an awaited output to the one call given it", async () => {
  const pipeline = await load("awaited_input.ts");
  const result = await analyzeStatic(pipeline);
  assert.deepEqual(result.dag.get("count")?.inputs.map((n) => n.id), ["seed"]);
  assert.equal(result.dag.get("count")?.dynamic, false);
  assertSameDag(result.dag, await pipeline.trace({ n: 3 }));
});

Deno.test("analyzeStatic() reads the sequential pattern with executors, buckets and edges", async () => {
  const { dag } = await analyzeStatic(await load("sequential.ts"));
  assert.deepEqual(dag.nodes.map((n) => `${n.id}@${n.executor.name}`), [
    "extract@local",
    "clean@lambda",
    "enrich@databricks",
    "save@local",
  ]);
  assert.deepEqual(dag.edges.map(ids), [["extract", "clean"], ["clean", "enrich"], ["enrich", "save"]]);
  assert.deepEqual(dag.get("extract")!.reads, ["s3://data-lake/raw/orders.parquet"]);
  assert.deepEqual(dag.get("save")!.writes, ["s3://data-lake/output/orders.parquet"]);
  assert.equal(dag.get("clean")!.resource.config.memory, 2048);
  assert.equal(dag.get("clean")!.resource.config.timeout, 60);
});

Deno.test("analyzeStatic() marks the calls of a map over an awaited list dynamic, fed by the list", async () => {
  const { dag } = await analyzeStatic(await load("dynamic_fan_out.ts"));
  const processFile = dag.get("processFile")!;
  assert.equal(processFile.dynamic, true);
  assert.deepEqual(ids(processFile.inputs), ["listFiles"]);
  assert.equal(dag.get("listFiles")!.dynamic, false);
  assert.deepEqual(ids(dag.get("combine")!.inputs), ["processFile"]);
  assert.equal(dag.nodes.filter((n) => n.task.name === "processFile").length, 1);
});

Deno.test("analyzeStatic() numbers repeated calls in source order as tracing does", async () => {
  const { dag } = await analyzeStatic(await load("fan_in.ts"));
  assert.deepEqual(dag.nodes.map((n) => n.id).slice(0, 2), ["load", "load#2"]);
  assert.deepEqual(ids(dag.get("summarize")!.inputs), ["load", "load#2", "join"]);
  assert.deepEqual(ids(dag.get("publish")!.inputs), ["join", "summarize"]);
});

Deno.test("analyzeStatic() follows destructuring of arrays and objects of refs", async () => {
  const { dag } = await analyzeStatic(await load("multi_output.ts"));
  assert.deepEqual(ids(dag.get("fit")!.inputs), ["split", "stats"]);
  assert.deepEqual(ids(dag.get("score")!.inputs), ["fit", "split", "stats"]);
});

Deno.test("analyzeStatic() keeps both branches of a conditional with their conditions", async () => {
  const pipeline = await load("conditional.ts");
  const { dag } = await analyzeStatic(pipeline);
  assert.equal(dag.get("heavy")!.condition, "params.full");
  assert.equal(dag.get("light")!.condition, "!params.full");
  assert.deepEqual(ids(dag.get("save")!.inputs), ["heavy", "light"]);
  assert.equal(dag.get("save")!.condition, undefined);
  for (const full of [true, false]) {
    const trace = await pipeline.trace({ full });
    assert.equal(trace.nodes.length, 3);
    assertTraceWithin(dag, trace);
  }
});

Deno.test("analyzeStatic() analyzes if/else-if/else, ternary, switch and early return on every branch", async () => {
  const pipeline = await load("branches.ts");
  const { dag } = await analyzeStatic(pipeline);
  assert.deepEqual(dag.nodes.map((n) => n.id), [
    "load",
    "heavy",
    "fast",
    "light",
    "validate",
    "audit",
    "archive",
    "publish",
    "notify",
    "save",
  ]);
  assert.equal(dag.get("fast")!.condition, '!params.full && params.mode === "fast"');
  assert.equal(dag.get("light")!.condition, '!params.full && !(params.mode === "fast")');
  assert.equal(dag.get("validate")!.condition, "params.region");
  assert.equal(dag.get("audit")!.condition, 'params.mode === "audit"');
  assert.equal(dag.get("publish")!.condition, 'params.mode !== "audit" && params.mode !== "archive"');
  assert.equal(dag.get("save")!.condition, '!(params.mode === "dry")');
  assert.deepEqual(dag.get("save")!.writes, [dag.sinks[0].uri]);
  assert.deepEqual(ids(dag.get("save")!.inputs), ["validate", "heavy", "fast", "light"]);
  const runs = [{}, { full: true, region: "eu" }, { mode: "fast" }, { mode: "audit" }, { mode: "archive" }, {
    mode: "dry",
  }];
  for (const params of runs) assertTraceWithin(dag, await pipeline.trace(params));
});

Deno.test("analyzeStatic() unrolls loops over literal lists and counts, and makes one dynamic node otherwise", async () => {
  const pipeline = await load("loops.ts");
  const { dag } = await analyzeStatic(pipeline);
  assert.deepEqual(
    dag.nodes.map((n) => `${n.id}${n.dynamic ? "*" : ""}`),
    [
      "extractRegion",
      "extractRegion#2",
      "extractRegion#3",
      "backfill",
      "backfill#2",
      "regional*",
      "poll*",
      "merge",
    ],
  );
  assert.deepEqual(ids(dag.get("merge")!.inputs), [
    "extractRegion",
    "extractRegion#2",
    "extractRegion#3",
    "backfill",
    "backfill#2",
  ]);
  assertTraceWithin(dag, await pipeline.trace({}));
  assertTraceWithin(dag, await pipeline.trace({ regions: ["us"], polls: 1 }));
});

Deno.test("analyzeStatic() resolves tasks, resources and buckets across modules in ESM order", async () => {
  const { dag } = await analyzeStatic(await load("cross_module/pipeline.ts"));
  assert.deepEqual(dag.nodes.map((n) => `${n.id}@${n.executor.name}`), [
    "parse@lambda",
    "score@lambda_2",
    "parse#2@lambda",
    "score#2@lambda_2",
    "report@ec2",
  ]);
  assert.match(dag.get("report")!.task.module!, /cross_module\/more_tasks\.ts$/);
  assert.deepEqual(dag.get("parse")!.reads, ["s3://lake/in/"]);
  assert.equal(dag.get("score")!.resource.config.memory, 3008);
});

Deno.test("analyzeStatic() names resources and buckets as the provider does on GCP, Azure and a local root", async () => {
  const gcp = (await analyzeStatic(await load("clouds.ts", "gcp_pipeline"))).dag;
  assert.deepEqual(gcp.nodes.map((n) => n.executor.name), ["cloud_function", "cloud_function_2", "etl"]);
  assert.deepEqual(gcp.get("readA")!.reads, ["gs://gcs-lake/raw/a.parquet"]);
  const azure = (await analyzeStatic(await load("clouds.ts", "azure_pipeline"))).dag;
  assert.deepEqual(azure.nodes.map((n) => n.executor.name), ["azure_function", "azure_vm"]);
  assert.deepEqual(azure.get("azWrite")!.writes, ["az://container/out/b.csv"]);
  const local = (await analyzeStatic(await load("clouds.ts", "local_pipeline"))).dag;
  const expected = new URL(`file://${Deno.cwd()}/tmp-lake/local-lake/x/y.csv`).href;
  assert.deepEqual(local.get("touch")!.writes, [expected]);
  assert.equal(local.get("touch")!.executor.name, "workstation");
});

Deno.test("analyzeStatic() reports a task chosen at run time with its line and column", async () => {
  const pipeline = await load("undecided.ts");
  const result = await analyzeStatic(pipeline);
  assert.equal(result.undecided.length, 2);
  const source = await Deno.readTextFile(new URL("undecided.ts", FIXTURES));
  assert.ok(
    result.undecided[0].startsWith(
      `tests/fixtures/analyze/undecided.ts:${
        position(source, "pick(data)")
      }: the task called by "pick(...)" is chosen at run time`,
    ),
    result.undecided[0],
  );
  assert.match(result.undecided[0], /"quick", "thorough"/);
  assert.ok(
    result.undecided[1].includes(`undecided.ts:${position(source, "steps[")}: `),
    result.undecided[1],
  );
  assert.match(result.undecided[1], /computed key/);
  assert.deepEqual(result.dag.nodes.map((n) => n.id), ["load", "save"]);
  const traced = await pipeline.analyze({ trace: true, params: { fast: true } });
  assert.equal(traced.method, "trace");
  assert.deepEqual(traced.dag.nodes.map((n) => n.id), ["load", "quick", "quick#2", "save"]);
});

Deno.test("analyzeStatic() runs nothing of the module: no import, no task body, no run()", async () => {
  const dir = await Deno.makeTempDir();
  Deno.env.set("GLACIER_MARKER_DIR", dir);
  try {
    const module = new URL("no_run.ts", FIXTURES).href;
    const result = await analyzeStatic({ name: "no_run", module });
    assert.deepEqual(result.dag.nodes.map((n) => n.id), ["boom", "boom#2"]);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.env.delete("GLACIER_MARKER_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analyzeStatic() fails with a way out when the module declares no such pipeline", async () => {
  const module = new URL("fan_out.ts", FIXTURES).href;
  await assert.rejects(
    analyzeStatic({ name: "missing", module }),
    (error: unknown) =>
      error instanceof GlacierError && error.code === "USER:STATIC_NO_PIPELINE" &&
      error.message.includes('"fan_out"') && error.message.includes("trace: true"),
  );
});

Deno.test("Pipeline.analyze() reads the source by default and run({ mode: 'analyze' }) does the same", async () => {
  const pipeline = await load("conditional.ts");
  const analysis = await pipeline.analyze();
  assert.equal(analysis.method, "static");
  assert.ok(analysis.dag.get("heavy") && analysis.dag.get("light"));
  const viaRun = await pipeline.run({ mode: "analyze" }) as unknown as { method: string; dag: PipelineDAG };
  assert.equal(viaRun.method, "static");
  assert.equal(viaRun.dag.nodes.length, 4);
});

Deno.test("analyzeStatic() assumes defaults for config fields computed at run time and says so", async () => {
  const module = new URL("computed_config.ts", FIXTURES).href;
  const { dag, undecided } = await analyzeStatic({ name: "computed_config", module });
  assert.deepEqual(dag.nodes.map((n) => `${n.id}@${n.executor.name}`), ["load@lambda"]);
  assert.deepEqual(dag.get("load")!.reads, []);
  assert.equal(undecided.length, 3);
  assert.match(undecided[0], /new AwsConfig\(\.\.\.\): "region" computed at run time/);
  assert.match(undecided[1], /new LambdaConfig\(\.\.\.\): "memory" computed at run time/);
  assert.match(
    undecided[2],
    /"bucket\(\.\.\.\)": "path" computed at run time, so this bucket's URI is unknown/,
  );
});

Deno.test("analyzeStatic() treats a param default as one possible value, not the value", async () => {
  const pipeline = await load("param_defaults.ts");
  const { dag } = await analyzeStatic(pipeline);
  assert.deepEqual(dag.nodes.map((n) => [n.id, n.condition]), [["large", "full"], ["small", "!full"]]);
  assertTraceWithin(dag, await pipeline.trace({}));
  assertTraceWithin(dag, await pipeline.trace({ full: true }));
});
