import assert from "node:assert/strict";
import { type DAGNodeInit, GlacierError, PipelineDAG } from "../../mod.ts";

const resource = { kind: "local", service: "local", name: "local", config: {} } as const;
const lambda = { kind: "serverless", service: "lambda", name: "lambda", config: { memory: 1024 } } as const;
const node = (id: string, inputs: string[] = [], extra: Partial<DAGNodeInit> = {}): DAGNodeInit => ({
  id,
  task: { name: id.split("#")[0] },
  resource,
  inputs,
  ...extra,
});

Deno.test("stages group a fan-out between its source and its fan-in", () => {
  const dag = new PipelineDAG("p", [
    node("load"),
    node("a", ["load"]),
    node("b", ["load"]),
    node("c", ["load"]),
    node("join", ["a", "b", "c"]),
  ]);
  assert.deepEqual(dag.stages().map((s) => s.map((n) => n.id)), [["load"], ["a", "b", "c"], ["join"]]);
  assert.deepEqual(dag.get("load")!.outputs, ["a", "b", "c"]);
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
  for (const [from, to] of dag.edges) {
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
