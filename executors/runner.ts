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
 * @module
 */
import { assertCrossable, decodeValue, encodeValue } from "../src/data/payload.ts";
import { GlacierError } from "../src/errors.ts";
import { stageValue, Staging } from "../src/run/staging.ts";
import { lookupTask, type Task } from "../src/task.ts";

/** The payload schema version; bump when the shape changes. */
export const PAYLOAD_VERSION = 2;

/** Where a task's output goes: inline up to a cap, staged beyond it. */
export interface OutputTarget {
  /** The largest encoded result, in bytes, that may travel inline. */
  readonly cap: number;
  /** The provider's staging location and its config as data (no credentials), for larger results. */
  readonly staging?: { readonly uri: string; readonly config: unknown };
}

/** Everything needed to run one task call, as data. */
export interface TaskPayload {
  /** The schema version, {@linkcode PAYLOAD_VERSION}. */
  readonly version: number;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The run's id. */
  readonly runId: string;
  /** The call-site id. */
  readonly nodeId: string;
  /** The task's name. */
  readonly task: string;
  /** The URL of the module that defines the task. */
  readonly module: string;
  /** The attempt, from 1. */
  readonly attempt: number;
  /** The encoded arguments: inline values, Arrow IPC, or staged references. */
  readonly args: unknown;
  /** Where the output goes; absent means inline, whatever its size. @default {undefined} */
  readonly output?: OutputTarget;
}

/** Options for {@linkcode runPayload}. */
export interface RunPayloadOptions {
  /**
   * Maps the payload's module URL to where that module is on this machine
   * (a remote runner's copy of the project). @default {the URL as is}
   */
  resolveModule?: (module: string) => string;
}

/**
 * Imports a task's module and finds the task by name.
 *
 * @param module The module URL.
 * @param name The task's name.
 * @returns The task.
 * @throws {GlacierError} When the module has no such top-level task, or two tasks share the name.
 */
export async function loadTask(module: string, name: string): Promise<Task> {
  await import(module);
  const task = lookupTask(module, name);
  if (task === null) {
    throw new GlacierError(
      "USER:TASK_AMBIGUOUS",
      `Module ${module} defines two tasks named "${name}": give one a different name ({ name: "..." })`,
    );
  }
  if (!task) {
    throw new GlacierError(
      "USER:TASK_NOT_FOUND",
      `Task "${name}" is not defined at the top level of ${module}: define tasks at module top level (const ${name} = resource.task(...)), not inside a function, so workers and remote executors can find them by name`,
    );
  }
  return task;
}

/**
 * Checks a payload's version.
 *
 * @throws {GlacierError} When it comes from another, incompatible version of Glacier.
 */
export function checkPayload(payload: TaskPayload): void {
  if (payload?.version !== PAYLOAD_VERSION) {
    throw new GlacierError(
      "SYSTEM:PAYLOAD_VERSION",
      `Task payload version ${
        JSON.stringify(payload?.version)
      } is not ${PAYLOAD_VERSION}: the executor runs another Glacier version; rebuild and redeploy it`,
    );
  }
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
 * @throws {GlacierError} `SYSTEM:STAGING_READ` when a staged input cannot be read.
 * @throws {TypeError} When the task returns a value that cannot cross back.
 * @throws {Error} Whatever the task throws.
 */
export async function runPayload(payload: TaskPayload, options: RunPayloadOptions = {}): Promise<unknown> {
  checkPayload(payload);
  const module = options.resolveModule ? options.resolveModule(payload.module) : payload.module;
  const task = await loadTask(module, payload.task);
  const args = decodeValue(await Staging.resolve(payload.args)) as unknown[];
  const value = await task.fn(...args);
  assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
  const encoded = encodeValue(value, "ipc").value;
  const output = payload.output;
  if (!output) return encoded;
  const staging = output.staging
    ? Staging.fromUri(output.staging.uri, output.staging.config, payload.runId)
    : undefined;
  return await stageValue(
    encoded,
    { cap: output.cap, name: `${payload.nodeId}/${payload.attempt}/out` },
    staging,
  );
}
