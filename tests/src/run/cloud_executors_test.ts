import assert from "node:assert/strict";
import { AwsConfig, DatabricksConfig, pipeline, Provider, SparkConfig, TaskError } from "../../../mod.ts";
import { defineWiring, GLACIER_WIRING, type TaskInvocation } from "../../../extend.ts";

const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
const local = provider.local();
const spark = provider.cluster({ config: new DatabricksConfig({ clusterId: "0101-123456-abcdefgh" }) });

export const prepare = local.task(function prepare(n: number) {
  return n + 1;
});
export const score = spark.task(function score(n: number) {
  return n * 10;
});

const scored = pipeline({ name: "cloud_routing" }, () => score(prepare(1)));

// Plain Spark has no executor wired in (Databricks, EMR and the VMs do).
const standalone = provider.cluster({ config: new SparkConfig() });
export const rank = standalone.task(function rank(n: number) {
  return n * 10;
});
const ranked = pipeline({ name: "cloud_unrouted" }, () => rank(prepare(1)));

Deno.test("A cloud run fails a task whose service has no executor, naming the task and the service", async () => {
  const error = await ranked.run({ mode: "cloud", workers: 0, quiet: true }).then(
    () => assert.fail("the run should fail"),
    (e) => e,
  );
  assert.ok(error instanceof TaskError);
  assert.equal(error.code, "USER:EXECUTOR_UNAVAILABLE");
  assert.equal(error.task, "rank");
  assert.equal(error.attempt, 1, "not retried");
  assert.match(error.message, /"rank"/);
  assert.match(error.message, /service "spark"/);
  // It names what the run's wiring has: every service with an adapter in the service table.
  assert.match(
    error.message,
    /wiring has lambda, ec2, emr, cloud-function, compute-engine, dataproc, azure-function/,
  );
  const report = ranked.lastRun!;
  assert.equal(report.mode, "cloud");
  assert.equal(
    report.tasks.find((t) => t.id === "prepare")!.status,
    "done",
    "the local task still ran locally",
  );
});

Deno.test("A cloud run sends a remote task to its service's executor and local ones to the local executor", async () => {
  const seen: TaskInvocation[] = [];
  const wiring = defineWiring({
    executors: {
      databricks: (options) => {
        assert.equal(options.resource.name, "databricks");
        assert.equal(options.provider?.cloud, "aws");
        return {
          name: "fake-databricks",
          execute(invocation) {
            seen.push(invocation);
            return Promise.resolve((invocation.args[0] as number) * 100);
          },
          close: () => Promise.resolve(),
        };
      },
    },
  }, GLACIER_WIRING);
  assert.equal(await scored.run({ mode: "cloud", workers: 0, quiet: true, wiring }), 200);
  assert.deepEqual(seen.map((i) => i.task.name), ["score"]);
  const ranOn = Object.fromEntries(scored.lastRun!.tasks.map((t) => [t.id, t.ranOn]));
  assert.deepEqual(ranOn, { prepare: "in-process", score: "databricks" });
});

Deno.test("A run's wiring is its own: Glacier's wiring is frozen and unchanged by a run with another", () => {
  assert.notEqual(scored.wiring.executors.databricks, undefined);
  assert.equal(scored.wiring, GLACIER_WIRING, "mod.ts pipelines are wired with Glacier's wiring");
  assert.ok(Object.isFrozen(GLACIER_WIRING) && Object.isFrozen(GLACIER_WIRING.executors));
  assert.throws(() => {
    (GLACIER_WIRING.executors as Record<string, unknown>).databricks = () => undefined;
  }, TypeError);
});
