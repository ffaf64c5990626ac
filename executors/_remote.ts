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

// A task's own failure as a function runtime reports it (Lambda's
// `{ errorType, errorMessage, stackTrace }`, which Glacier's HTTP function
// runtimes send too, with Glacier's `code` when it has one).
interface RemoteErrorBody {
  errorType?: string;
  errorMessage?: string;
  stackTrace?: string[] | string;
  code?: string;
}

// Failures no retry can mend: the artifact does not hold the task, or was built by another Glacier.
const FATAL_REMOTE_CODES = new Set([
  "USER:TASK_NOT_FOUND",
  "USER:TASK_AMBIGUOUS",
  "SYSTEM:PAYLOAD_VERSION",
  "USER:MODULE_NOT_IN_ARTIFACT",
  "USER:PAYLOAD_TOO_LARGE",
]);

/**
 * The TaskError of a task that failed on a function: its remote type,
 * message and stack (the stack under "Remote stack (<where>)", with
 * `extra` lines after it), Glacier's code when the runtime sent one, else
 * `runtimeCode` for the runtime's own `Runtime.*`/`Sandbox.*` errors and
 * `USER:TASK_FAILED` for the task's; retryable unless no retry can help.
 *
 * @param text The response body.
 * @param where The function, for messages (`Lambda function "f"`).
 * @param runtimeCode The code of the runtime's own failures (`SYSTEM:LAMBDA_RUNTIME`).
 * @param fail The attempt's TaskError maker.
 * @param extra Lines to show after the remote stack (a log tail).
 * @returns The error.
 */
export function remoteTaskError(
  text: string,
  where: string,
  runtimeCode: string,
  fail: Fail,
  extra: readonly string[] = [],
): TaskError {
  let body: RemoteErrorBody = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { errorMessage: text };
  }
  const type = body.errorType ?? "Error";
  const message = body.errorMessage ?? "no message";
  const stack = Array.isArray(body.stackTrace) ? body.stackTrace.join("\n") : body.stackTrace ?? "";
  const remote = new Error(message);
  remote.name = type;
  remote.stack = stack.startsWith(type) ? stack : `${type}: ${message}\n${stack}`;
  const code = typeof body.code === "string" && /^(USER|SYSTEM):/.test(body.code) ? body.code : undefined;
  const error = fail(
    `${type}: ${message} (on ${where})`,
    code ?? (/^(Runtime|Sandbox)\./.test(type) ? runtimeCode : "USER:TASK_FAILED"),
    code === undefined || !FATAL_REMOTE_CODES.has(code),
    remote,
  );
  error.stack = `${error.stack}\nRemote stack (${where}):\n${remote.stack}${
    extra.length ? `\nLog tail:\n${extra.join("\n")}` : ""
  }`;
  return error;
}
