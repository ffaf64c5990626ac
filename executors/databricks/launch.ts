/**
 * The Databricks side of the Step Functions launcher function
 * (`glacier-<pipeline>-launcher`): the generated state machine runs a task
 * bound to Databricks by invoking the launcher with a submit event, then
 * polling it with the run id until the run is done.
 *
 * - `{ submit: "databricks", job, payload }` finds the job Glacier generated
 *   for the node by name (`GET /api/2.1/jobs/list?name=`; exactly one must
 *   exist) and starts it (`POST /api/2.1/jobs/run-now`) with the job
 *   parameter `payload`: the orchestrator payload as JSON, or, when that is
 *   past Databricks' 10,000-byte limit on run parameters, the `s3://` URI of
 *   the payload staged under the function's `GLACIER_STAGING`. The job's
 *   `glacier_launcher.py` passes it to the artifact's `bootstrap --payload`.
 *   The run's idempotency token is derived from the execution, the node and
 *   the item, so a retried submit finds the run already started. Returns
 *   `{ runId }`.
 * - `{ poll: "databricks", runId }` reads the run (`GET
 *   /api/2.1/jobs/runs/get`) and returns `{ state }`: `PENDING`, `RUNNING`
 *   or `SUCCESS`. A run that failed throws a `TaskError` named
 *   `GlacierTaskFailed` whose message carries the task's remote error (from
 *   `runs/get-output`), so the execution shows the real cause.
 *
 * The workspace is `DATABRICKS_HOST`, the bearer token `DATABRICKS_TOKEN`;
 * the token never appears in a message. A deployed launcher has no
 * `DATABRICKS_TOKEN` variable: the Lambda runtime reads it at start from the
 * Secrets Manager secret `GLACIER_SECRET_DATABRICKS_TOKEN` names.
 *
 * @module
 */
import { stagingPrefix } from "../../src/run/staging.ts";
import { TASK_FAILED_ERROR } from "../../src/codegen/step_functions.ts";
import { errorMessage, GlacierError, TaskError } from "../../src/errors.ts";
import { remoteTaskError, stagedObject } from "../cluster/staged_call.ts";
import type { StorageWiring } from "../../src/resources/object_store.ts";
import { RUNNER_WIRING } from "../wiring.ts";
import { type ApiFail, DatabricksClient, type RunInfo } from "./_client.ts";
import type { OrchestratorPayload } from "../_replay.ts";
import { toWireJson } from "../_wire.ts";

/** Databricks' limit on the JSON of a run's parameters, in bytes (Jobs API `run-now`). */
export const JOB_PARAMETERS_LIMIT_BYTES = 10_000;

/** Starts the Databricks job of one node with an orchestrator payload. */
export interface DatabricksSubmitEvent {
  /** Always `databricks`. */
  readonly submit: "databricks";
  /** The job's name, as generated (`<executor name>-<node id slug>`). */
  readonly job: string;
  /** The Glacier orchestrator payload of the call. */
  readonly payload: OrchestratorPayload;
}

/** Asks how a run started by a submit event is doing. */
export interface DatabricksPollEvent {
  /** Always `databricks`. */
  readonly poll: "databricks";
  /** The run id a submit returned. */
  readonly runId: number | string;
}

/** A launcher event for Databricks. */
export type DatabricksLaunchEvent = DatabricksSubmitEvent | DatabricksPollEvent;

/** What a poll reports while the run is not failed. */
export type DatabricksRunStatus = "PENDING" | "RUNNING" | "SUCCESS";

/** Options for {@linkcode launchDatabricks}. */
export interface DatabricksLaunchOptions {
  /** The workspace URL. @default {`DATABRICKS_HOST`} */
  host?: string;
  /** The personal access token. @default {`DATABRICKS_TOKEN`} */
  token?: string;
  /** Where large payloads are staged, such as `s3://bucket/glacier/`. @default {`GLACIER_STAGING`, else the payload's `staging`} */
  staging?: string;
  /** The largest run parameters, as JSON bytes, sent inline. @default {JOB_PARAMETERS_LIMIT_BYTES} */
  parameterLimitBytes?: number;
  /** The stores staged payloads are read and written with. @default {RUNNER_WIRING} */
  storage?: StorageWiring;
}

/**
 * Whether a Lambda event is for Databricks (a submit or a poll), not a task payload.
 *
 * @param event The decoded event.
 * @returns Whether {@linkcode launchDatabricks} handles it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDatabricksLaunchEvent } from "./launch.ts";
 * assert.ok(isDatabricksLaunchEvent({ poll: "databricks", runId: 7 }));
 * assert.ok(!isDatabricksLaunchEvent({ version: 2, task: "clean" }));
 * ```
 */
export function isDatabricksLaunchEvent(event: unknown): event is DatabricksLaunchEvent {
  const e = event as Record<string, unknown> | null;
  return typeof e === "object" && e !== null && (e.submit === "databricks" || e.poll === "databricks");
}

/**
 * Submits a node's Databricks job, or polls its run.
 *
 * @param event The submit or poll event.
 * @param options The workspace, token and staging location.
 * @returns `{ runId }` for a submit, `{ state }` for a poll.
 * @throws {GlacierError} `USER:DATABRICKS_CONFIG` without a workspace URL or token.
 * @throws {TaskError} `USER:DATABRICKS_JOB_NOT_FOUND` / `USER:DATABRICKS_JOB_AMBIGUOUS` when not exactly one job has the name.
 * @throws {TaskError} `SYSTEM:STAGING_WRITE` when a large payload cannot be staged.
 * @throws {TaskError} Named `GlacierTaskFailed` when the run failed: the task's remote message, or how the run ended.
 * @throws {GlacierError} When the workspace refuses a request or cannot be reached (the codes of the Databricks executor).
 */
export async function launchDatabricks(
  event: DatabricksLaunchEvent,
  options: DatabricksLaunchOptions = {},
): Promise<{ runId: number } | { state: DatabricksRunStatus }> {
  const client = new DatabricksClient(
    options.host ?? Deno.env.get("DATABRICKS_HOST") ?? "",
    options.token ?? Deno.env.get("DATABRICKS_TOKEN"),
  );
  if (client.host === "" || !client.hasToken) {
    throw new GlacierError(
      "USER:DATABRICKS_CONFIG",
      `The launcher function of pipeline "${Deno.env.get("GLACIER_PIPELINE") ?? "?"}" has no ${
        client.host === "" ? "workspace URL: set DATABRICKS_HOST" : "token: set DATABRICKS_TOKEN"
      } in its environment (the generated Terraform's var.databricks_host, and var.env_databricks_token, stored in the Secrets Manager secret that GLACIER_SECRET_DATABRICKS_TOKEN names)`,
    );
  }
  if ("submit" in event) return { runId: await submit(client, event, options) };
  return { state: await poll(client, event, options.storage ?? RUNNER_WIRING) };
}

type Call = Pick<OrchestratorPayload, "pipeline" | "task" | "nodeId" | "attempt">;

function failFor(p: Call): ApiFail {
  return (detail, code, retryable = false, cause) =>
    new TaskError(detail, {
      pipeline: p.pipeline,
      task: p.task,
      nodeId: p.nodeId,
      attempt: p.attempt,
      code,
      retryable,
      cause,
    });
}

async function submit(
  client: DatabricksClient,
  event: DatabricksSubmitEvent,
  options: DatabricksLaunchOptions,
): Promise<number> {
  const payload = event.payload;
  const fail = failFor(payload);
  const listed = await client.api(
    "GET",
    `/api/2.1/jobs/list?name=${encodeURIComponent(event.job)}`,
    fail,
  ) as { jobs?: { job_id?: number; settings?: { name?: string } }[] };
  const jobs = (listed.jobs ?? []).filter((j) =>
    j.settings?.name === undefined || j.settings.name === event.job
  );
  if (jobs.length !== 1 || typeof jobs[0].job_id !== "number") {
    throw fail(
      jobs.length === 0
        ? `Databricks at ${client.shown} has no job named "${event.job}"; apply the generated Terraform (databricks.tf) or create the job from databricks_jobs.json, then rerun`
        : `Databricks at ${client.shown} has ${jobs.length} jobs named "${event.job}" (ids ${
          jobs.map((j) => j.job_id).join(", ")
        }); delete all but the one the generated Terraform manages, then rerun`,
      jobs.length === 0 ? "USER:DATABRICKS_JOB_NOT_FOUND" : "USER:DATABRICKS_JOB_AMBIGUOUS",
    );
  }
  const text = toWireJson(payload);
  const limit = options.parameterLimitBytes ?? JOB_PARAMETERS_LIMIT_BYTES;
  let parameter = text;
  if (new TextEncoder().encode(JSON.stringify({ payload: text })).byteLength > limit) {
    const base = options.staging ?? Deno.env.get("GLACIER_STAGING");
    const prefix = base ? stagingPrefix(base, payload.runId) : payload.staging.replace(/\/?$/, "/");
    parameter = `${prefix}payloads/${payload.output}-${payload.attempt}.json`;
    try {
      await stagedObject(parameter, {}, options.storage ?? RUNNER_WIRING).put(text);
    } catch (error) {
      throw fail(
        `its payload (${text.length} bytes, past Databricks' ${limit}-byte parameter limit) could not be staged at ${parameter}: ${
          errorMessage(error)
        }; check the launcher function may write to the staging bucket`,
        "SYSTEM:STAGING_WRITE",
        true,
        error,
      );
    }
  }
  const started = await client.api("POST", "/api/2.1/jobs/run-now", fail, {
    job_id: jobs[0].job_id,
    job_parameters: { payload: parameter },
    idempotency_token: await idempotencyToken(payload),
  }) as { run_id?: number };
  if (typeof started.run_id !== "number") {
    throw fail(
      `Databricks at ${client.shown} answered run-now without a run_id`,
      "SYSTEM:DATABRICKS_SERVICE",
      true,
    );
  }
  return started.run_id;
}

const PENDING = new Set(["PENDING", "QUEUED", "BLOCKED", "WAITING_FOR_RETRY"]);
const RUNNING = new Set(["RUNNING", "TERMINATING"]);

async function poll(
  client: DatabricksClient,
  event: DatabricksPollEvent,
  storage: StorageWiring,
): Promise<DatabricksRunStatus> {
  const runId = Number(event.runId);
  const pipeline = Deno.env.get("GLACIER_PIPELINE") ?? "?";
  const where = `Databricks run ${runId} at ${client.shown}`;
  if (!Number.isSafeInteger(runId)) {
    throw new RangeError(`Poll event's runId ${JSON.stringify(event.runId)} is not a Databricks run id`);
  }
  const plain: ApiFail = (detail, code, retryable = false, cause) =>
    new GlacierError(code, `Cannot poll ${where} for pipeline "${pipeline}": ${detail}`, {
      retryable,
      cause,
    });
  const run = await client.api("GET", `/api/2.1/jobs/runs/get?run_id=${runId}`, plain) as RunInfo;
  const state = run.state ?? {};
  const life = state.life_cycle_state ?? "PENDING";
  if (PENDING.has(life)) return "PENDING";
  if (RUNNING.has(life)) return "RUNNING";
  if (life === "TERMINATED" && state.result_state === "SUCCESS") return "SUCCESS";
  // The run is over and did not succeed: name the call and carry the remote cause.
  const call = await callOf(run, pipeline, storage);
  const fail = failFor(call);
  const error = state.result_state === "FAILED"
    ? remoteTaskError({ ...call, task: { name: call.task } }, where, await client.runError(run, runId, fail))
    : client.endError(where, state, fail);
  error.name = TASK_FAILED_ERROR;
  throw error;
}

// The call a run was started for, from its `payload` job parameter (inline or staged).
async function callOf(run: RunInfo, pipeline: string, storage: StorageWiring): Promise<Call> {
  const fallback = { pipeline, task: run.run_name ?? `run ${run.run_id}`, attempt: 1 } as const;
  const value = run.job_parameters?.find((p) => p.name === "payload");
  let text = value?.value ?? value?.default;
  if (!text) return { ...fallback, nodeId: fallback.task };
  try {
    if (/^[a-z0-9]+:\/\//.test(text)) {
      text = new TextDecoder().decode(await stagedObject(text, {}, storage).read());
    }
    const p = JSON.parse(text) as Partial<OrchestratorPayload>;
    if (typeof p.pipeline === "string" && typeof p.task === "string") {
      return {
        pipeline: p.pipeline,
        task: p.task,
        nodeId: p.nodeId ?? p.task,
        attempt: typeof p.attempt === "number" ? p.attempt : 1,
      };
    }
  } catch { /* the run's own name will do */ }
  return { ...fallback, nodeId: fallback.task };
}

// One run per call of an execution (and per item of a mapped call): when Step
// Functions retries a submit whose answer was lost, Databricks gives back the
// run the first submit started instead of starting another (at most 64 characters).
async function idempotencyToken(payload: OrchestratorPayload): Promise<string> {
  const key = [payload.pipeline, payload.runId, payload.nodeId, payload.item?.index ?? ""].join("\n");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
