/**
 * One task call through the staging bucket, shared by the cluster executors
 * (Databricks, EMR, Dataproc): the scheduler side writes the task payload to
 * `<staging>/runs/<runId>/<node>/<attempt>/payload.json` and passes its URI
 * to the cluster; {@linkcode launch} in `launcher.ts` writes a
 * {@linkcode ClusterResult} next to it, which the scheduler side reads back.
 *
 * @module
 */
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../../src/data/payload.ts";
import type { StorageWiring } from "../../src/resources/object_store.ts";
import { errorMessage, type GlacierError, TaskError } from "../../src/errors.ts";
import { Bucket } from "../../src/resources/storage.ts";
import type { TaskInvocation } from "../../src/run/executor.ts";
import { stageValue, Staging } from "../../src/run/staging.ts";
import { fromWireJson, toWireJson } from "../_wire.ts";
import type { Fail } from "../_remote.ts";
import { payloadFor, type TaskPayload } from "../payload.ts";

/** Tables above this many encoded bytes go to their own staged object. */
export const CLUSTER_INLINE_CAP: number = 4 * 1024 * 1024;

/** A failed task as data. */
export interface ErrorRecord {
  /** The error's name, such as `RangeError`. */
  readonly name: string;
  /** Its message. */
  readonly message: string;
  /** Its stack, when it has one. */
  readonly stack?: string;
  /** Its Glacier code, when it has one. */
  readonly code?: string;
  /** Whether Glacier said retrying may help. */
  readonly retryable?: boolean;
}

/** What the launcher writes to the result URI. */
export type ClusterResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ErrorRecord };

/** A staged call: where the payload is and where the result will be. */
export interface StagedCall {
  /** The payload's URI. */
  readonly payloadUri: string;
  /** The result's URI. */
  readonly resultUri: string;
  /** The storage config as data (no credentials), for the launcher's third argument. */
  readonly config: unknown;
  /** The stores the staging area is read with on this side (the run's). */
  readonly storage: StorageWiring;
}

/**
 * An error as data, for the result object.
 *
 * @param error Anything thrown.
 * @returns Its name, message, stack and Glacier code.
 */
export function errorRecord(error: unknown): ErrorRecord {
  const e = error as Partial<GlacierError>;
  return {
    name: typeof e?.name === "string" ? e.name : "Error",
    message: errorMessage(error),
    ...(typeof e?.stack === "string" ? { stack: e.stack } : {}),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
    ...(typeof e?.retryable === "boolean" ? { retryable: e.retryable } : {}),
  };
}

/**
 * The object at a staging URI.
 *
 * @param uri `scheme://bucket/key`.
 * @param config The provider config as data.
 * @param storage The stores it is read and written with.
 * @returns The object as a bucket path.
 * @throws {RangeError} When the URI is malformed.
 */
export function stagedObject(uri: string, config: unknown, storage: StorageWiring): Bucket {
  const match = /^([a-z0-9]+):\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) {
    throw new RangeError(`Staged object ${JSON.stringify(uri)} is invalid: use "s3://bucket/key"`);
  }
  return Bucket.fromData({ scheme: match[1], config, bucket: match[2], path: match[3] }, storage);
}

/**
 * Writes an invocation's payload to the staging area, large tables as their own objects.
 *
 * @param invocation The call.
 * @param staging The run's staging area.
 * @param location The provider's staging location (`stagingBucket`) and its config as data (no credentials).
 * @returns Where the payload is and where the result will be.
 * @throws {TypeError} When an argument cannot cross to a cluster.
 * @throws {GlacierError} When the store fails.
 */
export async function stageCall(
  invocation: TaskInvocation,
  staging: Staging,
  location: { readonly uri: string; readonly config: unknown },
): Promise<StagedCall> {
  const config = location.config;
  const { task, nodeId, pipeline, attempt } = invocation;
  invocation.args.forEach((arg, i) =>
    assertCrossable(
      arg,
      `argument ${i + 1} of task "${task.name}" (call ${nodeId}) in pipeline "${pipeline}"`,
    )
  );
  const name = `${nodeId}/${attempt}`;
  if (needsLibraries(invocation.args)) await loadLibraries(invocation.args);
  const args = await stageValue(
    encodeValue(invocation.args, "ipc").value,
    { cap: CLUSTER_INLINE_CAP, name: `${name}/in` },
    staging,
  );
  const payload: TaskPayload = {
    ...payloadFor(invocation, args),
    output: { cap: CLUSTER_INLINE_CAP, staging: { uri: location.uri, config } },
  };
  const root = staging.root;
  const at = (file: string) => root.at(`${root.path}${name.replace(/[^A-Za-z0-9_./#-]+/g, "_")}/${file}`);
  const payloadObject = at("payload.json");
  await payloadObject.put(toWireJson(payload));
  return {
    payloadUri: payloadObject.uri,
    resultUri: at("result.json").uri,
    config,
    storage: root.location.storage,
  };
}

/**
 * Reads a call's result, if the launcher wrote one.
 *
 * @param call The staged call.
 * @returns The result, or undefined when there is none.
 * @throws {GlacierError} When the store fails other than by a missing object.
 */
export async function readResult(call: StagedCall): Promise<ClusterResult | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await stagedObject(call.resultUri, call.config, call.storage).read();
  } catch (error) {
    if ((error as GlacierError).code === "USER:OBJECT_NOT_FOUND") return undefined;
    throw error;
  }
  return fromWireJson(new TextDecoder().decode(bytes)) as ClusterResult;
}

/**
 * The value of a successful result, staged tables read back.
 *
 * @param result A successful result.
 * @param storage The stores staged tables are read with.
 * @returns The task's value.
 * @throws {GlacierError} `SYSTEM:STAGING_READ` when a staged table cannot be read.
 */
export async function resultValue(
  result: ClusterResult & { ok: true },
  storage: StorageWiring,
): Promise<unknown> {
  const resolved = await Staging.resolve(result.value, storage);
  if (needsLibraries(resolved)) await loadLibraries(resolved);
  return decodeValue(resolved, storage);
}

/**
 * A {@linkcode TaskError} for a task that threw on a cluster, carrying the
 * remote name, message and stack.
 *
 * @param invocation The call (an invocation, or the same facts from an orchestrator payload).
 * @param where Where it ran, such as `Databricks run 42`.
 * @param record The remote error.
 * @returns The error to throw.
 */
export function remoteTaskError(
  invocation: Pick<TaskInvocation, "pipeline" | "nodeId" | "attempt"> & {
    readonly task: { readonly name: string };
  },
  where: string,
  record: ErrorRecord,
): TaskError {
  const remote = new Error(record.message);
  remote.name = record.name;
  remote.stack = record.stack ?? `${record.name}: ${record.message}`;
  const code = record.code && /^(USER|SYSTEM):/.test(record.code) ? record.code : "USER:TASK_FAILED";
  const fatal = [
    "USER:TASK_NOT_FOUND",
    "USER:TASK_AMBIGUOUS",
    "SYSTEM:PAYLOAD_VERSION",
    "USER:PAYLOAD_TOO_LARGE",
  ]
    .includes(code);
  const error = new TaskError(`${record.name}: ${record.message} (on ${where})`, {
    pipeline: invocation.pipeline,
    task: invocation.task.name,
    nodeId: invocation.nodeId,
    attempt: invocation.attempt,
    code,
    retryable: record.retryable ?? !fatal,
    cause: remote,
  });
  error.stack = `${error.stack}\nRemote stack (${where}):\n${remote.stack}`;
  return error;
}

/**
 * The value of a call whose cluster run succeeded: its result read back,
 * or the failure it records.
 *
 * @param invocation The call.
 * @param call The staged call.
 * @param where Where it ran, such as `EMR step s-1 of cluster j-1`.
 * @param fail Makes the attempt's TaskError.
 * @param noResult What to check when the run wrote no result, and the error code for it.
 * @returns The task's value.
 * @throws {TaskError} The remote error when the task threw; `SYSTEM:STAGING_READ` when the result cannot be read; `noResult.code` when there is none.
 */
export async function succeededValue(
  invocation: TaskInvocation,
  call: StagedCall,
  where: string,
  fail: Fail,
  noResult: { readonly advice: string; readonly code: string },
): Promise<unknown> {
  const result = await readResult(call).catch((error) => {
    throw fail(
      `its result from ${where} could not be read: ${errorMessage(error)}`,
      "SYSTEM:STAGING_READ",
      true,
      error,
    );
  });
  if (!result) {
    throw fail(
      `${where} succeeded but wrote no result to ${call.resultUri}; ${noResult.advice}`,
      noResult.code,
      true,
    );
  }
  if (!result.ok) throw remoteTaskError(invocation, where, result.error);
  try {
    return await resultValue(result, call.storage);
  } catch (error) {
    const e = error as GlacierError;
    throw fail(
      `its result from ${where} could not be read: ${errorMessage(error)}`,
      e.code ?? "SYSTEM:STAGING_READ",
      e.retryable ?? true,
      error,
    );
  }
}

/**
 * Throws the task's own error when the launcher recorded one for a run that
 * failed: the most precise account there is. Returns when there is none.
 *
 * @param invocation The call.
 * @param call The staged call.
 * @param where Where it ran.
 * @throws {TaskError} The recorded remote error.
 */
export async function throwRecordedFailure(
  invocation: TaskInvocation,
  call: StagedCall,
  where: string,
): Promise<void> {
  const result = await readResult(call).catch(() => undefined);
  if (result && !result.ok) throw remoteTaskError(invocation, where, result.error);
}

/**
 * A {@linkcode TaskError} from a cluster's own failure text, when the
 * launcher left no record: `Name: message` becomes the remote error's name
 * and message.
 *
 * @param invocation The call.
 * @param where Where it ran.
 * @param message The failure message, such as `TypeError: out of disk`.
 * @param stack The remote trace, if any. @default {the message}
 * @returns The error to throw.
 */
export function remoteMessageError(
  invocation: TaskInvocation,
  where: string,
  message: string,
  stack: string = message,
): TaskError {
  const name = /^([A-Za-z_$][\w$.]*): /.exec(message)?.[1] ?? "Error";
  return remoteTaskError(invocation, where, {
    name,
    message: message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message,
    stack,
  });
}
