// The Cloud Functions executor against the local Cloud Run functions service
// (tests/support/cloud_functions_emulator.ts), which runs the real artifact of
// `glacier build` as the nodejs runtime does (node, the Functions Framework's
// HTTP signature, the artifact's index.js starting Deno), with staging through
// the Cloud Storage JSON API emulator.
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { createCloudFunctionExecutor } from "../../../executors/cloud_function/executor.ts";
import { defineWiring, GLACIER_WIRING } from "../../../extend.ts";
import { TaskError } from "../../../mod.ts";
import { startCloudFunctionsEmulator } from "../../support/cloud_functions_emulator.ts";
import { startGcsEmulator } from "../../support/gcs_emulator.ts";
import { unzipSync } from "fflate";
import { gcpPipeline } from "./fixtures/gcp_pipeline.ts";

function withEnv(vars: Record<string, string | undefined>): () => void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  set(vars);
  return () => set(old);
}

const cloud = { mode: "cloud", quiet: true } as const;

Deno.test({
  name: "Cloud Functions: cloud mode runs tasks on the built artifact behind an identity token",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gcs = await startGcsEmulator({ buckets: ["glacier-staging"] });
    const emulator = await startCloudFunctionsEmulator();
    const restore = withEnv({
      STORAGE_EMULATOR_HOST: gcs.host,
      GLACIER_CLOUD_FUNCTIONS_URL: emulator.urlTemplate,
      GOOGLE_ID_TOKEN: emulator.token,
    });
    try {
      const [built] = await buildLambdaArtifacts(gcpPipeline);
      await t.step("glacier build writes a nodejs source whose entry point starts Deno", async () => {
        assert.equal(built.path, ".glacier/build/gcp_fixture/fn.zip");
        assert.equal(built.functionName, "glacier-gcp_fixture-fn");
        const files = unzipSync(await Deno.readFile(built.path), {
          filter: (f) => !f.name.startsWith("deno_dir/") && f.name !== "bin/deno",
        });
        assert.ok(files["index.js"] && files["package.json"] && files["bootstrap"] && files["glacier.json"]);
        assert.match(new TextDecoder().decode(files["index.js"]), /exports\.glacier = /);
        const manifest = JSON.parse(new TextDecoder().decode(files["glacier.json"]));
        assert.equal(manifest.runtime, "executors/cloud_function/runtime.ts");
      });
      await emulator.deploy("glacier-gcp-fixture-fn", built.path, {
        env: { STORAGE_EMULATOR_HOST: gcs.host },
        timeoutSeconds: 60,
      });
      await t.step("a run in cloud mode runs scale on the function and succeeds", async () => {
        const value = await gcpPipeline.run({ ...cloud, params: { rows: 10 } });
        assert.equal(value, 90);
        const report = gcpPipeline.lastRun!;
        const scale = report.tasks.find((x) => x.task === "scale")!;
        assert.equal(scale.ranOn, "cloud-function");
        assert.equal(scale.executor, "fn");
        assert.equal(scale.status, "done");
        assert.equal(emulator.invocations.get("glacier-gcp-fixture-fn"), 1);
        assert.equal(emulator.coldStarts.get("glacier-gcp-fixture-fn"), 1);
        // What the task printed on the function is in the call's own log here.
        assert.equal(scale.logs?.length, 1);
        assert.equal(await Deno.readTextFile(join(".glacier", scale.logs![0])), "scale: doubling 10 rows\n");
      });
      await t.step(
        "tables over the request cap are staged through gs:// and removed after the run",
        async () => {
          const wiring = defineWiring({
            executors: {
              "cloud-function": (o) => createCloudFunctionExecutor({ ...o, payloadCap: 64 * 1024 }),
            },
          }, GLACIER_WIRING);
          const rows = 20_000;
          const value = await gcpPipeline.run({ ...cloud, wiring, params: { rows } });
          assert.equal(value, rows * (rows - 1));
          const created = gcs.events.filter((e) => e.startsWith("created glacier-staging/tests/runs/"));
          assert.ok(created.some((e) => e.includes("/scale/1/in")), created.join());
          assert.ok(created.some((e) => e.includes("/scale/1/out")), created.join());
          const deleted = gcs.events.filter((e) => e.startsWith("deleted glacier-staging/tests/runs/"));
          assert.equal(deleted.length, created.length);
        },
      );
      await t.step("throttling (429) and a service error (503) are retried within retries", async () => {
        emulator.throttle("glacier-gcp-fixture-fn", 1);
        emulator.failService("glacier-gcp-fixture-fn", 1);
        const value = await gcpPipeline.run({ ...cloud, params: { rows: 4 } });
        assert.equal(value, 12);
        assert.equal(gcpPipeline.lastRun!.tasks.find((x) => x.task === "scale")!.attempts, 3);
      });
      await t.step("a task that throws fails with the remote type, message and stack", async () => {
        const error = await gcpPipeline.run({ ...cloud, params: { fail: true } }).catch((e) => e);
        assert.ok(error instanceof TaskError, String(error));
        assert.equal(error.code, "USER:TASK_FAILED");
        assert.equal(error.attempt, 3);
        assert.match(error.message, /RangeError: scale was told to fail on 10 rows \(on Cloud Run function/);
        assert.match(
          error.stack ?? "",
          /Remote stack \(Cloud Run function "glacier-gcp-fixture-fn"\):\nRangeError/,
        );
        assert.match(error.stack ?? "", /gcp_pipeline\.ts/);
        const failed = gcpPipeline.lastRun!.tasks.find((x) => x.task === "scale")!;
        assert.deepEqual(failed.error?.logTail, ["scale: doubling 10 rows", "scale: told to fail"]);
        assert.match(error.message, /scale: told to fail/, "the run's error ends with what the call printed");
      });
      await t.step("a wrong identity token is refused once, not retried", async () => {
        const back = withEnv({ GOOGLE_ID_TOKEN: "not-the-token" });
        try {
          const error = await gcpPipeline.run({ ...cloud, params: { rows: 3 } }).catch((e) => e);
          assert.equal(error.code, "USER:ACCESS_DENIED");
          assert.equal(error.attempt, 1);
          assert.match(error.message, /roles\/run\.invoker/);
        } finally {
          back();
        }
      });
    } finally {
      restore();
      await emulator.stop();
      await gcs.stop();
    }
  },
});
