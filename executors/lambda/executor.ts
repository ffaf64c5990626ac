/**
 * The Lambda executor: runs task calls on the AWS Lambda function of their
 * serverless resource (one function per resource, `glacier-<pipeline>-<resource>`
 * unless the config names it; the task is chosen by the payload). Each
 * attempt is one synchronous `Invoke` (RequestResponse) of Glacier's task
 * payload as JSON; tables travel as Arrow IPC, staged through the provider's
 * staging location when a request or response would pass Lambda's 6 MB cap.
 *
 * Before the first call it compares the deployed code (`CodeSha256`) with the
 * artifact `glacier build` wrote, uploading it when the run allows
 * (`syncCode: true`). A task that throws on Lambda fails with a `TaskError`
 * that carries the remote error type, message and stack; throttling (429) and
 * service errors (5xx) are retryable within the task's `retries`, with the
 * scheduler's backoff and jitter. `LambdaConfig({ concurrency })` bounds the
 * invocations in flight.
 *
 * The client follows the SDK's standard environment (region, credentials,
 * `AWS_ENDPOINT_URL_LAMBDA` for an emulator).
 *
 * @module
 */
import {
  GetFunctionCommand,
  type GetFunctionCommandOutput,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  type LambdaClientConfig,
  UpdateFunctionCodeCommand,
} from "@aws-sdk/client-lambda";
import { resolve } from "node:path";
import type { AwsConfig, LambdaConfig } from "../../src/config/aws.ts";
import { artifactPath, functionName } from "../../src/codegen/naming.ts";
import {
  assertArgsCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../../src/data/payload.ts";
import { errorMessage, GlacierError, type TaskError } from "../../src/errors.ts";
import { redactUrl } from "../../src/_redact.ts";
import { lambdaLogLines, relayLambdaLog } from "../_remote_log.ts";
import { checkAdapter, failFor, providerData, remoteTaskError } from "../_remote.ts";
import { SERVICES } from "../../src/config/services.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { stageValue, Staging } from "../../src/run/staging.ts";
import { fromWireJson, toWireJson } from "../_wire.ts";
import { payloadFor, type TaskPayload } from "../payload.ts";

/** Lambda's cap on a synchronous request and response payload, in bytes (the service table's). */
export const LAMBDA_PAYLOAD_CAP: number = SERVICES.lambda.payloadCap;

/** What the executor needs of the SDK's `LambdaClient` (which is one). */
export interface LambdaSender {
  /**
   * Sends one command, as `LambdaClient.send` does.
   *
   * @param command An `InvokeCommand`, `GetFunctionCommand` or `UpdateFunctionCodeCommand`.
   * @param options An abort signal.
   * @returns The command's output.
   */
  // deno-lint-ignore no-explicit-any
  send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any>;
  /** Closes the client's connections. */
  destroy(): void;
}

/** Lambda's cap on a zip uploaded inline (`ZipFile`); larger ones are uploaded through S3 (the service table's). */
export const LAMBDA_ZIP_UPLOAD_CAP: number = SERVICES.lambda.codeLimits.inlineZip;

/** Options for {@linkcode LambdaExecutor}, beyond what a cloud run gives. */
export interface LambdaExecutorOptions extends RemoteExecutorOptions {
  /** A ready client (tests, custom middleware). @default {a client from the SDK's standard environment} */
  client?: LambdaSender;
  /** The Lambda endpoint, for the client built here and for messages. @default {Deno.env AWS_ENDPOINT_URL_LAMBDA, else AWS's regional one} */
  endpoint?: string;
  /** In-flight invocations when the config sets no `concurrency`. @default {64} */
  defaultConcurrency?: number;
  /** Where relative artifact paths are resolved. @default {Deno.cwd()} */
  cwd?: string;
}

/** Runs task calls on one Lambda function. */
export class LambdaExecutor implements Executor {
  /** Reports say a task ran on `lambda`. */
  readonly name = "lambda";
  /** The function's name. */
  readonly functionName: string;
  /** The endpoint requests go to, for messages: any credentials in it hidden. */
  readonly endpoint: string;
  readonly #options: LambdaExecutorOptions;
  readonly #client: LambdaSender;
  readonly #ownsClient: boolean;
  readonly #limit: number;
  #inFlight = 0;
  readonly #queue: (() => void)[] = [];
  #codeChecked?: Promise<void>;

  /**
   * Builds it; nothing is sent until the first call.
   *
   * @param options The run, the resource and the client.
   * @throws {TypeError} When the resource is not a Lambda resource.
   */
  constructor(options: LambdaExecutorOptions) {
    const { resource } = options;
    checkAdapter(resource, "lambda", "LambdaExecutor");
    this.#options = options;
    this.functionName = functionName(options.pipeline, resource.info());
    const aws = options.provider?.cloud === "aws" ? options.provider as AwsConfig : undefined;
    const region = aws?.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1";
    const endpoint = options.endpoint ?? Deno.env.get("AWS_ENDPOINT_URL_LAMBDA") ??
      Deno.env.get("AWS_ENDPOINT_URL");
    this.endpoint = redactUrl(endpoint ?? `https://lambda.${region}.amazonaws.com`);
    const config: LambdaClientConfig = {
      region,
      // Retries belong to the task: the scheduler backs off with jitter
      // within the task's `retries`, so the client makes one try.
      maxAttempts: 1,
      ...(endpoint ? { endpoint } : {}),
      ...(aws?.profile ? { profile: aws.profile } : {}),
    };
    this.#ownsClient = !options.client;
    this.#client = options.client ?? new LambdaClient(config);
    const concurrency = (resource.config as LambdaConfig | undefined)?.concurrency;
    this.#limit = concurrency ?? options.defaultConcurrency ?? 64;
  }

  /**
   * Runs one attempt of a task call on the function.
   *
   * @param invocation The call.
   * @returns The task's value.
   * @throws {TaskError} `USER:NOT_CROSSABLE` when an argument cannot cross to Lambda (before anything is sent).
   * @throws {TaskError} When the deployed code is missing or out of date, the task throws on Lambda, Lambda throttles or fails, or the endpoint is unreachable.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const { nodeId, attempt } = invocation;
    assertArgsCrossable(invocation);
    const fail = failFor(invocation);
    try {
      await (this.#codeChecked ??= this.#checkCode().catch((error) => {
        this.#codeChecked = undefined; // a transient failure must not poison the run
        throw error;
      }));
    } catch (error) {
      const e = error as GlacierError;
      throw fail(errorMessage(error), e.code ?? "SYSTEM:LAMBDA_CODE", e.retryable ?? false, error);
    }
    const staging = this.#options.staging;
    if (needsLibraries(invocation.args)) await loadLibraries(invocation.args);
    const args = await stageValue(
      encodeValue(invocation.args, "ipc").value,
      { cap: LAMBDA_PAYLOAD_CAP, name: `${nodeId}/${attempt}/in` },
      staging,
    ).catch((error) => {
      throw fail(errorMessage(error), (error as GlacierError).code ?? "SYSTEM:STAGING", false, error);
    });
    const payload: TaskPayload = {
      ...payloadFor(invocation, args),
      output: {
        cap: LAMBDA_PAYLOAD_CAP,
        ...(staging
          ? { staging: { uri: this.#stagingUri()!, config: providerData(this.#options.provider) } }
          : {}),
      },
    };
    const body = new TextEncoder().encode(toWireJson(payload));
    await this.#acquire();
    let response: InvokeCommandOutput;
    try {
      response = await this.#client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: "RequestResponse",
          LogType: "Tail",
          Payload: body,
        }),
        { abortSignal: invocation.signal },
      );
    } catch (error) {
      if (invocation.signal.aborted) throw invocation.signal.reason;
      throw this.#invokeError(error, fail);
    } finally {
      this.#release();
    }
    const text = new TextDecoder().decode(response.Payload ?? new Uint8Array());
    relayLambdaLog(
      response.LogResult,
      invocation.onLog,
      `CloudWatch Logs group /aws/lambda/${this.functionName}`,
    );
    if (response.FunctionError) {
      // The call's log shows the tail when it has one; the stack carries it otherwise.
      const tail = !invocation.onLog && response.LogResult ? lambdaLogLines(response.LogResult).lines : [];
      throw remoteTaskError(
        text,
        `Lambda function "${this.functionName}"`,
        "SYSTEM:LAMBDA_RUNTIME",
        fail,
        tail,
      );
    }
    try {
      const storage = this.#options.staging?.root.location.storage ?? invocation.task.resource.storage;
      const resolved = await Staging.resolve(fromWireJson(text), storage);
      if (needsLibraries(resolved)) await loadLibraries(resolved);
      return decodeValue(resolved, storage);
    } catch (error) {
      const e = error as GlacierError;
      throw fail(
        `its result from Lambda function "${this.functionName}" could not be read: ${errorMessage(error)}`,
        e.code ?? "SYSTEM:LAMBDA_RESULT",
        e.retryable ?? true,
        error,
      );
    }
  }

  /** Closes the client's connections (when this executor made the client). */
  close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
    return Promise.resolve();
  }

  #stagingUri(): string | undefined {
    return (this.#options.provider as AwsConfig | undefined)?.stagingBucket;
  }

  // The provider config as plain data for the runner (region, endpoint,
  // staging location: never credentials, which the function's role gives).

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.#limit) {
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

  async #checkCode(): Promise<void> {
    const { pipeline, resource } = this.#options;
    const relative = artifactPath(pipeline, resource.name);
    const path = resolve(this.#options.cwd ?? Deno.cwd(), relative);
    const fn = `Lambda function "${this.functionName}" at ${this.endpoint}`;
    const deploy =
      `build it with "glacier build <file>" and deploy it with run({ mode: "cloud", syncCode: true }) or the generated Terraform ("glacier generate <file> --format terraform")`;
    let zip: Uint8Array;
    try {
      zip = await Deno.readFile(path);
    } catch {
      throw new GlacierError(
        "USER:LAMBDA_ARTIFACT_MISSING",
        `No artifact for ${fn}: ${JSON.stringify(relative)} does not exist; ${deploy}`,
      );
    }
    const local = await codeSha256(zip);
    let deployed: string | undefined;
    try {
      const got: GetFunctionCommandOutput = await this.#client.send(
        new GetFunctionCommand({ FunctionName: this.functionName }),
      );
      deployed = got.Configuration?.CodeSha256;
    } catch (error) {
      if ((error as Error).name !== "ResourceNotFoundException") {
        throw this.#serviceError(error, `Cannot read ${fn}`);
      }
      throw new GlacierError("USER:LAMBDA_NOT_DEPLOYED", `${fn} does not exist; ${deploy}`, { cause: error });
    }
    if (deployed === local) return;
    if (!this.#options.syncCode) {
      throw new GlacierError(
        "USER:LAMBDA_CODE_OUTDATED",
        `${fn} runs other code than the local artifact ${
          JSON.stringify(relative)
        } (deployed CodeSha256 "${deployed}", local "${local}"); deploy it with run({ mode: "cloud", syncCode: true }), or apply the generated Terraform after "glacier build <file>"`,
      );
    }
    // Lambda takes a zip inline up to 50 MB; larger ones go through S3.
    let code: { ZipFile: Uint8Array } | { S3Bucket: string; S3Key: string } = { ZipFile: zip };
    if (zip.byteLength > LAMBDA_ZIP_UPLOAD_CAP) {
      const staging = this.#options.staging;
      if (!staging) {
        throw new GlacierError(
          "USER:LAMBDA_ARTIFACT_TOO_LARGE",
          `Cannot upload ${JSON.stringify(relative)} to ${fn}: it is ${
            (zip.byteLength / 2 ** 20).toFixed(1)
          } MB, over Lambda's 50 MB inline upload limit; set AwsConfig({ stagingBucket }) so syncCode uploads it through S3, or deploy it with the generated Terraform`,
        );
      }
      const ref = await staging.put(`code/${this.functionName}`, zip, ".zip");
      code = { S3Bucket: ref.$staged.bucket, S3Key: ref.$staged.key };
    }
    try {
      await this.#client.send(new UpdateFunctionCodeCommand({ FunctionName: this.functionName, ...code }));
      // The new code serves invocations once the update is done.
      for (let i = 0; i < 600; i++) {
        const got: GetFunctionCommandOutput = await this.#client.send(
          new GetFunctionCommand({ FunctionName: this.functionName }),
        );
        const status = got.Configuration?.LastUpdateStatus;
        if (status === undefined || status === "Successful") return;
        if (status === "Failed") {
          throw new GlacierError(
            "SYSTEM:LAMBDA_UPDATE_FAILED",
            `Updating the code of ${fn} failed: ${
              got.Configuration?.LastUpdateStatusReason ?? "no reason given"
            }`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (error) {
      if (error instanceof GlacierError) throw error;
      throw this.#serviceError(error, `Cannot upload the artifact ${JSON.stringify(relative)} to ${fn}`);
    }
  }

  #serviceError(error: unknown, what: string): GlacierError {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const retryable = status === undefined || status === 429 || status >= 500;
    return new GlacierError(
      status === undefined ? "SYSTEM:LAMBDA_UNREACHABLE" : "SYSTEM:LAMBDA_SERVICE",
      `${what}: ${(error as Error).name}: ${errorMessage(error)}${
        status === undefined ? `; check that the endpoint ${this.endpoint} is up and reachable` : ""
      }`,
      { cause: error, retryable },
    );
  }

  #invokeError(
    error: unknown,
    fail: (detail: string, code: string, retryable: boolean, cause?: unknown) => TaskError,
  ): TaskError {
    const name = (error as Error)?.name ?? "Error";
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const fn = `Lambda function "${this.functionName}"`;
    if (status === 429 || name === "TooManyRequestsException") {
      return fail(
        `${fn} was throttled (${name}: ${
          errorMessage(error)
        }); it is retried within the task's "retries" — raise them, or lower LambdaConfig({ concurrency })`,
        "SYSTEM:LAMBDA_THROTTLED",
        true,
        error,
      );
    }
    if (name === "ResourceNotFoundException") {
      return fail(
        `${fn} does not exist at ${this.endpoint}; deploy it (glacier build, then syncCode: true or the generated Terraform)`,
        "USER:LAMBDA_NOT_DEPLOYED",
        false,
        error,
      );
    }
    if (status === 413 || name === "RequestTooLargeException") {
      return fail(
        `the request to ${fn} is over Lambda's payload cap (${name}); set AwsConfig({ stagingBucket }) so tables are staged`,
        "USER:PAYLOAD_TOO_LARGE",
        false,
        error,
      );
    }
    if (status !== undefined && status >= 500) {
      return fail(
        `${fn} failed in the Lambda service (${status} ${name}: ${errorMessage(error)})`,
        "SYSTEM:LAMBDA_SERVICE",
        true,
        error,
      );
    }
    if (status === undefined) {
      return fail(
        `the Lambda endpoint ${this.endpoint} did not answer the invocation of ${fn} (${name}: ${
          errorMessage(error)
        }); check that it is up and reachable, then rerun (or resume)`,
        "SYSTEM:LAMBDA_UNREACHABLE",
        true,
        error,
      );
    }
    return fail(
      `invoking ${fn} failed (${status} ${name}: ${errorMessage(error)})`,
      "SYSTEM:LAMBDA_INVOKE",
      false,
      error,
    );
  }
}

/**
 * The SHA-256 of a zip as Lambda reports it in `CodeSha256` (base64).
 *
 * @param zip The zip's bytes.
 * @returns The base64 digest.
 */
export async function codeSha256(zip: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", zip as Uint8Array<ArrayBuffer>));
  return (digest as Uint8Array & { toBase64(): string }).toBase64();
}

/**
 * The factory `mod.ts` wires in for the `lambda` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 */
export function createLambdaExecutor(options: RemoteExecutorOptions): LambdaExecutor {
  return new LambdaExecutor(options);
}
