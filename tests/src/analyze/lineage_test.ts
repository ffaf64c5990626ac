import assert from "node:assert/strict";
import { analyzeStatic } from "../../../src/analyze/static.ts";
import { PipelineAnalysis } from "../../../src/analyze/analysis.ts";

const FIXTURES = new URL("../../fixtures/analyze/lineage/", import.meta.url);
const module = (file: string) => new URL(file, FIXTURES).href;

async function analysis(file: string, name: string): Promise<PipelineAnalysis> {
  const r = await analyzeStatic({ name, module: module(file) });
  return new PipelineAnalysis(r.dag, "static", r.undecided, { facts: r.facts, warnings: r.warnings });
}

Deno.test("analyzeStatic() grants a computed key's literal prefix and a literal key exactly, and says so", async () => {
  const a = await analysis("pipeline.ts", "lineage");
  const report = a.dag.get("report")!;
  assert.deepEqual(report.writes, ["s3://lake/reports/archive/", "s3://lake/reports/index.json"]);
  assert.deepEqual(report.reads, []);
  assert.ok(
    a.warnings.some((w) =>
      /pipeline\.ts:\d+:\d+: task "report" writes a computed key under "reports\/archive\/"/.test(w)
    ),
  );
  const lambda = a.requirements.find((r) => r.executor === "lambda")!;
  assert.ok(
    lambda.storagePermissions.includes(
      "s3:PutObject, s3:DeleteObject on arn:aws:s3:::lake/reports/archive/*",
    ),
  );
});

Deno.test("analyzeStatic() lists a key known only at run time in undecided with file:line:col", async () => {
  const a = await analysis("pipeline.ts", "lineage");
  const source = await Deno.readTextFile(new URL("pipeline.ts", FIXTURES));
  const lines = source.split("\n");
  const line = lines.findIndex((l) => l.includes(`dst.at(key).put("x")`)) + 1;
  const column = lines[line - 1].indexOf("key)") + 1;
  assert.deepEqual(a.undecided.length, 1);
  assert.ok(
    a.undecided[0].includes(`pipeline.ts:${line}:${column}: task "anywhere" writes "key"`),
    a.undecided[0],
  );
});

Deno.test("analyzeStatic() keeps the direction of I/O through helper modules, and .uri alone is no I/O", async () => {
  const a = await analysis("pipeline.ts", "lineage");
  const days = a.dag.get("days")!;
  assert.deepEqual([days.reads, days.writes], [["s3://lake/raw/orders.csv"], []]);
  const summarize = a.dag.get("summarize")!;
  assert.deepEqual(summarize.reads, ["s3://lake/raw/orders.csv"]);
  assert.deepEqual(summarize.writes, ["s3://lake/reports/latest.json"]);
  // report reads dst.uri only: no read grant on the output object
  assert.ok(
    !a.requirements[0].storagePermissions.some((p) =>
      p.startsWith("s3:GetObject on arn:aws:s3:::lake/reports")
    ),
  );
});

Deno.test("analyzeStatic() marks only calls under a run-time loop dynamic, and cost keeps the fixed count", async () => {
  const a = await analysis("pipeline.ts", "lineage");
  assert.deepEqual(
    a.dag.nodes.map((n) => [n.id, n.dynamic]),
    [["days", false], ["report", true], ["summarize", false], ["anywhere", false]],
  );
  const cost = await a.estimateCost({ runsDir: false, runsPerMonth: 1 });
  assert.equal(cost.tasks.find((t) => t.id === "summarize")!.calls, 1);
  assert.equal(cost.tasks.find((t) => t.id === "report")!.calls, 10);
  // 4 GB for 1 s per call: 10 report calls + 3 single calls = 13 calls, 52 GB-s
  assert.equal(cost.lines.find((l) => l.item === "Lambda compute")!.quantity, "52 GB-s");
});

Deno.test("analyze warns on a task inside the pipeline function, a local folder on Lambda and a bad schedule", async () => {
  const r = await analyzeStatic({ name: "warned", module: module("warnings.ts") });
  const a = new PipelineAnalysis(r.dag, "static", r.undecided, {
    warnings: r.warnings,
    schedule: "every day at 2",
  });
  assert.equal(a.warnings.length, 3, a.warnings.join("\n"));
  assert.match(a.warnings[0], /warnings\.ts:\d+:\d+: task "inner" is defined inside the pipeline function/);
  assert.match(
    a.warnings[1],
    /task "remote" runs on "lambda" \(lambda\) but is given file:\/\/.*a folder on this machine/,
  );
  assert.match(a.warnings[2], /schedule "every day at 2" does not parse/);
  const cost = await a.estimateCost({ runsDir: false });
  assert.equal(cost.runsPerMonth, 30);
});

Deno.test("glacier analyze --json carries undecided and warnings", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      "--config",
      new URL("../../deno.test.json", import.meta.url).pathname,
      new URL("../../../cli.ts", import.meta.url).pathname,
      "analyze",
      new URL("pipeline.ts", FIXTURES).pathname,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const [p] = json.pipelines;
  assert.equal(p.undecided.length, 1);
  assert.match(p.undecided[0], /task "anywhere" writes "key"/);
  assert.ok(p.warnings.some((w: string) => w.includes('task "report" writes a computed key')));
  assert.ok(p.cost.lines.every((l: { basis: string }) => typeof l.basis === "string" && l.basis.length > 0));
});

Deno.test("estimateCost() warns when a table likely over Lambda's payload limit reaches it without staging", async () => {
  const { PipelineDAG } = await import("../../../src/dag.ts");
  const { Provider } = await import("../../../src/provider.ts");
  const { AwsConfig, LambdaConfig } = await import("../../../src/config/mod.ts");
  const dag = (stagingBucket?: string) => {
    const aws = new Provider({ config: new AwsConfig({ region: "us-east-1", stagingBucket }) });
    const lambda = aws.serverless({ config: new LambdaConfig({ memory: 1024 }) });
    return new PipelineDAG("big", [
      { id: "load", task: { name: "load" }, executor: aws.local() },
      { id: "score", task: { name: "score" }, executor: lambda, inputs: ["load"] },
    ]);
  };
  const facts = new Map([["load", { options: { estimate: { dataBytes: 40 * 2 ** 20 } } }]]);
  const bare = await new PipelineAnalysis(dag(), "static", [], { facts }).estimateCost({ runsDir: false });
  assert.equal(bare.warnings.length, 1);
  assert.match(
    bare.warnings[0],
    /node "score" .* takes the output of "load", which moves about 40 MiB .* over the 6 MiB payload limit/,
  );
  const staged = await new PipelineAnalysis(dag("s3://stage/x"), "static", [], { facts }).estimateCost({
    runsDir: false,
  });
  assert.deepEqual(staged.warnings, []);
});
