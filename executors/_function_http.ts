// What the HTTP function executors (Cloud Run functions, Azure Functions)
// share: one attempt is one POST of Glacier's task payload as wire JSON, with
// tables over the service's request cap staged first and the output target
// telling the far side when to stage its result; the answer is the result, the
// task's own error (marked by the runtime's `x-glacier-function-error`
// header, with the remote stack), or the platform's: 429 and 5xx (throttling,
// cold starts, a scaled-out instance not ready) and a connection that fails
// are retryable within the task's `retries`, 401/403/404/413 are not.
import {
  assertArgsCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../src/data/payload.ts";
import { errorMessage, type GlacierError, type TaskError } from "../src/errors.ts";
import { redactUrl } from "../src/_redact.ts";
import type { Executor, TaskInvocation } from "../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../src/run/remote_executors.ts";
import { stageValue, Staging } from "../src/run/staging.ts";
import { type Fail, failFor, providerData, remoteTaskError } from "./_remote.ts";
import { FUNCTION_ERROR_HEADER } from "./_function_runtime.ts";
import { LOG_TAIL_HEADER, relayFunctionLog } from "./_remote_log.ts";
import { fromWireJson, toWireJson } from "./_wire.ts";
import { payloadFor, type TaskPayload } from "./payload.ts";

/** How one service is reached. */
export interface FunctionService {
  /** The executor's name in reports (`cloud-function`). */
  readonly name: string;
  /** The service in messages (`Cloud Run function`). */
  readonly label: string;
  /** The code prefix (`CLOUD_FUNCTION`). */
  readonly code: string;
  /** The deployed function's name. */
  readonly functionName: string;
  /** Where the payload is POSTed. */
  readonly url: string;
  /** The request and response cap, in bytes. */
  readonly cap: number;
  /** Invocations in flight at most. */
  readonly concurrency: number;
  /** The auth headers of one request. */
  headers(): Promise<Record<string, string>>;
  /** What to do about a 401/403. */
  readonly authAdvice: string;
  /** Where the function's whole log is (`Cloud Logging of …`), for a cut log tail. */
  readonly logs: string;
}

/** Runs task calls by POSTing their payload to a deployed HTTP function. */
export class FunctionExecutor implements Executor {
  /** Reports say a task ran on this. */
  readonly name: string;
  readonly #service: FunctionService;
  readonly #options: RemoteExecutorOptions;
  readonly #shown: string;
  #inFlight = 0;
  readonly #queue: (() => void)[] = [];

  /**
   * @param options The run and resource.
   * @param service How the service is reached.
   */
  constructor(options: RemoteExecutorOptions, service: FunctionService) {
    this.#options = options;
    this.#service = service;
    this.name = service.name;
    this.#shown = redactUrl(service.url);
  }

  /** The endpoint, credentials hidden. */
  get endpoint(): string {
    return this.#shown;
  }

  /**
   * Runs one attempt of a call on the function.
   *
   * @param invocation The call.
   * @returns The task's value.
   * @throws {TaskError} When the task throws there, the service refuses or fails, or the endpoint is down.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const { nodeId, attempt } = invocation;
    assertArgsCrossable(invocation);
    const fail = failFor(invocation);
    const s = this.#service;
    const staging = this.#options.staging;
    if (needsLibraries(invocation.args)) await loadLibraries(invocation.args);
    const args = await stageValue(
      encodeValue(invocation.args, "ipc").value,
      { cap: s.cap, name: `${nodeId}/${attempt}/in` },
      staging,
    ).catch((error) => {
      throw fail(errorMessage(error), (error as GlacierError).code ?? "SYSTEM:STAGING", false, error);
    });
    const stagingUri = (this.#options.provider as { stagingBucket?: string } | undefined)?.stagingBucket;
    const payload: TaskPayload = {
      ...payloadFor(invocation, args),
      output: {
        cap: s.cap,
        ...(staging && stagingUri
          ? { staging: { uri: stagingUri, config: providerData(this.#options.provider) } }
          : {}),
      },
    };
    const body = toWireJson(payload);
    const fn = `${s.label} "${s.functionName}"`;
    let headers: Record<string, string>;
    try {
      headers = await s.headers();
    } catch (error) {
      const e = error as GlacierError;
      throw fail(errorMessage(error), e.code ?? `USER:${s.code}_AUTH`, e.retryable ?? false, error);
    }
    await this.#acquire();
    let response: Response;
    let text: string;
    try {
      response = await fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        signal: invocation.signal,
      });
      text = await response.text();
    } catch (error) {
      if (invocation.signal.aborted) throw invocation.signal.reason;
      throw fail(
        `the ${s.label} endpoint ${this.#shown} did not answer the invocation of ${fn} (${
          errorMessage(error)
        }); check that it is up and reachable, then rerun (or resume)`,
        `SYSTEM:${s.code}_UNREACHABLE`,
        true,
        error,
      );
    } finally {
      this.#release();
    }
    relayFunctionLog(response.headers.get(LOG_TAIL_HEADER), invocation.onLog, s.logs);
    if (response.headers.has(FUNCTION_ERROR_HEADER)) {
      throw remoteTaskError(text, `${s.label} "${s.functionName}"`, `SYSTEM:${s.code}_RUNTIME`, fail);
    }
    if (!response.ok) throw this.#serviceError(response.status, text, fail);
    try {
      const storage = staging?.root.location.storage ?? invocation.task.resource.storage;
      const resolved = await Staging.resolve(fromWireJson(text), storage);
      if (needsLibraries(resolved)) await loadLibraries(resolved);
      return decodeValue(resolved, storage);
    } catch (error) {
      const e = error as GlacierError;
      throw fail(
        `its result from ${fn} could not be read: ${errorMessage(error)}`,
        e.code ?? `SYSTEM:${s.code}_RESULT`,
        e.retryable ?? true,
        error,
      );
    }
  }

  /** Nothing to close: fetch keeps no client. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.#service.concurrency) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#inFlight--;
  }

  #serviceError(status: number, text: string, fail: Fail): TaskError {
    const s = this.#service;
    const fn = `${s.label} "${s.functionName}"`;
    const detail = text.replace(/\s+/g, " ").slice(0, 300);
    if (status === 429) {
      return fail(
        `${fn} was throttled (429: ${detail}); it is retried within the task's "retries" — raise them, or the function's instance limit`,
        `SYSTEM:${s.code}_THROTTLED`,
        true,
      );
    }
    if (status >= 500) {
      return fail(
        `${fn} failed in the service (${status}: ${detail}); a cold start or a scaling instance answers so, and it is retried within the task's "retries"`,
        `SYSTEM:${s.code}_SERVICE`,
        true,
      );
    }
    if (status === 401 || status === 403) {
      return fail(
        `${fn} at ${this.#shown} refused the call (${status}: ${detail}); ${s.authAdvice}`,
        "USER:ACCESS_DENIED",
      );
    }
    if (status === 404) {
      return fail(
        `${fn} does not exist at ${this.#shown}; build it with "glacier build <file>" and deploy it with the generated Terraform`,
        `USER:${s.code}_NOT_DEPLOYED`,
      );
    }
    if (status === 413) {
      return fail(
        `the request to ${fn} is over the service's payload cap (413); set the provider's stagingBucket so tables are staged`,
        "USER:PAYLOAD_TOO_LARGE",
      );
    }
    return fail(`invoking ${fn} failed (${status}: ${detail})`, `SYSTEM:${s.code}_INVOKE`);
  }
}

/** Fills `{name}`-style fields of a URL template. */
export function fillTemplate(template: string, fields: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (all, key) => fields[key] ?? all).replace(/\/+$/, "");
}
