import assert from "node:assert/strict";
import {
  AwsConfig,
  AzureConfig,
  AzureFunctionConfig,
  AzureVMConfig,
  CloudFunctionConfig,
  ComputeEngineConfig,
  DatabricksConfig,
  DataprocConfig,
  EC2Config,
  EMRConfig,
  GcpConfig,
  GlacierError,
  LambdaConfig,
  Provider,
  SparkConfig,
} from "../../mod.ts";
import { type DAGNode, type DAGNodeInit, PipelineDAG } from "../../src/dag.ts";
import { ExecutionResource } from "../../src/resources/execution.ts";
import { resourceFromInfo } from "../../src/resources/_from_info.ts";
import { analyzeStatic } from "../../src/analyze/static.ts";
import { traceIsolated } from "../../src/analyze/trace_isolated.ts";
import { isTask } from "../../src/task.ts";
import { sequential } from "../fixtures/analyze/sequential.ts";

const resource = { kind: "local", service: "local", name: "local", config: {} } as const;
const lambda = { kind: "serverless", service: "lambda", name: "lambda", config: { memory: 1024 } } as const;
const node = (id: string, inputs: string[] = [], extra: Partial<DAGNodeInit> = {}): DAGNodeInit => ({
  id,
  task: { name: id.split("#")[0] },
  resource,
  inputs,
  ...extra,
});
const ids = (nodes: readonly DAGNode[]) => nodes.map((n) => n.id);

Deno.test("stages group a fan-out between its source and its fan-in", () => {
  const dag = new PipelineDAG("p", [
    node("load"),
    node("a", ["load"]),
    node("b", ["load"]),
    node("c", ["load"]),
    node("join", ["a", "b", "c"]),
  ]);
  assert.deepEqual(dag.stages().map((s) => s.map((n) => n.id)), [["load"], ["a", "b", "c"], ["join"]]);
  assert.deepEqual(ids(dag.get("load")!.outputs), ["a", "b", "c"]);
  assert.equal(dag.edges.length, 6);
});

Deno.test("a diamond puts the join after the longer branch", () => {
  const dag = new PipelineDAG("p", [
    node("s"),
    node("l1", ["s"]),
    node("l2", ["l1"]),
    node("r", ["s"]),
    node("j", ["l2", "r"]),
  ]);
  assert.deepEqual(dag.stages().map((s) => s.map((n) => n.id)), [["s"], ["l1", "r"], ["l2"], ["j"]]);
  const order = dag.topologicalSort().map((n) => n.id);
  for (const [{ id: from }, { id: to }] of dag.edges) {
    assert.ok(order.indexOf(from) < order.indexOf(to), `${from} before ${to}`);
  }
});

Deno.test("a 1,000-node chain sorts in order and has 1,000 stages", () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => node(`n#${i + 1}`, i ? [`n#${i}`] : []));
  const dag = new PipelineDAG("chain", nodes.reverse());
  assert.equal(dag.stages().length, 1000);
  assert.deepEqual(dag.topologicalSort().slice(0, 3).map((n) => n.id), ["n#1", "n#2", "n#3"]);
});

Deno.test("a cycle, an unknown input or a repeated id is refused", () => {
  assert.throws(
    () => new PipelineDAG("p", [node("a", ["b"]), node("b", ["a"])]),
    (e: Error) => e instanceof GlacierError && /cycle through "a", "b"/.test(e.message),
  );
  assert.throws(() => new PipelineDAG("p", [node("a", ["ghost"])]), /takes input "ghost"/);
  assert.throws(() => new PipelineDAG("p", [node("a"), node("a")]), /two nodes with id "a"/);
});

Deno.test("sources and sinks come from reads and writes; pictures show them", () => {
  const dag = new PipelineDAG("etl", [
    node("extract", [], { reads: ["s3://lake/raw.csv"] }),
    node("clean", ["extract"], { resource: lambda, dynamic: true }),
    node("save", ["clean"], { writes: ["s3://lake/out.parquet"], condition: "params.save" }),
  ]);
  assert.deepEqual(dag.sources, [{ uri: "s3://lake/raw.csv", nodes: ["extract"] }]);
  assert.deepEqual(dag.sinks, [{ uri: "s3://lake/out.parquet", nodes: ["save"] }]);
  const mermaid = dag.toMermaid();
  assert.match(mermaid, /^flowchart LR/);
  assert.match(mermaid, /\[\("s3:\/\/lake\/raw.csv"\)\]/);
  assert.match(mermaid, /\[\["clean<br\/><small>lambda<\/small>"\]\]/); // dynamic as a stack
  assert.match(mermaid, /\{\{"save/); // conditional as a hexagon
  assert.match(mermaid, /classDef serverless/);
  const dot = dag.toDot();
  assert.match(dot, /"extract" -> "clean";/);
  assert.match(dot, /"s3:\/\/lake\/raw.csv" -> "extract" \[style=dashed\]/);
  assert.match(dot, /"clean" \[.*peripheries=2/);
  assert.deepEqual(JSON.parse(JSON.stringify(dag)).edges, [{ from: "extract", to: "clean" }, {
    from: "clean",
    to: "save",
  }]);
});

// The seed's DAGNode: inputs and outputs are the nodes of dag.nodes, edges are
// node pairs, and every node's executor is the ExecutionResource it runs on.
function assertLinked(dag: PipelineDAG): void {
  const nodes = new Set(dag.nodes);
  for (const node of dag.nodes) {
    for (const input of node.inputs) {
      assert.ok(nodes.has(input), `input "${input.id}" of "${node.id}" is a node of dag.nodes`);
      assert.ok(input.outputs.includes(node), `"${input.id}" lists "${node.id}" in its outputs`);
    }
    for (const output of node.outputs) assert.ok(nodes.has(output) && output.inputs.includes(node));
    assert.ok(node.executor instanceof ExecutionResource, `"${node.id}" runs on an ExecutionResource`);
    assert.deepEqual(node.resource, node.executor.info());
  }
  for (const [from, to] of dag.edges) {
    assert.ok(nodes.has(from) && nodes.has(to) && to.inputs.includes(from));
  }
  assert.equal(dag.edges.length, dag.nodes.reduce((n, node) => n + node.inputs.length, 0));
}

function assertSequential(dag: PipelineDAG): void {
  assertLinked(dag);
  const [extract, clean, enrich, save] = ["extract", "clean", "enrich", "save"].map((id) => dag.get(id)!);
  assert.deepEqual(dag.nodes, [extract, clean, enrich, save]);
  assert.deepEqual(dag.edges, [[extract, clean], [clean, enrich], [enrich, save]]);
  assert.equal(clean.inputs[0], extract);
  assert.equal(clean.outputs[0], enrich);
  assert.equal(extract.executor, save.executor, "nodes on one resource share its object");
  assert.deepEqual(
    dag.nodes.map((n) => [n.executor.kind, n.executor.service, n.executor.name, n.executor.cloud]),
    [
      ["local", "local", "local", "aws"],
      ["serverless", "lambda", "lambda", "aws"],
      ["cluster", "databricks", "databricks", "aws"],
      ["local", "local", "local", "aws"],
    ],
  );
  assert.ok(clean.executor.config instanceof LambdaConfig);
  assert.equal(clean.executor.config.memory, 2048);
  assert.equal(clean.executor.config.timeout, 60);
  assert.ok(enrich.executor.config instanceof DatabricksConfig);
  assert.equal(enrich.executor.config.clusterId, "0101-123456-abcdefgh");
  assert.equal(extract.executor.config, undefined);
  const json = JSON.parse(JSON.stringify(dag));
  assert.deepEqual(json.edges, [
    { from: "extract", to: "clean" },
    { from: "clean", to: "enrich" },
    { from: "enrich", to: "save" },
  ]);
  assert.deepEqual(json.nodes.map((n: { executor: string }) => n.executor), [
    "local",
    "lambda",
    "databricks",
    "local",
  ]);
  assert.deepEqual(json.nodes[1].inputs, ["extract"]);
  assert.deepEqual(json.nodes[1].outputs, ["enrich"]);
  assert.deepEqual(json.nodes[1].task, { name: "clean", module: clean.task.module });
  assert.deepEqual(json.resources.lambda, clean.executor.info());
}

Deno.test("a traced DAG links its nodes and holds each call's Task and ExecutionResource", async () => {
  const dag = await sequential.trace();
  assertSequential(dag);
  const clean = dag.get("clean")!;
  assert.ok(isTask(clean.task), "a traced node holds the Task itself");
  assert.equal(clean.task.name, "clean");
  assert.equal((clean.task as unknown as { resource: ExecutionResource }).resource, clean.executor);
});

Deno.test("a static DAG links its nodes and holds ExecutionResources built with Glacier's configs", async () => {
  const { dag } = await analyzeStatic(sequential);
  assertSequential(dag);
  assert.deepEqual(dag.get("clean")!.task, { name: "clean", module: sequential.module });
  const traced = await sequential.trace();
  assert.deepEqual(JSON.stringify(dag), JSON.stringify(traced), "both give the same plain form");
});

Deno.test("a DAG traced in the sandbox rebuilds its ExecutionResources from the child's JSON", async () => {
  const file = new URL("../fixtures/analyze/sequential.ts", import.meta.url).pathname;
  const analysis = await traceIsolated(file, "sequential");
  assertSequential(analysis.dag);
  assert.deepEqual(JSON.stringify(analysis.dag), JSON.stringify(await sequential.trace()));
  assert.deepEqual(Object.keys(analysis.executors), ["extract", "clean", "enrich", "save"]);
  assert.equal(analysis.executors.clean, analysis.dag.get("clean")!.executor);
});

Deno.test("a DAG built from plain resource data rebuilds its ExecutionResources", () => {
  const lambdaInfo = new Provider({ config: new AwsConfig() }).serverless({
    config: new LambdaConfig({ memory: 512 }),
  }).info();
  const dag = new PipelineDAG("plain", [
    node("a"),
    node("b", ["a"], { resource: lambdaInfo }),
    node("c", ["a"]),
  ]);
  assertLinked(dag);
  const [a, b, c] = dag.nodes;
  assert.ok(b.executor.config instanceof LambdaConfig);
  assert.equal(b.executor.config.memory, 512);
  assert.equal(b.executor.cloud, "aws");
  assert.equal(a.executor, c.executor);
  assert.equal(a.executor.kind, "local");
  assert.throws(
    () => new PipelineDAG("p", [{ id: "a", task: { name: "a" }, executor: a.executor, resource }]),
    TypeError,
  );
  assert.throws(() => new PipelineDAG("p", [{ id: "a", task: { name: "a" } }]), TypeError);
});

Deno.test("every execution config round-trips through its plain data", () => {
  const aws = new Provider({ config: new AwsConfig() });
  const gcp = new Provider({ config: new GcpConfig({ project: "my-project" }) });
  const azure = new Provider({ config: new AzureConfig() });
  const resources = [
    aws.local(),
    aws.serverless({ config: new LambdaConfig({ memory: 2048, concurrency: 4, environment: ["API_KEY"] }) }),
    aws.vm({ config: new EC2Config({ instanceType: "c7g.xlarge" }) }),
    aws.cluster({ config: new DatabricksConfig({ clusterId: "0101-123456-abcdefgh" }) }),
    aws.cluster({ config: new SparkConfig({ master: "spark://head:7077" }) }),
    aws.cluster({ config: new EMRConfig({ clusterId: "j-2AXXXXXXGAPLF" }) }),
    gcp.serverless({ config: new CloudFunctionConfig({ memory: 512 }) }),
    gcp.vm({ config: new ComputeEngineConfig() }),
    gcp.cluster({ config: new DataprocConfig({ cluster: "etl-cluster" }) }),
    azure.serverless({ config: new AzureFunctionConfig() }),
    azure.vm({ config: new AzureVMConfig() }),
  ];
  for (const r of resources) {
    const again = resourceFromInfo(r.info(), r.cloud);
    assert.deepEqual(again.info(), r.info(), r.service);
    assert.deepEqual(again.config, r.config, r.service);
    assert.equal(again.cloud, r.cloud);
  }
  assert.throws(
    () => resourceFromInfo({ kind: "vm", service: "mainframe", name: "m", config: {} }),
    /service "mainframe" is none of/,
  );
});
