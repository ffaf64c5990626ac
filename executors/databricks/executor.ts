/**
 * The Databricks executor: runs task calls as one-time Jobs API 2.1 runs
 * (`POST /api/2.1/jobs/runs/submit`) on the configured cluster
 * (`existing_cluster_id`) or a job cluster (`new_cluster`). Every payload
 * goes through the staging bucket: the run's `spark_python_task` is the
 * launcher `glacier build` and `glacier generate` put in the workspace
 * (`/Shared/glacier/<pipeline>/glacier_launcher.py`), given the artifact, the
 * Deno init script, the payload URI, the result URI and the storage config;
 * it runs `executors/cluster/launcher.ts` with Deno, which writes the result.
 *
 * The run is polled with `GET /api/2.1/jobs/runs/get` at growing intervals.
 * A task that throws fails with a `TaskError` carrying the remote message and
 * stack (from the result object, else `runs/get-output`'s `error` and
 * `error_trace`); an attempt that times out (or whose polling fails) cancels its run
 * (`POST /api/2.1/jobs/runs/cancel`). Auth is a bearer token from
 * `DATABRICKS_TOKEN`, the workspace from `DatabricksConfig({ host })` or
 * `DATABRICKS_HOST`; the token never appears in messages.
 *
 * @module
 */
import type { DatabricksConfig } from "../../src/config/databricks.ts";
import { checkAdapter, failFor, providerData, stagingFailure } from "../_remote.ts";
import { DatabricksClient, FINAL_STATES, type RunInfo } from "./_client.ts";
import { launcherTask } from "../../src/codegen/_databricks.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { pollUntil } from "../cluster/backoff.ts";
import {
  remoteTaskError,
  stageCall,
  type StagedCall,
  succeededValue,
  throwRecordedFailure,
} from "../cluster/staged_call.ts";

/** Options for {@linkcode DatabricksExecutor}, beyond what a cloud run gives. */
export interface DatabricksExecutorOptions extends RemoteExecutorOptions {
  /** The workspace URL. @default {config `host`, else `DATABRICKS_HOST`} */
  host?: string;
  /** The personal access token. @default {`DATABRICKS_TOKEN`} */
  token?: string;
  /** The first wait between status polls, in ms. @default {500} */
  pollInterval?: number;
  /** The longest wait between status polls, in ms. @default {15000} */
  maxPollInterval?: number;
}

/** Runs task calls as one-time Databricks job runs. */
export class DatabricksExecutor implements Executor {
  /** Reports say a task ran on `databricks`. */
  readonly name = "databricks";
  /** The workspace URL requests go to. */
  readonly host: string;
  readonly #options: DatabricksExecutorOptions;
  readonly #config: DatabricksConfig;
  readonly #client: DatabricksClient;

  /**
   * Builds it; nothing is sent until the first call.
   *
   * @param options The run, the resource, and optionally the host and token.
   * @throws {TypeError} When the resource is not a Databricks resource.
   */
  constructor(options: DatabricksExecutorOptions) {
    const { resource } = options;
    checkAdapter(resource, "databricks", "DatabricksExecutor");
    this.#options = options;
    this.#config = resource.config as DatabricksConfig;
    this.#client = new DatabricksClient(
      options.host ?? this.#config.host ?? Deno.env.get("DATABRICKS_HOST") ?? "",
      options.token ?? Deno.env.get("DATABRICKS_TOKEN"),
    );
    this.host = this.#client.host;
  }

  /**
   * Runs one attempt of a task call as a Databricks run.
   *
   * @param invocation The call.
   * @returns The task's value.
   * @throws {TypeError} When an argument cannot cross to the cluster (before anything is sent).
   * @throws {TaskError} `USER:DATABRICKS_CONFIG` without a host, token or staging location.
   * @throws {TaskError} When the task throws on the cluster (remote message and stack carried), the run fails, times out or is cancelled, or the workspace is unreachable.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const fail = failFor(invocation);
    const staging = this.#options.staging;
    const stagingUri = (this.#options.provider as { stagingBucket?: string } | undefined)?.stagingBucket;
    if (this.host === "" || !this.#client.hasToken || !staging || !stagingUri) {
      const missing = this.host === ""
        ? "no workspace URL: set DatabricksConfig({ host }) or DATABRICKS_HOST"
        : !this.#client.hasToken
        ? "no token: set DATABRICKS_TOKEN to a personal access token"
        : 'no staging location: set the provider\'s stagingBucket (AwsConfig({ stagingBucket: "s3://bucket/prefix" }))';
      throw fail(
        `Databricks resource "${this.#options.resource.name}" has ${missing}`,
        "USER:DATABRICKS_CONFIG",
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
    const submitted = await this.#client.api(
      "POST",
      "/api/2.1/jobs/runs/submit",
      fail,
      this.#submitBody(invocation, call),
    );
    const runId = (submitted as { run_id?: number }).run_id;
    if (typeof runId !== "number") {
      throw fail(
        `Databricks at ${this.#client.shown} answered runs/submit without a run_id`,
        "SYSTEM:DATABRICKS_SERVICE",
        true,
      );
    }
    const where = `Databricks run ${runId} at ${this.#client.shown}`;
    const run = await pollUntil({
      initial: this.#options.pollInterval ?? 500,
      max: this.#options.maxPollInterval ?? 15_000,
      signal: invocation.signal,
      get: async () =>
        await this.#client.api("GET", `/api/2.1/jobs/runs/get?run_id=${runId}`, fail) as RunInfo,
      done: (run) => FINAL_STATES.includes(run.state?.life_cycle_state ?? ""),
      cancel: () => this.#client.cancel(runId),
    });
    const state = run.state ?? {};
    if (state.life_cycle_state === "TERMINATED" && state.result_state === "SUCCESS") {
      return await succeededValue(invocation, call, where, fail, {
        advice: "check the launcher on the cluster",
        code: "SYSTEM:DATABRICKS_NO_RESULT",
      });
    }
    // The launcher's own record is the most precise; else what Databricks says.
    await throwRecordedFailure(invocation, call, where);
    if (state.result_state === "FAILED") {
      throw remoteTaskError(invocation, where, await this.#client.runError(run, runId, fail));
    }
    throw this.#client.endError(where, state, fail);
  }

  /** Nothing to release: every request is its own. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #submitBody(invocation: TaskInvocation, call: StagedCall): Record<string, unknown> {
    const { pipeline, resource } = this.#options;
    const timeout = invocation.task.options.timeout;
    return {
      run_name: `glacier-${pipeline}-${invocation.nodeId}-${invocation.attempt}`,
      tasks: [launcherTask({
        pipeline,
        resource: resource.name,
        config: { ...this.#config },
        key: invocation.nodeId.replace(/[^A-Za-z0-9_-]+/g, "_"),
        args: [call.payloadUri, call.resultUri, JSON.stringify(call.config)],
        timeoutMs: typeof timeout === "number" ? timeout : undefined,
      })],
    };
  }
}

/**
 * The factory `mod.ts` wires in for the `databricks` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 */
export function createDatabricksExecutor(options: RemoteExecutorOptions): DatabricksExecutor {
  return new DatabricksExecutor(options);
}
