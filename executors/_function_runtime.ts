// The far side of the HTTP function executors (Cloud Run functions, Azure
// Functions): one task payload in, the wire-JSON result out, or the error as
// `{ errorType, errorMessage, stackTrace, code }` with the
// `x-glacier-function-error` header, so the caller tells a task's own failure
// from the platform's 5xx. Modules resolve to the artifact's copies. What the
// task prints goes to the service's log as it comes (this process's stdout
// and stderr, or the answer's `logs` for a host that writes them) and its
// tail back to the caller in `x-glacier-log-tail`.
import { errorMessage } from "../src/errors.ts";
import { suppressRuns } from "../src/run/_guard.ts";
import { type LogStream, withTaskLog } from "../src/run/task_log.ts";
import { LOG_TAIL_HEADER, LogTail } from "./_remote_log.ts";
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
  /** What the task printed, when the runtime was asked to keep it (`echo: false`). */
  readonly logs: readonly (readonly [LogStream, string])[];
}

const encoder = new TextEncoder();

/**
 * Loads the artifact's manifest once; `run` answers one request body.
 *
 * @param options `echo`: write what a task prints to this process's stdout
 *   and stderr as it comes (Cloud Run's log); false keeps it for the
 *   answer's `logs` (the Functions host writes a custom handler's `Logs`).
 * @returns The request handler.
 */
export async function payloadRunner(
  options: { echo: boolean },
): Promise<(body: string) => Promise<FunctionAnswer>> {
  suppressRuns(); // importing a task's module must not start its pipeline
  const manifest = JSON.parse(
    await Deno.readTextFile(Deno.env.get("GLACIER_MANIFEST") ?? "glacier.json"),
  ) as ArtifactManifest;
  const root = Deno.env.get("GLACIER_APP_ROOT") ?? Deno.cwd();
  const appRoot = new URL(`file://${root.replace(/\/?$/, "/")}`).href;
  return async (body: string): Promise<FunctionAnswer> => {
    const tail = new LogTail();
    const kept: [LogStream, string][] = [];
    const sink = (stream: LogStream, text: string) => {
      tail.add(stream, text);
      if (!options.echo) kept.push([stream, text]);
      else (stream === "stdout" ? Deno.stdout : Deno.stderr).writeSync(encoder.encode(text));
    };
    try {
      const payload = fromWireJson(body) as TaskPayload | OrchestratorPayload;
      const result = await withTaskLog(sink, () =>
        runPayload(payload, {
          resolveModule: (module) => resolveArtifactModule(module, manifest, appRoot),
        }));
      return {
        status: 200,
        headers: { "content-type": "application/json", [LOG_TAIL_HEADER]: tail.header() },
        body: toWireJson(result),
        logs: kept,
      };
    } catch (error) {
      console.error(error);
      const e = error as Error & { code?: string };
      return {
        status: 500,
        headers: {
          "content-type": "application/json",
          [FUNCTION_ERROR_HEADER]: e?.name ?? "Error",
          [LOG_TAIL_HEADER]: tail.header(),
        },
        logs: kept,
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
