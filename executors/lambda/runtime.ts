/**
 * The Lambda side of the Lambda executor: a custom runtime (the artifact's
 * `bootstrap` starts Deno on this module) that speaks the Lambda Runtime API —
 * `GET /2018-06-01/runtime/invocation/next`, then `POST
 * …/invocation/{id}/response` or `…/invocation/{id}/error`, and
 * `/runtime/init/error` when it cannot start — and runs each invocation's
 * task payload with `runPayload` from `executors/runner.ts`. The event may
 * be Glacier's task payload or a generated orchestrator's payload (a Step
 * Functions `lambda:invoke` Payload), which the runner runs by replay. On the
 * Step Functions launcher function (`glacier-<pipeline>-launcher`) it may
 * also be `{ submit: "databricks", job, payload }` or `{ poll: "databricks",
 * runId }`, which start a node's Databricks job and report its run's state
 * (see `executors/databricks/launch.ts`; `DATABRICKS_HOST` comes from the
 * function's environment, `DATABRICKS_TOKEN` from the Secrets Manager secret
 * `GLACIER_SECRET_DATABRICKS_TOKEN` names). Before the first invocation every
 * `GLACIER_SECRET_<NAME>` is read into `<NAME>` (see `_secrets.ts`).
 * With `--payload <json | s3://…>` (the artifact's `bootstrap --payload …`,
 * as the Databricks launcher calls it) it runs that one payload and exits
 * (see {@linkcode runInArtifact}).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage, GlacierError } from "../../src/errors.ts";
import { suppressRuns } from "../../src/run/_guard.ts";
import { fromWireJson, toWireJson } from "../_wire.ts";
import { launch } from "../cluster/launcher.ts";
import { main as runOnce, type OrchestratorPayload, runPayload, type RunPayloadOptions } from "../runner.ts";
import type { TaskPayload } from "../payload.ts";
import { isDatabricksLaunchEvent, launchDatabricks } from "../databricks/launch.ts";
import { loadSecretEnvironment } from "./_secrets.ts";

/** What `glacier build` writes to `glacier.json` in the artifact. */
export interface ArtifactManifest {
  /** The manifest's version. */
  readonly version: 1;
  /** The pipeline the artifact was built for. */
  readonly pipeline: string;
  /** The URL of the project root on the machine that built it. */
  readonly root: string;
  /** The runtime module, relative to the project root. */
  readonly runtime: string;
  /** Every project module in the artifact, relative to the project root. */
  readonly modules: readonly string[];
}

const API_PATH = "/2018-06-01/runtime";

/**
 * Maps a task's module URL (as the scheduler's machine saw it) to the copy in
 * the artifact: by the build root, else by the longest matching path suffix.
 *
 * @param module The module URL from the payload.
 * @param manifest The artifact's manifest.
 * @param appRoot The artifact's project folder, as a file URL ending in `/`.
 * @returns The URL to import.
 * @throws {GlacierError} `USER:MODULE_NOT_IN_ARTIFACT` when the artifact has no such module.
 */
export function resolveArtifactModule(module: string, manifest: ArtifactManifest, appRoot: string): string {
  // Generated orchestrators send project-relative paths.
  if (!/^[a-z][a-z0-9+.-]*:/i.test(module) && manifest.modules.includes(module)) {
    return new URL(module, appRoot).href;
  }
  if (module.startsWith(manifest.root)) {
    const relative = module.slice(manifest.root.length);
    if (manifest.modules.includes(relative)) return new URL(relative, appRoot).href;
  }
  const path = module.replace(/^[a-z]+:\/\/[^/]*/, "");
  const match = manifest.modules.filter((m) => path.endsWith(`/${m}`)).sort((a, b) => b.length - a.length)[0];
  if (match) return new URL(match, appRoot).href;
  throw new GlacierError(
    "USER:MODULE_NOT_IN_ARTIFACT",
    `Module ${module} is not in this function's artifact (built for pipeline "${manifest.pipeline}"); rebuild it with "glacier build <file>" and deploy it (syncCode: true or the generated Terraform)`,
  );
}

/**
 * Serves invocations until the Runtime API goes away: task and orchestrator
 * payloads run here, Databricks submit and poll events go to the workspace.
 *
 * @param api The Runtime API's `host:port` (`AWS_LAMBDA_RUNTIME_API`).
 * @throws {GlacierError} Never: start-up failures are posted to `/runtime/init/error` and end the process.
 */
export async function serve(api: string): Promise<void> {
  const base = `http://${api}${API_PATH}`;
  let manifest: ArtifactManifest;
  let appRoot: string;
  try {
    manifest = JSON.parse(await Deno.readTextFile(Deno.env.get("GLACIER_MANIFEST") ?? "glacier.json"));
    appRoot = appRootUrl();
    await loadSecretEnvironment();
  } catch (error) {
    await post(`${base}/init/error`, errorBody(error), "Runtime.InitError");
    Deno.exit(1);
  }
  for (;;) {
    let next: Response;
    try {
      next = await fetch(`${base}/invocation/next`);
    } catch {
      Deno.exit(0); // the Runtime API is gone: the sandbox is being torn down
    }
    if (!next.ok) {
      console.error(
        `glacier runtime: the Runtime API answered ${next.status} to the next-invocation poll; exiting`,
      );
      Deno.exit(1);
    }
    const id = next.headers.get("Lambda-Runtime-Aws-Request-Id") ?? "";
    const text = await next.text();
    try {
      const event = fromWireJson(text);
      const result = isDatabricksLaunchEvent(event)
        ? await launchDatabricks(event)
        : await runPayload(event as TaskPayload | OrchestratorPayload, {
          resolveModule: (module) => resolveArtifactModule(module, manifest, appRoot),
        });
      const posted = await fetch(`${base}/invocation/${id}/response`, {
        method: "POST",
        body: toWireJson(result),
      });
      if (!posted.ok) {
        console.error(`glacier runtime: response rejected: ${posted.status} ${await posted.text()}`);
      } else await posted.body?.cancel();
    } catch (error) {
      console.error(error);
      try {
        await post(`${base}/invocation/${id}/error`, errorBody(error), (error as Error)?.name ?? "Error");
      } catch {
        Deno.exit(0);
      }
    }
  }
}

// The artifact's project folder, as a file URL ending in `/`.
function appRootUrl(): string {
  const root = Deno.env.get("GLACIER_APP_ROOT") ?? Deno.cwd();
  return new URL(`file://${root.replace(/\/?$/, "/")}`).href;
}

function errorBody(error: unknown): Record<string, unknown> {
  const e = error as Error & { code?: string };
  const stack = typeof e?.stack === "string" ? e.stack.split("\n") : [];
  return {
    errorType: e?.name ?? "Error",
    errorMessage: errorMessage(error),
    stackTrace: stack,
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}

async function post(url: string, body: unknown, type: string): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": type },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
}

/**
 * Runs one payload inside the artifact and exits: `bootstrap --payload <json
 * | s3://…>` prints the result (the generated Databricks job), `bootstrap
 * --payload <uri> --result <uri> [--config <json>]` writes it as the cluster
 * launcher does (a one-time Databricks run of a cloud run). Modules are the
 * artifact's copies when its manifest is there.
 *
 * @param argv The arguments.
 * @returns The exit code.
 */
export async function runInArtifact(argv: readonly string[]): Promise<number> {
  const options = await artifactOptions();
  const { values } = parseArgs({
    args: [...argv],
    options: { payload: { type: "string" }, result: { type: "string" }, config: { type: "string" } },
  });
  if (!values.result) return await runOnce(argv, options);
  if (!values.payload) {
    console.error("usage: bootstrap --payload <uri> --result <uri> [--config <json>]");
    return 2;
  }
  suppressRuns(); // importing the task's module must not start its pipeline
  return await launch(values.payload, values.result, JSON.parse(values.config ?? "{}"), options);
}

async function artifactOptions(): Promise<RunPayloadOptions> {
  const path = Deno.env.get("GLACIER_MANIFEST");
  if (!path) return {};
  const manifest = JSON.parse(await Deno.readTextFile(path)) as ArtifactManifest;
  const appRoot = appRootUrl();
  return { resolveModule: (module) => resolveArtifactModule(module, manifest, appRoot) };
}

if (import.meta.main && Deno.args.includes("--payload")) {
  // No top-level await here: the task's module may import this one's graph.
  runInArtifact(Deno.args).then((code) => Deno.exit(code));
} else if (import.meta.main) {
  suppressRuns(); // importing a task's module must not start its pipeline
  const api = Deno.env.get("AWS_LAMBDA_RUNTIME_API");
  if (!api) {
    console.error(
      "glacier runtime: AWS_LAMBDA_RUNTIME_API is not set; this module runs inside a Lambda sandbox",
    );
    Deno.exit(2);
  }
  await serve(api);
}
