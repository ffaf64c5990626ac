// What the cloud demos (examples/gcp.ts, examples/azure.ts) print after a
// run: the result, where each task ran, and what staging left behind.
import type { Bucket, Pipeline } from "../../mod.ts";
import type { Table } from "apache-arrow";

/** Prints the run's result and report, and fails when a task did not succeed. */
export async function printCloudReport(p: Pipeline, summary: Table, staging: Bucket): Promise<void> {
  console.log(JSON.stringify(summary.toArray().map((row) => row.toJSON()), null, 2));
  const report = p.lastRun!;
  console.log(
    `run ${report.runId}: ${report.status} in mode "${report.mode}" (.glacier/runs/${report.runId}.json)`,
  );
  for (const task of report.tasks) {
    console.log(
      `  ${task.id.padEnd(10)} executor=${task.executor.padEnd(7)} ranOn=${task.ranOn} status=${task.status}`,
    );
  }
  const staged = await staging.list().catch(() => []);
  console.log(`staged objects left after the run: ${staged.length}`);
  if (report.status !== "succeeded" || report.tasks.some((t) => t.status !== "done")) Deno.exit(1);
}
