/**
 * The EMR executor: runs task calls as steps on the configured EMR cluster
 * (`AddJobFlowSteps` with `command-runner.jar`), each step running the
 * cluster launcher with Deno — `deno run -A <launcher> <payloadUri>
 * <resultUri> <storageConfig>` — on a payload staged through the provider's
 * staging bucket. The step is polled with `DescribeStep` at growing
 * intervals; a task that throws fails with a `TaskError` carrying the remote
 * message and stack (from the result object, else the step's
 * `FailureDetails`); an attempt that times out (or whose polling fails) cancels its step
 * (`CancelSteps`). The cluster needs Deno and the project at the launcher's
 * path (a bootstrap action); the client follows the SDK's standard
 * environment (`AWS_ENDPOINT_URL_EMR` for an emulator).
 *
 * @module
 */
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeStepCommand,
  EMRClient,
  type EMRClientConfig,
  type Step,
} from "@aws-sdk/client-emr";
import type { AwsConfig, EMRConfig } from "../../src/config/aws.ts";
import { errorMessage, type TaskError } from "../../src/errors.ts";
import { redactUrl } from "../../src/_redact.ts";
import { checkAdapter, failFor, providerData, stagingFailure } from "../_remote.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { pollUntil } from "../cluster/backoff.ts";
import {
  remoteMessageError,
  stageCall,
  type StagedCall,
  succeededValue,
  throwRecordedFailure,
} from "../cluster/staged_call.ts";

/** Where the launcher is on the cluster unless `GLACIER_EMR_LAUNCHER` says otherwise. */
export const DEFAULT_EMR_LAUNCHER = "/opt/glacier/app/executors/cluster/launcher.ts";

/** Options for {@linkcode EmrExecutor}, beyond what a cloud run gives. */
export interface EmrExecutorOptions extends RemoteExecutorOptions {
  /** A ready client. @default {a client from the SDK's standard environment} */
  client?: EMRClient;
  /** The launcher's path on the cluster. @default {`GLACIER_EMR_LAUNCHER`, else {@linkcode DEFAULT_EMR_LAUNCHER}} */
  launcher?: string;
  /** The first wait between status polls, in ms. @default {1000} */
  pollInterval?: number;
  /** The longest wait between status polls, in ms. @default {20000} */
  maxPollInterval?: number;
}

/** Runs task calls as steps on one EMR cluster. */
export class EmrExecutor implements Executor {
  /** Reports say a task ran on `emr`. */
  readonly name = "emr";
  /** The cluster (job flow) id. */
  readonly clusterId: string;
  /** The endpoint requests go to, for messages: any credentials in it hidden. */
  readonly endpoint: string;
  readonly #options: EmrExecutorOptions;
  readonly #client: EMRClient;
  readonly #ownsClient: boolean;

  /**
   * Builds it; nothing is sent until the first call.
   *
   * @param options The run, the resource and the client.
   * @throws {TypeError} When the resource is not an EMR resource.
   */
  constructor(options: EmrExecutorOptions) {
    const { resource } = options;
    checkAdapter(resource, "emr", "EmrExecutor");
    this.#options = options;
    this.clusterId = (resource.config as EMRConfig).clusterId;
    const aws = options.provider?.cloud === "aws" ? options.provider as AwsConfig : undefined;
    const region = aws?.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1";
    const endpoint = Deno.env.get("AWS_ENDPOINT_URL_EMR") ?? Deno.env.get("AWS_ENDPOINT_URL");
    this.endpoint = redactUrl(endpoint ?? `https://elasticmapreduce.${region}.amazonaws.com`);
    const config: EMRClientConfig = {
      region,
      maxAttempts: 1, // retries belong to the task
      ...(endpoint ? { endpoint } : {}),
      ...(aws?.profile ? { profile: aws.profile } : {}),
    };
    this.#ownsClient = !options.client;
    this.#client = options.client ?? new EMRClient(config);
  }

  /**
   * Runs one attempt of a task call as an EMR step.
   *
   * @param invocation The call.
   * @returns The task's value.
   * @throws {TypeError} When an argument cannot cross to the cluster (before anything is sent).
   * @throws {TaskError} `USER:EMR_CONFIG` without a staging location.
   * @throws {TaskError} When the task throws on the cluster (remote message and stack carried), the step fails or is cancelled, or EMR is unreachable.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const fail = failFor(invocation);
    const staging = this.#options.staging;
    const stagingUri = (this.#options.provider as { stagingBucket?: string } | undefined)?.stagingBucket;
    if (!staging || !stagingUri) {
      throw fail(
        `EMR resource "${this.#options.resource.name}" has no staging location: set AwsConfig({ stagingBucket: "s3://bucket/prefix" })`,
        "USER:EMR_CONFIG",
      );
    }
    let call: StagedCall;
    try {
      call = await stageCall(invocation, staging, {
        uri: stagingUri,
        config: providerData(this.#options.provider),
      });
    } catch (error) {
      throw stagingFailure(error, fail);
    }
    const launcher = this.#options.launcher ?? Deno.env.get("GLACIER_EMR_LAUNCHER") ?? DEFAULT_EMR_LAUNCHER;
    const added = await this.#send<{ StepIds?: string[] }>(
      new AddJobFlowStepsCommand({
        JobFlowId: this.clusterId,
        Steps: [{
          Name: `glacier-${invocation.pipeline}-${invocation.nodeId}-${invocation.attempt}`,
          ActionOnFailure: "CONTINUE",
          HadoopJarStep: {
            Jar: "command-runner.jar",
            Args: [
              "deno",
              "run",
              "-A",
              launcher,
              call.payloadUri,
              call.resultUri,
              JSON.stringify(call.config),
            ],
          },
        }],
      }),
      fail,
    );
    const stepId = added.StepIds?.[0];
    if (!stepId) throw fail(`EMR at ${this.endpoint} added no step`, "SYSTEM:EMR_SERVICE", true);
    const where = `EMR step ${stepId} of cluster ${this.clusterId}`;
    const step = (await pollUntil({
      initial: this.#options.pollInterval ?? 1000,
      max: this.#options.maxPollInterval ?? 20_000,
      signal: invocation.signal,
      get: () =>
        this.#send<{ Step?: Step }>(
          new DescribeStepCommand({ ClusterId: this.clusterId, StepId: stepId }),
          fail,
        ),
      done: (out) =>
        ["COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"].includes(out.Step?.Status?.State ?? ""),
      cancel: () => this.#cancel(stepId),
    })).Step;
    const state = step?.Status?.State;
    if (state === "COMPLETED") {
      return await succeededValue(invocation, call, where, fail, {
        advice: `check the launcher path ${JSON.stringify(launcher)} on the cluster`,
        code: "SYSTEM:EMR_NO_RESULT",
      });
    }
    await throwRecordedFailure(invocation, call, where);
    const details = step?.Status?.FailureDetails;
    if (state === "FAILED" && details?.Message) {
      const log = details.LogFile ? `\n    (log: ${details.LogFile})` : "";
      throw remoteMessageError(invocation, where, details.Message, `${details.Message}${log}`);
    }
    const reason = step?.Status?.StateChangeReason?.Message ?? details?.Reason;
    throw fail(
      `${where} ended ${state}${reason ? ` (${reason})` : ""}; check the cluster, then rerun`,
      state === "CANCELLED" ? "SYSTEM:EMR_CANCELLED" : "SYSTEM:EMR_STEP",
      true,
    );
  }

  /** Closes the client's connections (when this executor made the client). */
  close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
    return Promise.resolve();
  }

  async #cancel(stepId: string): Promise<void> {
    try {
      await this.#client.send(
        new CancelStepsCommand({
          ClusterId: this.clusterId,
          StepIds: [stepId],
          StepCancellationOption: "TERMINATE_PROCESS",
        }),
      );
    } catch (error) {
      console.error(
        `glacier: could not cancel EMR step ${stepId} of cluster ${this.clusterId}: ${
          errorMessage(error)
        }; cancel it in the EMR console`,
      );
    }
  }

  async #send<T>(
    // deno-lint-ignore no-explicit-any
    command: any, // one of the EMR commands; the SDK's overloads do not unify
    fail: (d: string, c: string, r?: boolean, cause?: unknown) => TaskError,
  ): Promise<T> {
    try {
      return await this.#client.send(command) as T;
    } catch (error) {
      const name = (error as Error)?.name ?? "Error";
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const op = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, "");
      if (status === undefined) {
        throw fail(
          `EMR at ${this.endpoint} did not answer ${op} (${name}: ${
            errorMessage(error)
          }); check that it is up and reachable, then rerun`,
          "SYSTEM:EMR_UNREACHABLE",
          true,
          error,
        );
      }
      const retryable = status === 429 || status >= 500 || name === "ThrottlingException";
      throw fail(
        `EMR refused ${op} on cluster ${this.clusterId} (${status} ${name}: ${errorMessage(error)})${
          retryable ? "" : "; check EMRConfig({ clusterId }) and the cluster's state"
        }`,
        retryable ? "SYSTEM:EMR_SERVICE" : "USER:EMR_REQUEST",
        retryable,
        error,
      );
    }
  }
}

/**
 * The factory `mod.ts` wires in for the `emr` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 */
export function createEmrExecutor(options: RemoteExecutorOptions): EmrExecutor {
  return new EmrExecutor(options);
}
