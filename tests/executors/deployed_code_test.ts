// What generated Terraform deploys for Cloud Run functions and Azure
// function apps is exactly what `glacier build` wrote and what the executors
// call: the zip at the path the build wrote, under an object name that
// changes with its content (so a rebuilt artifact redeploys), the entry point
// the artifact's index.js exports, the runtime its package.json allows, a
// custom handler the zip's host.json starts, and the function name the
// executor invokes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { createAzureFunctionExecutor } from "../../executors/azure_function/executor.ts";
import { AZURE_FUNCTION_NAME } from "../../executors/azure_function/artifact.ts";
import { createCloudFunctionExecutor } from "../../executors/cloud_function/executor.ts";
import { buildLambdaArtifacts } from "../../executors/lambda/build.ts";
import type { Pipeline } from "../../mod.ts";
import { azurePipeline, gcpPipeline } from "../fixtures/analyze/clouds.ts";
import { parseTerraform } from "../support/codegen_checks.ts";

type Json = Record<string, unknown>;

// Every resource of a type across the parsed files, by name.
function resources(parsed: Record<string, Json>, type: string): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const file of Object.values(parsed)) {
    const byType = (file.resource as Record<string, Record<string, Json[]>> | undefined)?.[type] ?? {};
    for (const [name, [body]] of Object.entries(byType)) out.set(name, body);
  }
  return out;
}

// `${var.artifact_root}/<path>` to `<path>`; anything else is not a built file.
function builtPath(source: unknown): string {
  const m = /^\$\{var\.artifact_root\}\/(.+)$/.exec(String(source));
  assert.ok(m, `${source} is not a file under the project root glacier build writes to`);
  return m[1];
}

function referenced(expression: unknown, type: string): string {
  const m = new RegExp(`^\\$\\{${type}\\.([A-Za-z0-9_]+)\\.[a-z_]+\\}$`).exec(String(expression));
  assert.ok(m, `${expression} refers to a ${type}`);
  return m[1];
}

async function built(pipeline: Pipeline, cwd: string): Promise<Map<string, Uint8Array>> {
  const artifacts = await buildLambdaArtifacts(pipeline, { cwd, level: 1 });
  return new Map(
    await Promise.all(
      artifacts.map(async (a) => [a.path, await Deno.readFile(join(cwd, a.path))] as const),
    ),
  );
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const files = (zip: Uint8Array, names: string[]) => unzipSync(zip, { filter: (f) => names.includes(f.name) });

Deno.test("Terraform deploys the Cloud Run function sources glacier build wrote, as the executor calls them", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const zips = await built(gcpPipeline, cwd);
    const generated = await gcpPipeline.generate({ format: "terraform" });
    const parsed = await parseTerraform(generated.files);
    const objects = resources(parsed, "google_storage_bucket_object");
    const functions = resources(parsed, "google_cloudfunctions2_function");
    assert.equal(functions.size, 2);
    const dag = await gcpPipeline.trace();
    for (const [id, fn] of functions) {
      const build = (fn.build_config as Json[])[0];
      const storage = ((build.source as Json[])[0].storage_source as Json[])[0];
      const object = objects.get(referenced(storage.object, "google_storage_bucket_object"))!;
      const path = builtPath(object.source);
      const zip = zips.get(path);
      assert.ok(zip, `${id} deploys ${path}, which glacier build wrote (${[...zips.keys()].join(", ")})`);
      assert.match(
        String(object.name),
        new RegExp(
          `\\$\\{substr\\(filesha256\\("\\$\\{var\\.artifact_root\\}/${path.replace(/\./g, "\\.")}"\\)`,
        ),
        `${id}: the object's name follows the zip's content, so Cloud Build rebuilds a changed artifact`,
      );
      const inZip = files(zip, ["index.js", "package.json"]);
      assert.match(text(inZip["index.js"]), new RegExp(`\\nexports\\.${build.entry_point} = `));
      const engines = JSON.parse(text(inZip["package.json"])).engines?.node as string;
      const major = Number(/^nodejs(\d+)$/.exec(String(build.runtime))?.[1]);
      assert.ok(
        major >= Number(/\d+/.exec(engines)![0]),
        `${build.runtime} satisfies engines.node ${engines}`,
      );
      // The executor POSTs to the function Terraform names.
      const node = dag.nodes.find((n) => n.executor.name === id)!;
      const executor = createCloudFunctionExecutor({
        pipeline: gcpPipeline.name,
        runId: "r",
        resource: node.executor,
        syncCode: false,
        endpoint: "https://{name}.example",
      });
      assert.equal(executor.endpoint, `https://${fn.name}.example`);
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("Terraform runs each Azure function app from the package glacier build wrote, with its custom handler", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const zips = await built(azurePipeline, cwd);
    const generated = await azurePipeline.generate({ format: "terraform" });
    const parsed = await parseTerraform(generated.files);
    const blobs = resources(parsed, "azurerm_storage_blob");
    const apps = resources(parsed, "azurerm_linux_function_app");
    assert.equal(apps.size, 1);
    const dag = await azurePipeline.trace();
    for (const [id, app] of apps) {
      const settings = app.app_settings as Json[] | Json;
      const appSettings = (Array.isArray(settings) ? settings[0] : settings) as Json;
      const blob = blobs.get(referenced(appSettings.WEBSITE_RUN_FROM_PACKAGE, "azurerm_storage_blob"))!;
      const path = builtPath(blob.source);
      const zip = zips.get(path);
      assert.ok(zip, `${id} runs from ${path}, which glacier build wrote (${[...zips.keys()].join(", ")})`);
      assert.match(
        String(blob.name),
        /\$\{substr\(filesha256\(/,
        "the package's blob name follows its content",
      );
      const stack = ((app.site_config as Json[])[0].application_stack as Json[])[0];
      assert.equal(stack.use_custom_runtime, true, "FUNCTIONS_WORKER_RUNTIME = custom");
      const host = JSON.parse(text(files(zip, ["host.json"])["host.json"]));
      const executable = host.customHandler.description.defaultExecutablePath as string;
      const entry = `${AZURE_FUNCTION_NAME}/function.json`;
      const inZip = files(zip, [executable, entry]);
      assert.ok(inZip[executable], `host.json starts ${executable}, which the package holds`);
      const binding = JSON.parse(text(inZip[entry])).bindings.find((b: Json) => b.type === "httpTrigger");
      assert.equal(binding.authLevel, "function", "callers need a function key or the app's Entra auth");
      const node = dag.nodes.find((n) => n.executor.name === id)!;
      const executor = createAzureFunctionExecutor({
        pipeline: azurePipeline.name,
        runId: "r",
        resource: node.executor,
        syncCode: false,
        endpoint: "https://{name}.example",
      });
      assert.equal(executor.endpoint, `https://${app.name}.example/api/${AZURE_FUNCTION_NAME}`);
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
