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
 * `error_trace`); an attempt that times out cancels its run
 * (`POST /api/2.1/jobs/runs/cancel`). Auth is a bearer token from
 * `DATABRICKS_TOKEN`, the workspace from `DatabricksConfig({ host })` or
 * `DATABRICKS_HOST`; the token never appears in messages.
 *
 * @module
 */
import type { DatabricksConfig } from "../../src/config.ts";
import { errorMessage, type TaskError } from "../../src/errors.ts";
import { checkService, failFor, providerData, stagingFailure } from "../_remote.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { pollDelays, sleep } from "../cluster/backoff.ts";
import {
  remoteMessageError,
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

/** A run's state, as `runs/get` reports it. */
interface RunState {
  life_cycle_state?: string;
  result_state?: string;
  state_message?: string;
}

/** Runs task calls as one-time Databricks job runs. */
export class DatabricksExecutor implements Executor {
  /** Reports say a task ran on `databricks`. */
  readonly name = "databricks";
  /** The workspace URL requests go to. */
  readonly host: string;
  readonly #options: DatabricksExecutorOptions;
  readonly #config: DatabricksConfig;
  readonly #token: string | undefined;

  /**
   * Builds it; nothing is sent until the first call.
   *
   * @param options The run, the resource, and optionally the host and token.
   * @throws {TypeError} When the resource is not a Databricks resource.
   */
  constructor(options: DatabricksExecutorOptions) {
    const { resource } = options;
    checkService(resource, "databricks", "DatabricksExecutor");
    this.#options = options;
    this.#config = resource.config as DatabricksConfig;
    const host = options.host ?? this.#config.host ?? Deno.env.get("DATABRICKS_HOST") ?? "";
    this.host = host === "" ? "" : (/^https?:\/\//.test(host) ? host : `https://${host}`).replace(/\/+$/, "");
    this.#token = options.token ?? Deno.env.get("DATABRICKS_TOKEN");
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
    if (this.host === "" || !this.#token || !staging || !stagingUri) {
      const missing = this.host === ""
        ? "no workspace URL: set DatabricksConfig({ host }) or DATABRICKS_HOST"
        : !this.#token
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
    const submitted = await this.#api(
      "POST",
      "/api/2.1/jobs/runs/submit",
      fail,
      this.#submitBody(invocation, call),
    );
    const runId = (submitted as { run_id?: number }).run_id;
    if (typeof runId !== "number") {
      throw fail(
        `Databricks at ${this.host} answered runs/submit without a run_id`,
        "SYSTEM:DATABRICKS_SERVICE",
        true,
      );
    }
    const where = `Databricks run ${runId} at ${this.host}`;
    let run: { state?: RunState; tasks?: { run_id?: number }[] };
    try {
      const delays = pollDelays({
        initial: this.#options.pollInterval ?? 500,
        max: this.#options.maxPollInterval ?? 15_000,
      });
      for (;;) {
        await sleep(delays.next().value, invocation.signal);
        run = await this.#api("GET", `/api/2.1/jobs/runs/get?run_id=${runId}`, fail) as typeof run;
        const life = run.state?.life_cycle_state;
        if (life === "TERMINATED" || life === "SKIPPED" || life === "INTERNAL_ERROR") break;
      }
    } catch (error) {
      if (invocation.signal.aborted) {
        await this.#cancel(runId);
        throw invocation.signal.reason;
      }
      throw error;
    }
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
      const taskRunId = run.tasks?.[0]?.run_id ?? runId;
      const output = await this.#api("GET", `/api/2.1/jobs/runs/get-output?run_id=${taskRunId}`, fail)
        .catch(() => ({})) as { error?: string; error_trace?: string };
      const message = output.error ?? state.state_message ?? "the run failed without a message";
      throw remoteMessageError(invocation, where, message, output.error_trace ?? message);
    }
    const detail = `${where} ended ${state.life_cycle_state}${
      state.result_state ? `/${state.result_state}` : ""
    }${state.state_message ? ` (${this.#mask(state.state_message)})` : ""}`;
    if (state.result_state === "TIMEDOUT") {
      throw fail(
        `${detail}; raise the task's timeout, or use a larger cluster`,
        "SYSTEM:DATABRICKS_TIMEDOUT",
        true,
      );
    }
    if (state.result_state === "CANCELED") {
      throw fail(`${detail}; it was cancelled outside Glacier, rerun it`, "SYSTEM:DATABRICKS_CANCELED", true);
    }
    throw fail(`${detail}; check the cluster in the workspace, then rerun`, "SYSTEM:DATABRICKS_RUN", true);
  }

  /** Nothing to release: every request is its own. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #submitBody(invocation: TaskInvocation, call: StagedCall): Record<string, unknown> {
    const { pipeline, resource } = this.#options;
    const dir = `/Shared/glacier/${pipeline}`;
    const cluster = this.#config.newCluster;
    const timeout = invocation.task.options.timeout;
    return {
      run_name: `glacier-${pipeline}-${invocation.nodeId}-${invocation.attempt}`,
      tasks: [{
        task_key: invocation.nodeId.replace(/[^A-Za-z0-9_-]+/g, "_"),
        ...(cluster
          ? {
            new_cluster: {
              spark_version: cluster.sparkVersion,
              node_type_id: cluster.nodeTypeId,
              num_workers: cluster.numWorkers,
              init_scripts: [{ workspace: { destination: `${dir}/init_deno.sh` } }],
            },
          }
          : { existing_cluster_id: this.#config.clusterId }),
        spark_python_task: {
          python_file: `${dir}/glacier_launcher.py`,
          source: "WORKSPACE",
          parameters: [
            `/Workspace${dir}/${resource.name}.zip`,
            `/Workspace${dir}/init_deno.sh`,
            call.payloadUri,
            call.resultUri,
            JSON.stringify(call.config),
          ],
        },
        ...(typeof timeout === "number" ? { timeout_seconds: Math.ceil(timeout / 1000) } : {}),
      }],
    };
  }

  async #cancel(runId: number): Promise<void> {
    try {
      const response = await fetch(`${this.host}/api/2.1/jobs/runs/cancel`, {
        method: "POST",
        headers: this.#headers(),
        body: JSON.stringify({ run_id: runId }),
      });
      await response.body?.cancel();
    } catch (error) {
      console.error(
        `glacier: could not cancel Databricks run ${runId} at ${this.host}: ${
          this.#mask(errorMessage(error))
        }; cancel it in the workspace`,
      );
    }
  }

  #headers(): HeadersInit {
    return { Authorization: `Bearer ${this.#token}`, "Content-Type": "application/json" };
  }

  // The token must never reach a message, even if a server echoes it.
  #mask(text: string): string {
    return this.#token ? text.replaceAll(this.#token, "***") : text;
  }

  async #api(
    method: string,
    path: string,
    fail: (detail: string, code: string, retryable?: boolean, cause?: unknown) => TaskError,
    body?: unknown,
  ): Promise<unknown> {
    const endpoint = path.replace(/\?.*$/, "").replace("/api/2.1/", "");
    let response: Response;
    try {
      response = await fetch(`${this.host}${path}`, {
        method,
        headers: this.#headers(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw fail(
        `the Databricks workspace ${this.host} did not answer ${endpoint} (${
          this.#mask(errorMessage(error))
        }); check that it is up and reachable, then rerun`,
        "SYSTEM:DATABRICKS_UNREACHABLE",
        true,
      );
    }
    const text = this.#mask(await response.text());
    if (response.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw fail(
          `Databricks at ${this.host} answered ${endpoint} with no JSON`,
          "SYSTEM:DATABRICKS_SERVICE",
          true,
        );
      }
    }
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      message = `${parsed.error_code ?? ""} ${parsed.message ?? ""}`.trim() || message;
    } catch { /* plain text */ }
    const status = response.status;
    if (status === 401 || status === 403) {
      throw fail(
        `Databricks at ${this.host} refused ${endpoint} (${status} ${message}); check DATABRICKS_TOKEN and its permissions on the cluster`,
        "USER:DATABRICKS_AUTH",
        false,
      );
    }
    const retryable = status === 429 || status >= 500;
    throw fail(
      `Databricks at ${this.host} answered ${endpoint} with ${status} ${message}${
        retryable ? '; it is retried within the task\'s "retries"' : "; check the resource's DatabricksConfig"
      }`,
      retryable ? "SYSTEM:DATABRICKS_SERVICE" : "USER:DATABRICKS_REQUEST",
      retryable,
    );
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
