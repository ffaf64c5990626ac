// The Azure Functions executor against the local Functions host
// (tests/support/azure_functions_emulator.ts), which runs the real artifact of
// `glacier build` as a custom handler (host.json, function.json, the JSON
// request and response envelopes, FUNCTIONS_CUSTOMHANDLER_PORT), with staging
// through Azurite (npm `azurite`, a real Blob server).
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { buildLambdaArtifacts } from "../../../executors/lambda/build.ts";
import { createAzureFunctionExecutor } from "../../../executors/azure_function/executor.ts";
import { defineWiring, GLACIER_WIRING } from "../../../extend.ts";
import { TaskError } from "../../../mod.ts";
import { startAzureFunctionsEmulator } from "../../support/azure_functions_emulator.ts";
import { startAzurite } from "../../support/azurite.ts";
import { createAzureBlobStore } from "../../../stores/azure_blob.ts";
import { azurePipeline } from "./fixtures/azure_pipeline.ts";

function withEnv(vars: Record<string, string | undefined>): () => void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  set(vars);
  return () => set(old);
}

const cloud = { mode: "cloud", quiet: true } as const;
const APP = "glacier-azure-fixture-fn";

Deno.test({
  name: "Azure Functions: cloud mode runs tasks on the built custom handler behind a function key",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const azurite = await startAzurite({ containers: ["glacier-staging"] });
    const host = await startAzureFunctionsEmulator();
    const restore = withEnv({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      GLACIER_AZURE_FUNCTIONS_URL: host.urlTemplate,
      AZURE_FUNCTIONS_KEY: host.functionKey,
      AZURE_ACCESS_TOKEN: undefined,
    });
    try {
      const [built] = await buildLambdaArtifacts(azurePipeline);
      await t.step(
        "glacier build writes a function app: host.json customHandler and function.json",
        async () => {
          assert.equal(built.path, ".glacier/build/azure_fixture/fn.zip");
          const files = unzipSync(await Deno.readFile(built.path), {
            filter: (f) => !f.name.startsWith("deno_dir/") && f.name !== "bin/deno",
          });
          const hostJson = JSON.parse(new TextDecoder().decode(files["host.json"]));
          assert.equal(hostJson.customHandler.description.defaultExecutablePath, "bootstrap");
          assert.equal(hostJson.customHandler.enableForwardingHttpRequest, false);
          const fnJson = JSON.parse(new TextDecoder().decode(files["glacier/function.json"]));
          assert.deepEqual(fnJson.bindings.map((b: { type: string }) => b.type), ["httpTrigger", "http"]);
          const manifest = JSON.parse(new TextDecoder().decode(files["glacier.json"]));
          assert.equal(manifest.runtime, "executors/azure_function/runtime.ts");
        },
      );
      await host.deploy(APP, built.path, {
        env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
      });
      await t.step("a run in cloud mode runs scale in the app through the host's envelopes", async () => {
        const value = await azurePipeline.run({ ...cloud, params: { rows: 10 } });
        assert.equal(value, 90);
        const scale = azurePipeline.lastRun!.tasks.find((x) => x.task === "scale")!;
        assert.equal(scale.ranOn, "azure-function");
        assert.equal(scale.status, "done");
        assert.equal(host.invocations.get(APP), 1);
        const envelope = host.lastEnvelope.get(APP) as { Data: { req: { Method: string } } };
        assert.equal(envelope.Data.req.Method, "POST");
        // What the task printed in the app is in the call's own log here, and in the host's log.
        assert.equal(await Deno.readTextFile(join(".glacier", scale.logs![0])), "scale: doubling 10 rows\n");
        assert.ok(host.logs.get(APP)?.includes("scale: doubling 10 rows"), host.logs.get(APP)?.join("\n"));
      });
      await t.step("an Entra token works in place of the key", async () => {
        const back = withEnv({ AZURE_FUNCTIONS_KEY: undefined, AZURE_ACCESS_TOKEN: host.entraToken });
        try {
          assert.equal(await azurePipeline.run({ ...cloud, params: { rows: 3 } }), 6);
        } finally {
          back();
        }
      });
      await t.step("tables over the cap are staged through az:// and removed after the run", async () => {
        const wiring = defineWiring({
          executors: {
            "azure-function": (o) => createAzureFunctionExecutor({ ...o, payloadCap: 64 * 1024 }),
          },
        }, GLACIER_WIRING);
        const rows = 20_000;
        const seen: string[] = [];
        const store = createAzureBlobStore(undefined);
        const watch = setInterval(async () => {
          for (const k of await store.list("glacier-staging", "tests/runs/").catch(() => [])) {
            if (!seen.includes(k)) seen.push(k);
          }
        }, 20);
        try {
          assert.equal(await azurePipeline.run({ ...cloud, wiring, params: { rows } }), rows * (rows - 1));
        } finally {
          clearInterval(watch);
        }
        assert.ok(seen.some((k) => k.includes("/scale/1/in")), seen.join());
        assert.deepEqual(await store.list("glacier-staging", "tests/runs/"), []);
      });
      await t.step("throttling (429) and a host error (503) are retried within retries", async () => {
        host.throttle(APP, 1);
        host.failService(APP, 1);
        assert.equal(await azurePipeline.run({ ...cloud, params: { rows: 4 } }), 12);
        assert.equal(azurePipeline.lastRun!.tasks.find((x) => x.task === "scale")!.attempts, 3);
      });
      await t.step("a task that throws fails with the remote type, message and stack", async () => {
        const error = await azurePipeline.run({ ...cloud, params: { fail: true } }).catch((e) => e);
        assert.ok(error instanceof TaskError, String(error));
        assert.equal(error.attempt, 3);
        assert.match(error.message, /RangeError: scale was told to fail on 10 rows \(on Azure function app/);
        assert.match(
          error.stack ?? "",
          /Remote stack \(Azure function app "glacier-azure-fixture-fn"\):\nRangeError/,
        );
        const failed = azurePipeline.lastRun!.tasks.find((x) => x.task === "scale")!;
        assert.deepEqual(failed.error?.logTail, ["scale: doubling 10 rows", "scale: told to fail"]);
      });
      await t.step("a wrong function key is refused once, not retried", async () => {
        const back = withEnv({ AZURE_FUNCTIONS_KEY: "wrong" });
        try {
          const error = await azurePipeline.run({ ...cloud, params: { rows: 3 } }).catch((e) => e);
          assert.equal(error.code, "USER:ACCESS_DENIED");
          assert.equal(error.attempt, 1);
        } finally {
          back();
        }
      });
    } finally {
      restore();
      await host.stop();
      await azurite.stop();
    }
  },
});
