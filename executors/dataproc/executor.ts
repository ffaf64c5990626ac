/**
 * The Dataproc executor: runs task calls as jobs on the configured Dataproc
 * cluster through the Dataproc v1 REST API
 * (`POST /v1/projects/<project>/regions/<region>/jobs:submit`).
 *
 * Dataproc has no shell job type, so each attempt is a `pysparkJob` whose
 * `mainPythonFileUri` is a small Python launcher staged at
 * `<stagingBucket>/scripts/glacier_dataproc_launcher.py` (the executor uploads
 * it when it is missing or out of date; `glacier generate terraform` uploads
 * the same text). A PySpark driver is a plain `python3` process on the
 * primary node, scheduled, logged and cancellable by Dataproc like any job,
 * and needs nothing beyond the Deno init action: it runs
 * `deno run -A <launcher.ts> <payloadUri> <resultUri> <config>` and exits with
 * Deno's code. (A `pigJob` with `sh` would also work, but quoting a JSON
 * config through Pig Latin is fragile, and Pig is optional on newer images.)
 *
 * The job is polled (`GET …/jobs/<jobId>`) at growing intervals until
 * `DONE`, `ERROR` or `CANCELLED`. A task that throws fails with a `TaskError`
 * carrying the remote message and stack (from the launcher's result object,
 * else `status.details`); an attempt that times out or is aborted cancels its
 * job (`POST …/jobs/<jobId>:cancel`). Connection failures, 429 and 5xx
 * answers are retried with backoff; a retried `jobs:submit` carries the same
 * `requestId`, which Dataproc uses to create the job only once.
 *
 * The endpoint is `https://<region>-dataproc.googleapis.com`, or
 * `GLACIER_DATAPROC_ENDPOINT`; the project comes from `GcpConfig`, the region
 * from `DataprocConfig.region`, else `GcpConfig.region`. Auth is a bearer
 * token from `GOOGLE_OAUTH_ACCESS_TOKEN` or the GCP metadata server (see
 * `stores/_gcp_auth.ts`); it never appears in messages or job bodies.
 *
 * @module
 */
import type { DataprocConfig, GcpConfig } from "../../src/config/gcp.ts";
import { DATAPROC_LAUNCHER_OBJECT, dataprocLauncher } from "../../src/codegen/_scripts.ts";
import { errorMessage, GlacierError } from "../../src/errors.ts";
import { redactUrl } from "../../src/_redact.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { gcpAccessToken, gcpEnv, maskToken } from "../../stores/_gcp_auth.ts";
import { checkAdapter, type Fail, failFor, providerData, stagingFailure } from "../_remote.ts";
import { pollDelays, pollUntil, sleep } from "../cluster/backoff.ts";
import {
  remoteMessageError,
  stageCall,
  type StagedCall,
  stagedObject,
  succeededValue,
  throwRecordedFailure,
} from "../cluster/staged_call.ts";

/** Where the launcher is on the cluster unless `GLACIER_DATAPROC_LAUNCHER` says otherwise. */
export const DEFAULT_DATAPROC_LAUNCHER = "/opt/glacier/app/executors/cluster/launcher.ts";

/** Options for {@linkcode DataprocExecutor}, beyond what a cloud run gives. */
export interface DataprocExecutorOptions extends RemoteExecutorOptions {
  /** The API endpoint. @default {`GLACIER_DATAPROC_ENDPOINT`, else `https://<region>-dataproc.googleapis.com`} */
  endpoint?: string;
  /** The bearer token. @default {`GOOGLE_OAUTH_ACCESS_TOKEN`, else the GCP metadata server's} */
  token?: string;
  /** The launcher's path on the cluster. @default {`GLACIER_DATAPROC_LAUNCHER`, else {@linkcode DEFAULT_DATAPROC_LAUNCHER}} */
  launcher?: string;
  /** The first wait between status polls, in ms. @default {1000} */
  pollInterval?: number;
  /** The longest wait between status polls, in ms. @default {20000} */
  maxPollInterval?: number;
  /** Attempts per API request, the first included. @default {4} */
  maxAttempts?: number;
  /** The first wait before retrying a request, in ms; it doubles. @default {500} */
  retryDelay?: number;
}

/** A Dataproc job as `jobs.get` returns it (the fields Glacier reads). */
interface DataprocJob {
  reference?: { jobId?: string };
  status?: { state?: string; details?: string };
  driverOutputResourceUri?: string;
}

/** Runs task calls as PySpark jobs on one Dataproc cluster. */
export class DataprocExecutor implements Executor {
  /** Reports say a task ran on `dataproc`. */
  readonly name = "dataproc";
  /** The cluster name. */
  readonly cluster: string;
  /** The project id. */
  readonly project: string;
  /** The region. */
  readonly region: string;
  /** The endpoint requests go to. */
  readonly endpoint: string;
  /** The endpoint for messages, credentials hidden. */
  readonly #shown: string;
  readonly #options: DataprocExecutorOptions;
  #token: string | undefined;
  #script: Promise<string> | undefined;

  /**
   * Builds it; nothing is sent until the first call.
   *
   * @param options The run, the resource, and optionally the endpoint and token.
   * @throws {TypeError} When the resource is not a Dataproc resource.
   */
  constructor(options: DataprocExecutorOptions) {
    const { resource } = options;
    checkAdapter(resource, "dataproc", "DataprocExecutor");
    this.#options = options;
    const config = resource.config as DataprocConfig;
    const gcp = options.provider?.cloud === "gcp" ? options.provider as GcpConfig : undefined;
    this.cluster = config.cluster;
    this.project = gcp?.project ?? "";
    this.region = config.region ?? gcp?.region ?? "us-central1";
    this.endpoint = (options.endpoint ?? gcpEnv("GLACIER_DATAPROC_ENDPOINT") ??
      `https://${this.region}-dataproc.googleapis.com`).replace(/\/+$/, "");
    this.#shown = redactUrl(this.endpoint);
    this.#token = options.token;
  }

  /**
   * Runs one attempt of a task call as a Dataproc job.
   *
   * @param invocation The call.
   * @returns The task's value.
   * @throws {TypeError} When an argument cannot cross to the cluster (before anything is sent).
   * @throws {TaskError} `USER:DATAPROC_CONFIG` without a GCP project or staging location; `USER:GCP_CREDENTIALS` without a token.
   * @throws {TaskError} When the task throws on the cluster (remote message and stack carried), the job fails or is cancelled, or Dataproc is unreachable.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const fail = failFor(invocation);
    const staging = this.#options.staging;
    const stagingUri = (this.#options.provider as { stagingBucket?: string } | undefined)?.stagingBucket;
    if (!this.project || !staging || !stagingUri) {
      throw fail(
        `Dataproc resource "${this.#options.resource.name}" has ${
          this.project ? "no staging location" : "no GCP project"
        }: make it with a GcpConfig provider, such as new GcpConfig({ project: "my-project", stagingBucket: "gs://bucket/glacier" })`,
        "USER:DATAPROC_CONFIG",
      );
    }
    await this.#ensureToken(fail);
    let call: StagedCall;
    let script: string;
    try {
      call = await stageCall(invocation, staging, {
        uri: stagingUri,
        config: providerData(this.#options.provider),
      });
      script = await this.#stageScript(stagingUri, call.config);
    } catch (error) {
      throw stagingFailure(error, fail);
    }
    const jobId = `glacier-${invocation.pipeline}-${invocation.nodeId}-${invocation.attempt}-${
      crypto.randomUUID().slice(0, 8)
    }`.replace(/[^A-Za-z0-9_-]+/g, "_").slice(-100);
    const launcher = this.#options.launcher ?? gcpEnv("GLACIER_DATAPROC_LAUNCHER") ??
      DEFAULT_DATAPROC_LAUNCHER;
    const jobs = `/v1/projects/${this.project}/regions/${this.region}/jobs`;
    await this.#api("jobs:submit", "POST", `${jobs}:submit`, fail, {
      requestId: crypto.randomUUID(), // the same on every retry: Dataproc creates the job once
      job: {
        reference: { projectId: this.project, jobId },
        placement: { clusterName: this.cluster },
        labels: {
          "glacier-pipeline": label(invocation.pipeline),
          "glacier-task": label(invocation.task.name),
        },
        pysparkJob: {
          mainPythonFileUri: script,
          args: [launcher, call.payloadUri, call.resultUri, JSON.stringify(call.config)],
        },
      },
    });
    const where = `Dataproc job ${jobId} on cluster ${this.cluster}`;
    const job = await pollUntil({
      initial: this.#options.pollInterval ?? 1000,
      max: this.#options.maxPollInterval ?? 20_000,
      signal: invocation.signal,
      get: async () =>
        await this.#api(
          "jobs.get",
          "GET",
          `${jobs}/${jobId}`,
          fail,
          undefined,
          invocation.signal,
        ) as DataprocJob,
      done: (job) => ["DONE", "ERROR", "CANCELLED"].includes(job.status?.state ?? ""),
      cancel: () => this.#cancel(`${jobs}/${jobId}:cancel`, jobId, fail),
    });
    const state = job.status?.state;
    if (state === "DONE") {
      return await succeededValue(invocation, call, where, fail, {
        advice: `check the launcher path ${JSON.stringify(launcher)} on the cluster`,
        code: "SYSTEM:DATAPROC_NO_RESULT",
      });
    }
    await throwRecordedFailure(invocation, call, where);
    const details = job.status?.details ? maskToken(job.status.details, this.#token) : undefined;
    if (state === "ERROR" && details) {
      const message = /Job failed with message \[([^]*?)\]/.exec(details)?.[1] ?? details;
      const log = job.driverOutputResourceUri ? `\n    (driver output: ${job.driverOutputResourceUri})` : "";
      throw remoteMessageError(invocation, where, message, `${details}${log}`);
    }
    throw fail(
      `${where} ended ${state}${details ? ` (${details})` : ""}; ${
        state === "CANCELLED" ? "it was cancelled outside Glacier, rerun it" : "check the cluster, then rerun"
      }`,
      state === "CANCELLED" ? "SYSTEM:DATAPROC_CANCELLED" : "SYSTEM:DATAPROC_JOB",
      true,
    );
  }

  /** Nothing to release: every request is its own. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async #ensureToken(fail: Fail): Promise<void> {
    if (this.#options.token) return;
    try {
      this.#token = await gcpAccessToken(`submit Dataproc jobs to cluster "${this.cluster}"`);
    } catch (error) {
      const e = error as GlacierError;
      throw fail(errorMessage(error), e.code ?? "USER:GCP_CREDENTIALS", e.retryable ?? false, error);
    }
  }

  // The Python launcher, uploaded once per executor when missing or different.
  #stageScript(stagingUri: string, config: unknown): Promise<string> {
    this.#script ??= (async () => {
      const object = stagedObject(
        `${stagingUri.replace(/\/+$/, "")}/${DATAPROC_LAUNCHER_OBJECT}`,
        config,
        this.#options.staging!.root.location.storage,
      );
      const text = dataprocLauncher();
      const current = await object.read().then((b) => new TextDecoder().decode(b), () => undefined);
      if (current !== text) await object.put(text);
      return object.uri;
    })();
    this.#script.catch(() => this.#script = undefined); // a failed upload is tried again next call
    return this.#script;
  }

  async #cancel(path: string, jobId: string, fail: Fail): Promise<void> {
    try {
      await this.#api("jobs:cancel", "POST", path, fail, {});
    } catch (error) {
      console.error(
        `glacier: could not cancel Dataproc job ${jobId} on cluster ${this.cluster}: ${
          errorMessage(error)
        }; cancel it with "gcloud dataproc jobs kill ${jobId} --region ${this.region}"`,
      );
    }
  }

  async #api(
    op: string,
    method: string,
    path: string,
    fail: Fail,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const attempts = this.#options.maxAttempts ?? 4;
    const waits = pollDelays({ initial: this.#options.retryDelay ?? 500, max: 8_000, factor: 2 });
    for (let attempt = 1;; attempt++) {
      let status: number | undefined;
      let detail: string;
      try {
        const response = await fetch(`${this.endpoint}${path}`, {
          method,
          headers: { Authorization: `Bearer ${this.#token}`, "Content-Type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = maskToken(await response.text(), this.#token);
        if (response.ok) {
          try {
            return JSON.parse(text);
          } catch {
            throw fail(
              `Dataproc at ${this.#shown} answered ${op} with no JSON`,
              "SYSTEM:DATAPROC_SERVICE",
              true,
            );
          }
        }
        status = response.status;
        detail = text.slice(0, 500);
        try {
          const e = (JSON.parse(text) as { error?: { status?: string; message?: string } }).error;
          detail = `${e?.status ?? ""} ${e?.message ?? ""}`.trim() || detail;
        } catch { /* plain text */ }
      } catch (error) {
        if (error instanceof GlacierError) throw error;
        detail = maskToken(errorMessage(error), this.#token);
      }
      const transient = status === undefined || status === 429 || status >= 500;
      if (transient && attempt < attempts) {
        await sleep(waits.next().value, signal);
        continue;
      }
      const tries = attempt > 1 ? ` after ${attempt} attempts` : "";
      if (status === undefined) {
        throw fail(
          `Dataproc at ${this.#shown} did not answer ${op}${tries} (${detail}); check that it is reachable (GLACIER_DATAPROC_ENDPOINT overrides it), then rerun`,
          "SYSTEM:DATAPROC_UNREACHABLE",
          true,
        );
      }
      if (status === 401 || status === 403) {
        throw fail(
          `Dataproc at ${this.#shown} refused ${op} (${status} ${detail}); check GOOGLE_OAUTH_ACCESS_TOKEN (it may have expired) and the roles of its account on project "${this.project}"`,
          "USER:DATAPROC_AUTH",
          false,
        );
      }
      if (transient) {
        throw fail(
          `Dataproc at ${this.#shown} answered ${op} with ${status}${tries} (${detail}); it is retried within the task's "retries"`,
          "SYSTEM:DATAPROC_SERVICE",
          true,
        );
      }
      throw fail(
        `Dataproc at ${this.#shown} answered ${op} with ${status} (${detail}); check DataprocConfig({ cluster: "${this.cluster}" }) and the project "${this.project}" and region "${this.region}"`,
        "USER:DATAPROC_REQUEST",
        false,
      );
    }
  }
}

// Label values: lower-case letters, digits, "-" and "_", at most 63.
function label(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 63);
}

/**
 * The factory `mod.ts` wires in for the `dataproc` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 */
export function createDataprocExecutor(options: RemoteExecutorOptions): DataprocExecutor {
  return new DataprocExecutor(options);
}
