/**
 * Runs one task payload: import the module that defines the task, find the
 * task by name, call it. Glacier's workers, the Lambda runtime and the
 * cluster and VM launchers all run tasks through here.
 *
 * @module
 */
import { GlacierError } from "../src/errors.ts";
import { lookupTask, type Task } from "../src/task.ts";

/** The payload schema version; bump when the shape changes. */
export const PAYLOAD_VERSION = 1;

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
  /** The encoded arguments. */
  readonly args: unknown;
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
