// Item 5's check: for the demo and the original design's ML pipeline, the
// estimate from a real local run's report is within 2x of a hand calculation
// from the same report and the price table.
import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { PRICES } from "../../../src/analyze/pricing.ts";
import { writeReport } from "../../../src/run/report.ts";
import { Provider } from "../../../src/provider.ts";
import { LocalConfig } from "../../../src/config/mod.ts";
import { etl } from "../../../examples/etl.ts";
import { mlInference } from "../../../examples/ml_inference.ts";

function within2x(estimate: number, hand: number): void {
  assert.ok(hand > 0, "the hand calculation is positive");
  const ratio = estimate / hand;
  assert.ok(ratio >= 0.5 && ratio <= 2, `estimate ${estimate} vs hand ${hand}: ratio ${ratio}`);
}

Deno.test("cost of the ml_inference pipeline from a real run is within 2x of a hand calculation", async () => {
  const root = await Deno.makeTempDir();
  try {
    const events = new Provider({ config: new LocalConfig({ root }) }).bucket({
      bucket: "ml-lake",
      path: "raw/events.parquet",
    });
    const ids = Array.from({ length: 20_000 }, (_, i) => i);
    await events.write(pl.DataFrame({
      customer_id: pl.Series("customer_id", ids.map((i) => i % 10 === 0 ? 0 : i), pl.Int32),
      visits: pl.Series("visits", ids.map((i) => (i * 7) % 40), pl.Float64),
      spend: pl.Series("spend", ids.map((i) => (i * 13) % 500), pl.Float64),
    }));
    await mlInference.run({ dataRoot: root });
    const report = mlInference.lastRun!;
    const runs = join(root, "runs");
    await writeReport(report, runs);
    const cost = await (await mlInference.analyze()).estimateCost({ runsDir: runs, runsPerMonth: 30 });

    // By hand, from the report and the price table:
    const ms = (id: string) => report.tasks.find((t) => t.id === id)!.durationMs!;
    const lambda = (2048 / 1024) * (ms("clean") / 1000) * PRICES.aws.lambdaGbSecond.x86_64 +
      PRICES.aws.lambdaRequest;
    // The existing cluster: all-purpose DBUs and 3 i3.xlarge VMs for the time predict ran.
    const nodeHours = (ms("predict") / 3_600_000) * 3;
    const databricks = nodeHours * 1 * PRICES.databricksDbu["all-purpose"] +
      nodeHours * PRICES.aws.ec2Hourly["i3.xlarge"];
    const s3 = PRICES.aws.s3Read + PRICES.aws.s3Write;
    const steps = 4 * PRICES.aws.stepFunctionsTransition;
    within2x(cost.perRun, lambda + databricks + s3 + steps);

    assert.equal(cost.tasks.find((t) => t.id === "clean")!.durationMs, ms("clean"));
    assert.match(cost.tasks.find((t) => t.id === "save")!.dataSource, /^measured in last run /);
    const dbu = cost.lines.find((l) => l.item.startsWith("Databricks"))!;
    assert.equal(dbu.item, "Databricks all-purpose DBUs");
    assert.match(dbu.basis, /uptime window in last run/);
    assert.ok(
      cost.assumptions.some((a) =>
        /existing cluster "0101-123456-glacier1": priced at all-purpose rates/.test(a)
      ),
    );
    assert.ok(cost.lines.every((l) => l.basis.length > 0));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cost of the demo ETL from a real run matches a hand calculation: run time, not queue time", async () => {
  const root = await Deno.makeTempDir();
  try {
    await etl.run({ dataRoot: root, params: { rows: 5000 } });
    const report = etl.lastRun!;
    const runs = join(root, "runs");
    await writeReport(report, runs);
    const cost = await (await etl.analyze()).estimateCost({ runsDir: runs, runsPerMonth: 30 });
    // Everything runs on this machine: nothing to pay, by hand as by the estimate.
    assert.equal(cost.perRun, 0);
    for (const task of report.tasks) {
      const f = cost.tasks.find((t) => t.id === task.id)!;
      assert.equal(f.durationMs, task.durationMs, `${task.id} takes its run time`);
      assert.equal(f.source, `last run ${report.runId}`);
    }
    const save = cost.tasks.find((t) => t.id === "save")!;
    assert.match(save.dataSource, /^measured/);
    assert.ok(save.dataBytes > 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
