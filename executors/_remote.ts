// What the remote executors (Lambda, Databricks, EMR) share: how an attempt's
// failure becomes a TaskError, and the provider config as plain data for the
// far side (region, endpoints, staging; never credentials).
import { TaskError } from "../src/errors.ts";
import type { TaskInvocation } from "../src/run/executor.ts";
import { type AdapterKey, serviceRecord } from "../src/config/services.ts";

export type Fail = (detail: string, code: string, retryable?: boolean, cause?: unknown) => TaskError;

export function failFor(invocation: TaskInvocation): Fail {
  const { pipeline, task, nodeId, attempt } = invocation;
  return (detail, code, retryable = false, cause) =>
    new TaskError(detail, { pipeline, task: task.name, nodeId, attempt, code, retryable, cause });
}

export function providerData(provider: unknown): unknown {
  return JSON.parse(JSON.stringify(provider ?? {}));
}

// An executor built for a resource the service table runs on another adapter is a wiring bug.
export function checkAdapter(
  resource: { name: string; service: string },
  adapter: AdapterKey,
  executor: string,
): void {
  const runs = serviceRecord(resource.service)?.adapter;
  if (runs !== adapter) {
    throw new TypeError(
      `${executor}: resource "${resource.name}" is a "${resource.service}" resource, which ${
        runs ? `the "${runs}" adapter runs` : "no adapter runs"
      }, not the "${adapter}" one`,
    );
  }
}

// A payload that could not be staged: a TypeError (an argument that cannot
// cross) as it is, anything else as the attempt's TaskError.
export function stagingFailure(error: unknown, fail: Fail): Error {
  if (error instanceof TypeError) return error;
  const e = error as { code?: string; retryable?: boolean };
  return fail(
    `its payload could not be staged: ${(error as Error)?.message ?? String(error)}`,
    e?.code ?? "SYSTEM:STAGING",
    e?.retryable ?? true,
    error,
  );
}
