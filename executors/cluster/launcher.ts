/**
 * The cluster launcher: what a Databricks run, an EMR step or a Dataproc job
 * starts with `deno run -A executors/cluster/launcher.ts <payloadUri>
 * <resultUri> [<storageConfigJson>]`. It reads the staged task payload, runs
 * it with `runPayload` from `executors/runner.ts` and writes a
 * {@linkcode ClusterResult} to the result URI. On failure it also prints the
 * error (`<name>: <message>`, then the stack) on stderr and exits with 1, so
 * the cluster reports the run as failed with that message.
 *
 * @module
 */
import { suppressRuns } from "../../src/run/_guard.ts";
import { runPayload, type RunPayloadOptions } from "../runner.ts";
import type { TaskPayload } from "../payload.ts";
import { RUNNER_WIRING } from "../wiring.ts";
import { fromWireJson, toWireJson } from "../_wire.ts";
import { type ClusterResult, errorRecord, stagedObject } from "./staged_call.ts";

/**
 * Runs one staged payload and writes its result.
 *
 * @param payloadUri Where the payload is.
 * @param resultUri Where the result goes.
 * @param config The storage config as data (no credentials).
 * @param options How modules are found (the Lambda artifact maps them to its copy).
 * @returns The exit code: 0 when the task succeeded, 1 when it failed.
 */
export async function launch(
  payloadUri: string,
  resultUri: string,
  config: unknown,
  options: RunPayloadOptions = {},
): Promise<number> {
  const storage = options.storage ?? RUNNER_WIRING;
  let result: ClusterResult;
  let failed: unknown;
  try {
    const payload = fromWireJson(
      new TextDecoder().decode(await stagedObject(payloadUri, config, storage).read()),
    );
    result = { ok: true, value: await runPayload(payload as TaskPayload, options) };
  } catch (error) {
    failed = error;
    result = { ok: false, error: errorRecord(error) };
  }
  await stagedObject(resultUri, config, storage).put(toWireJson(result));
  if (failed === undefined) return 0;
  const e = result.ok ? undefined : result.error;
  console.error(`${e?.name}: ${e?.message}\n${e?.stack ?? ""}`);
  return 1;
}

if (import.meta.main) {
  suppressRuns(); // importing a task's module must not start its pipeline
  const [payloadUri, resultUri, config] = Deno.args;
  if (!payloadUri || !resultUri) {
    console.error("glacier launcher: usage: launcher.ts <payloadUri> <resultUri> [<storageConfigJson>]");
    Deno.exit(2);
  }
  const code = await launch(payloadUri, resultUri, config ? JSON.parse(config) : {});
  if (code === 0) {
    const { closeS3Stores } = await import("../../stores/s3.ts");
    closeS3Stores();
  }
  Deno.exit(code);
}
