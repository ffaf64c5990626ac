// What the remote executors (Lambda, Databricks, EMR) share: how an attempt's
// failure becomes a TaskError, and the provider config as plain data for the
// far side (region, endpoints, staging; never credentials).
import { TaskError } from "../src/errors.ts";
import type { TaskInvocation } from "../src/run/executor.ts";

export type Fail = (detail: string, code: string, retryable?: boolean, cause?: unknown) => TaskError;

export function failFor(invocation: TaskInvocation): Fail {
  const { pipeline, task, nodeId, attempt } = invocation;
  return (detail, code, retryable = false, cause) =>
    new TaskError(detail, { pipeline, task: task.name, nodeId, attempt, code, retryable, cause });
}

export function providerData(provider: unknown): unknown {
  return JSON.parse(JSON.stringify(provider ?? {}));
}
