// The far side of the HTTP function executors (Cloud Run functions, Azure
// Functions): one task payload in, the wire-JSON result out, or the error as
// `{ errorType, errorMessage, stackTrace, code }` with the
// `x-glacier-function-error` header, so the caller tells a task's own failure
// from the platform's 5xx. Modules resolve to the artifact's copies.
import { errorMessage } from "../src/errors.ts";
import { suppressRuns } from "../src/run/_guard.ts";
import { fromWireJson, toWireJson } from "./_wire.ts";
import { type ArtifactManifest, resolveArtifactModule } from "./lambda/runtime.ts";
import { type OrchestratorPayload, runPayload } from "./runner.ts";
import type { TaskPayload } from "./payload.ts";

/** The header that marks a task's own failure. */
export const FUNCTION_ERROR_HEADER = "x-glacier-function-error";

/** An HTTP answer as data. */
export interface FunctionAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Loads the artifact's manifest once; `run` answers one request body. */
export async function payloadRunner(): Promise<(body: string) => Promise<FunctionAnswer>> {
  suppressRuns(); // importing a task's module must not start its pipeline
  const manifest = JSON.parse(
    await Deno.readTextFile(Deno.env.get("GLACIER_MANIFEST") ?? "glacier.json"),
  ) as ArtifactManifest;
  const root = Deno.env.get("GLACIER_APP_ROOT") ?? Deno.cwd();
  const appRoot = new URL(`file://${root.replace(/\/?$/, "/")}`).href;
  return async (body: string): Promise<FunctionAnswer> => {
    try {
      const payload = fromWireJson(body) as TaskPayload | OrchestratorPayload;
      const result = await runPayload(payload, {
        resolveModule: (module) => resolveArtifactModule(module, manifest, appRoot),
      });
      return { status: 200, headers: { "content-type": "application/json" }, body: toWireJson(result) };
    } catch (error) {
      console.error(error);
      const e = error as Error & { code?: string };
      return {
        status: 500,
        headers: { "content-type": "application/json", [FUNCTION_ERROR_HEADER]: e?.name ?? "Error" },
        body: JSON.stringify({
          errorType: e?.name ?? "Error",
          errorMessage: errorMessage(error),
          stackTrace: typeof e?.stack === "string" ? e.stack.split("\n") : [],
          ...(typeof e?.code === "string" ? { code: e.code } : {}),
        }),
      };
    }
  };
}
