/**
 * The task payload: what every executor sends to run one attempt of a call
 * (a worker's message, a Lambda event, a staged cluster or VM payload), and
 * the two steps every runner takes first: check its version, load its task.
 * Kept apart from `runner.ts` so a worker loads only this, not the
 * orchestrator replay or the runner's command line.
 *
 * @module
 */
import { GlacierError } from "../src/errors.ts";
import type { TaskInvocation } from "../src/run/executor.ts";
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
  /**
   * The run's data root (`run({ dataRoot })`, local runs only): the runner
   * calls the task inside `withDataRoot()`, so every bucket it touches is a
   * folder under this one. @default {undefined}
   */
  readonly dataRoot?: string;
}

/**
 * The payload of one attempt of a call, as every executor sends it.
 *
 * @param invocation The attempt.
 * @param args The encoded arguments (inline, or staged references).
 * @param module The module URL as the executor's side sees it.
 * @returns The payload, without an output target.
 */
export function payloadFor(
  invocation: TaskInvocation,
  args: unknown,
  module: string = invocation.task.module,
): TaskPayload {
  return {
    version: PAYLOAD_VERSION,
    pipeline: invocation.pipeline,
    runId: invocation.runId,
    nodeId: invocation.nodeId,
    task: invocation.task.name,
    module,
    attempt: invocation.attempt,
    args,
    ...(invocation.dataRoot === undefined ? {} : { dataRoot: invocation.dataRoot }),
  };
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
export function checkPayload(payload: Pick<TaskPayload, "version">): void {
  if (payload?.version !== PAYLOAD_VERSION) {
    throw new GlacierError(
      "SYSTEM:PAYLOAD_VERSION",
      `Task payload version ${
        JSON.stringify(payload?.version)
      } is not ${PAYLOAD_VERSION}: the executor runs another Glacier version; rebuild and redeploy it`,
    );
  }
}
