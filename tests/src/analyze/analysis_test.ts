import assert from "node:assert/strict";
import { join } from "node:path";
import { PipelineDAG } from "../../../src/dag.ts";
import { PipelineAnalysis } from "../../../src/analyze/analysis.ts";
import { PRICES } from "../../../src/analyze/pricing.ts";
import { COST_DEFAULTS } from "../../../src/analyze/cost.ts";
import { sequential } from "../../fixtures/analyze/sequential.ts";
import { writeReport } from "../../../src/run/report.ts";

const lambda = {
  kind: "serverless",
  service: "lambda",
  name: "lambda",
  config: { memory: 2048, timeout: 60, architecture: "x86_64" },
} as const;
const local = { kind: "local", service: "local", name: "local", config: {} } as const;

function lambdaDag(): PipelineDAG {
  return new PipelineDAG("priced", [
    { id: "load", task: { name: "load" }, resource: local, reads: ["s3://lake/in.csv"] },
    { id: "work", task: { name: "work" }, resource: lambda, inputs: ["load"], writes: ["s3://lake/out.csv"] },
  ]);
}

Deno.test("PipelineAnalysis.requirements gives runtime, memory, timeouts, permissions and least-privilege storage", async () => {
  const analysis = await sequential.analyze();
  const byName = new Map(analysis.requirements.map((r) => [r.executor, r]));
  const clean = byName.get("lambda")!;
  assert.equal(clean.memoryMb, 2048);
  assert.equal(clean.timeoutSeconds, 60);
  assert.equal(clean.taskTimeoutMs, 30_000);
  assert.deepEqual(clean.denoPermissions, [{ net: true }]);
  assert.match(clean.runtime, /provided\.al2023/);
  const local = byName.get("local")!;
  assert.deepEqual(local.reads, ["s3://data-lake/raw/orders.parquet"]);
  assert.deepEqual(local.writes, ["s3://data-lake/output/orders.parquet"]);
  assert.ok(local.storagePermissions.includes("s3:GetObject on arn:aws:s3:::data-lake/raw/orders.parquet"));
  assert.ok(
    local.storagePermissions.includes(
      "s3:PutObject, s3:DeleteObject on arn:aws:s3:::data-lake/output/orders.parquet",
    ),
  );
  assert.equal(byName.get("databricks")!.nodeCount, 2);
});

Deno.test("estimateCost() prices Lambda GB-seconds and requests from the task's estimate option", async () => {
  const facts = new Map([["work", { options: { estimate: { durationMs: 3000 } } }]]);
  const analysis = new PipelineAnalysis(lambdaDag(), "static", [], { facts });
  const cost = await analysis.estimateCost({ runsPerMonth: 100, runsDir: false });
  const compute = cost.lines.find((l) => l.item === "Lambda compute")!;
  const expected = 2 * 3 * PRICES.aws.lambdaGbSecond.x86_64;
  assert.ok(Math.abs(compute.perRun - expected) < 1e-12);
  assert.ok(Math.abs(compute.perMonth - expected * 100) < 1e-10);
  assert.equal(cost.tasks.find((t) => t.id === "work")!.source, "estimate option");
  assert.equal(cost.tasks.find((t) => t.id === "load")!.source, "default");
  assert.ok(cost.lines.some((l) => l.item === "S3 requests"));
  assert.ok(cost.lines.some((l) => l.item === "Step Functions transitions"));
  assert.equal(cost.runsPerMonth, 100);
  assert.equal(cost.pricesAsOf, PRICES.asOf);
  assert.ok(Math.abs(cost.perMonth - cost.perRun * 100) < 1e-9);
  assert.ok(cost.assumptions.some((a) => a.includes(PRICES.asOf) && a.includes("us-east-1")));
  assert.ok(cost.assumptions.some((a) => a.includes(`${COST_DEFAULTS.durationMs} ms`)));
});

Deno.test("estimateCost() takes runs per month from a cron schedule", async () => {
  const analysis = new PipelineAnalysis(lambdaDag(), "static");
  const daily = await analysis.estimateCost({ schedule: "0 2 * * *", runsDir: false });
  assert.equal(daily.runsPerMonth, 365 / 12);
  const quarterHour = await analysis.estimateCost({ schedule: "*/15 * * * *", runsDir: false });
  assert.equal(quarterHour.runsPerMonth, (96 * 365) / 12);
  const weekdays = await analysis.estimateCost({ schedule: "0 9 * * mon-fri", runsDir: false });
  assert.equal(weekdays.runsPerMonth, 261 / 12); // 2025 has 261 weekdays
  const scheduled = new PipelineAnalysis(lambdaDag(), "static", [], { schedule: "@hourly" });
  assert.equal((await scheduled.estimateCost({ runsDir: false })).runsPerMonth, (24 * 365) / 12);
  await assert.rejects(analysis.estimateCost({ schedule: "every day" }), RangeError);
  await assert.rejects(analysis.estimateCost({ runsPerMonth: -1 }), RangeError);
});

Deno.test("estimateCost() takes durations and dynamic call counts from the newest run report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dag = new PipelineDAG("priced", [
      { id: "list", task: { name: "list" }, resource: local },
      { id: "work", task: { name: "work" }, resource: lambda, inputs: ["list"], dynamic: true },
    ]);
    const base = {
      pipeline: "priced",
      mode: "local",
      status: "succeeded" as const,
      finishedAt: "",
      durationMs: 1,
      params: {},
      dag,
    };
    const task = (id: string, durationMs: number) => ({
      id,
      task: id.replace(/#\d+$/, ""),
      executor: "x",
      status: "done" as const,
      attempts: 1,
      durationMs,
      cached: false,
    });
    await writeReport({
      ...base,
      runId: "priced-old",
      startedAt: "2026-01-01T00:00:00Z",
      tasks: [task("work", 1)],
    }, dir);
    await writeReport({
      ...base,
      runId: "priced-new",
      startedAt: "2026-02-01T00:00:00Z",
      tasks: [task("list", 10), task("work", 4000), task("work#2", 2000), task("work#3", 3000)],
    }, dir);
    const cost = await new PipelineAnalysis(dag, "static").estimateCost({ runsDir: dir, runsPerMonth: 1 });
    const work = cost.tasks.find((t) => t.id === "work")!;
    assert.equal(work.calls, 3);
    assert.equal(work.durationMs, 3000);
    assert.equal(work.source, "last run priced-new");
    const compute = cost.lines.find((l) => l.item === "Lambda compute")!;
    assert.equal(compute.quantity, "18 GB-s");
    assert.ok(cost.assumptions.some((a) => a.includes("priced-new")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("estimateCost() prices clusters and VMs only while their tasks run, with the assumption stated", async () => {
  const dag = new PipelineDAG("vm", [
    {
      id: "big",
      task: { name: "big" },
      resource: { kind: "vm", service: "ec2", name: "ec2", config: { instanceType: "m7i.large" } },
    },
  ]);
  const facts = new Map([["big", { options: { estimate: { durationMs: 3_600_000 } } }]]);
  const cost = await new PipelineAnalysis(dag, "static", [], { facts }).estimateCost({ runsDir: false });
  const line = cost.lines.find((l) => l.executor === "ec2")!;
  assert.ok(Math.abs(line.perRun - PRICES.aws.ec2Hourly["m7i.large"]) < 1e-12);
  assert.ok(cost.assumptions.some((a) => a.includes("billed per second only while its tasks run")));
});

Deno.test("estimateCost() of a local-only pipeline is zero", async () => {
  const dag = new PipelineDAG("free", [{
    id: "a",
    task: { name: "a" },
    resource: local,
    reads: [join("file:///tmp", "x")],
  }]);
  const cost = await new PipelineAnalysis(dag, "static").estimateCost({ runsDir: false });
  assert.equal(cost.perRun, 0);
  assert.deepEqual(cost.lines, []);
});
