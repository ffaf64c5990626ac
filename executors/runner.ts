/**
 * Runs one task payload: import the module that defines the task, find the
 * task by name, call it. Glacier's workers, the Lambda runtime and the
 * cluster and VM launchers all run tasks through here.
 *
 * A payload's inputs are payload-codec values: inline values, Arrow IPC
 * (inline bytes or transferred buffers) or staged references
 * (`{ $staged: { uri, … } }`) that {@linkcode runPayload} reads back before
 * the task runs. Its output target says how large an inline result may be
 * and where a larger one is staged.
 *
 * A generated orchestrator's payload (`staging` and `output` instead of
 * encoded args; see `src/codegen/_flow.ts`) is run by replaying the pipeline
 * function with the run's `params` (see `executors/_replay.ts`). From the
 * command line, for Databricks, VMs and Airflow/Prefect/Dagster local tasks:
 *
 * ```sh
 * deno run -A executors/runner.ts --payload '<json>'   # or --payload s3://bucket/key.json
 * ```
 *
 * prints the result as one JSON line on stdout.
 *
 * @module
 */
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../src/data/payload.ts";
import { GlacierError } from "../src/errors.ts";
import { stageValue, Staging } from "../src/run/staging.ts";
import { parseArgs } from "node:util";
import { RUNNER_WIRING } from "./wiring.ts";
import type { StorageWiring } from "../src/resources/object_store.ts";
import { suppressRuns } from "../src/run/_guard.ts";
import { isOrchestratorPayload, type OrchestratorPayload, runOrchestratorPayload } from "./_replay.ts";
import { fromWireJson, toWireJson } from "./_wire.ts";
import { Bucket } from "../src/resources/storage.ts";

export type { OrchestratorPayload } from "./_replay.ts";
export type { OutputTarget, TaskPayload } from "./payload.ts";
export type { ObjectStore, StorageWiring, StoreFactory } from "../src/resources/object_store.ts";
export type { EncodeOptions, TableFormat } from "../src/data/formats.ts";
export type { ParquetCompression } from "../src/data/parquet.ts";
import { checkPayload, loadTask, type TaskPayload } from "./payload.ts";

/** Options for {@linkcode runPayload}. */
export interface RunPayloadOptions {
  /**
   * Maps the payload's module URL to where that module is on this machine
   * (a remote runner's copy of the project). @default {the URL as is}
   */
  resolveModule?: (module: string) => string;
  /**
   * The stores and formats payloads, staged data and bucket arguments are
   * read with. @default {the task's provider's (`task.resource.storage`)}
   */
  storage?: StorageWiring;
}

/**
 * Runs one serialized task payload: reads staged inputs back, decodes the
 * arguments, runs the task and encodes its value with Arrow tables as IPC,
 * staging tables when the result would exceed the output target's cap.
 *
 * @param payload The payload.
 * @param options How to find the task's module here.
 * @returns The encoded result: inline values, `{ $arrow }` IPC, or staged references.
 * @throws {GlacierError} `SYSTEM:PAYLOAD_VERSION` when the payload comes from another Glacier version.
 * @throws {GlacierError} `USER:TASK_NOT_FOUND` / `USER:TASK_AMBIGUOUS` when the task cannot be found by name.
 * @throws {GlacierError} `SYSTEM:STAGING_READ` when a staged input (or, for an orchestrator payload, an upstream output) cannot be read; the message names its URI.
 * @throws {GlacierError} `USER:PIPELINE_NOT_FOUND` / `USER:REPLAY_NODE_MISSING` when an orchestrator payload's pipeline or call is not in its module.
 * @throws {GlacierError} `SYSTEM:REPLAY_ITEM_INDEX` when a mapped orchestrator payload's item index is not in the staged list.
 * @throws {TypeError} When the task returns a value that cannot cross back.
 * @throws {Error} Whatever the task throws.
 */
export async function runPayload(
  payload: TaskPayload | OrchestratorPayload,
  options: RunPayloadOptions = {},
): Promise<unknown> {
  checkPayload(payload);
  const module = options.resolveModule ? options.resolveModule(payload.module) : moduleUrl(payload.module);
  if (isOrchestratorPayload(payload)) {
    const source = payload.source ?? payload.module;
    return await runOrchestratorPayload(
      payload,
      options.resolveModule ? options.resolveModule(source) : moduleUrl(source),
      options.storage,
    );
  }
  const task = await loadTask(module, payload.task);
  const storage = options.storage ?? task.resource.storage;
  const resolved = await Staging.resolve(payload.args, storage);
  if (needsLibraries(resolved)) await loadLibraries(resolved);
  const args = decodeValue(resolved, storage) as unknown[];
  const value = await task.fn(...args);
  assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
  if (needsLibraries(value)) await loadLibraries(value);
  const encoded = encodeValue(value, "ipc").value;
  const output = payload.output;
  if (!output) return encoded;
  const staging = output.staging
    ? Staging.fromUri(output.staging.uri, output.staging.config, payload.runId, storage)
    : undefined;
  return await stageValue(
    encoded,
    { cap: output.cap, name: `${payload.nodeId}/${payload.attempt}/out` },
    staging,
  );
}

// A module given as a path (generated orchestrators send project-relative
// paths) is resolved against the working directory, the project checkout.
function moduleUrl(module: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  return new URL(module, `file://${Deno.cwd().replace(/\/?$/, "/")}`).href;
}

/**
 * Reads a payload given on the command line: JSON text, or a `s3://` (any
 * store scheme) URI of a JSON object.
 *
 * @param arg The `--payload` value.
 * @param storage The stores a payload URI is read with. @default {RUNNER_WIRING}
 * @returns The payload.
 * @throws {GlacierError} `USER:PAYLOAD_INVALID` when it is neither.
 */
export async function readPayloadArg(
  arg: string,
  storage: StorageWiring = RUNNER_WIRING,
): Promise<TaskPayload | OrchestratorPayload> {
  let text = arg;
  const ref = /^([a-z0-9]+):\/\/([^/]+)\/(.+)$/.exec(arg.trim());
  if (ref) {
    const bytes = await Bucket.fromData({ scheme: ref[1], config: {}, bucket: ref[2], path: ref[3] }, storage)
      .read();
    text = new TextDecoder().decode(bytes);
  }
  try {
    return fromWireJson(text) as TaskPayload | OrchestratorPayload;
  } catch (error) {
    throw new GlacierError(
      "USER:PAYLOAD_INVALID",
      `--payload ${
        JSON.stringify(arg.slice(0, 60))
      } is neither JSON nor a storage URI: pass the payload JSON or s3://bucket/key of a JSON file`,
      { cause: error },
    );
  }
}

/**
 * The command line: `runner.ts --payload <json | s3://…>` runs one payload and
 * prints its result as one line of wire JSON.
 *
 * @param argv The arguments.
 * @param options How modules are found (the Lambda artifact maps them to its copy).
 * @returns The exit code.
 */
export async function main(argv: readonly string[], options: RunPayloadOptions = {}): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { payload: { type: "string" } } });
  if (!values.payload) {
    console.error("usage: deno run -A executors/runner.ts --payload <json | s3://bucket/key.json>");
    return 2;
  }
  suppressRuns(); // importing the task's module must not start its pipeline
  try {
    const result = await runPayload(await readPayloadArg(values.payload, options.storage), options);
    console.log(toWireJson(result));
    return 0;
  } catch (error) {
    console.error(error);
    return 1;
  }
}

// No top-level await: the task's module imports mod.ts, which imports this
// module, and a dynamic import would wait forever on this one's evaluation.
if (import.meta.main) main(Deno.args).then((code) => Deno.exit(code));
