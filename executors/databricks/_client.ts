// The Databricks REST client that the Databricks executor and the Step
// Functions launcher (executors/databricks/launch.ts) share: bearer
// auth, the token masked out of everything that reaches a message, Jobs API
// answers mapped to Glacier codes, and a finished run's failure as data.
import { errorMessage } from "../../src/errors.ts";
import { redactUrl, redactUrls } from "../../src/_redact.ts";
import type { ErrorRecord } from "../cluster/staged_call.ts";

/** Builds the error of a failed request; the executor's makes TaskErrors. */
export type ApiFail = (detail: string, code: string, retryable?: boolean, cause?: unknown) => Error;

/** A run's state, as `runs/get` reports it. */
export interface RunState {
  life_cycle_state?: string;
  result_state?: string;
  state_message?: string;
}

/** The part of a `runs/get` answer Glacier reads. */
export interface RunInfo {
  run_id?: number;
  run_name?: string;
  state?: RunState;
  tasks?: { run_id?: number }[];
  job_parameters?: { name?: string; default?: string; value?: string }[];
}

/** Life cycle states after which a run does nothing more. */
export const FINAL_STATES: readonly string[] = ["TERMINATED", "SKIPPED", "INTERNAL_ERROR"];

/** A workspace URL with its scheme and without a trailing slash; "" stays "". */
export function workspaceUrl(host: string): string {
  return host === "" ? "" : (/^https?:\/\//.test(host) ? host : `https://${host}`).replace(/\/+$/, "");
}

export class DatabricksClient {
  readonly host: string;
  /** The workspace URL for messages: credentials in it (`https://user:pass@host`) hidden. */
  readonly shown: string;
  readonly #token: string | undefined;

  constructor(host: string, token: string | undefined) {
    this.host = workspaceUrl(host);
    this.shown = redactUrl(this.host);
    this.#token = token;
  }

  get hasToken(): boolean {
    return !!this.#token;
  }

  // The token must never reach a message, even if a server echoes it; nor a
  // password in a URL that an error quotes.
  mask(text: string): string {
    return redactUrls(this.#token ? text.replaceAll(this.#token, "***") : text);
  }

  async api(method: string, path: string, fail: ApiFail, body?: unknown): Promise<unknown> {
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
        `the Databricks workspace ${this.shown} did not answer ${endpoint} (${
          this.mask(errorMessage(error))
        }); check that it is up and reachable, then rerun`,
        "SYSTEM:DATABRICKS_UNREACHABLE",
        true,
      );
    }
    const text = this.mask(await response.text());
    if (response.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw fail(
          `Databricks at ${this.shown} answered ${endpoint} with no JSON`,
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
        `Databricks at ${this.shown} refused ${endpoint} (${status} ${message}); check DATABRICKS_TOKEN and its permissions on the cluster`,
        "USER:DATABRICKS_AUTH",
        false,
      );
    }
    const retryable = status === 429 || status >= 500;
    throw fail(
      `Databricks at ${this.shown} answered ${endpoint} with ${status} ${message}${
        retryable ? '; it is retried within the task\'s "retries"' : "; check the resource's DatabricksConfig"
      }`,
      retryable ? "SYSTEM:DATABRICKS_SERVICE" : "USER:DATABRICKS_REQUEST",
      retryable,
    );
  }

  async cancel(runId: number): Promise<void> {
    try {
      const response = await fetch(`${this.host}/api/2.1/jobs/runs/cancel`, {
        method: "POST",
        headers: this.#headers(),
        body: JSON.stringify({ run_id: runId }),
      });
      await response.body?.cancel();
    } catch (error) {
      console.error(
        `glacier: could not cancel Databricks run ${runId} at ${this.shown}: ${
          this.mask(errorMessage(error))
        }; cancel it in the workspace`,
      );
    }
  }

  /** What a failed run's task said (`runs/get-output`'s `error` and `error_trace`), as an error record. */
  async runError(run: RunInfo, runId: number, fail: ApiFail): Promise<ErrorRecord> {
    const taskRunId = run.tasks?.[0]?.run_id ?? runId;
    const output = await this.api("GET", `/api/2.1/jobs/runs/get-output?run_id=${taskRunId}`, fail)
      .catch(() => ({})) as { error?: string; error_trace?: string };
    const said = this.mask(output.error ?? run.state?.state_message ?? "the run failed without a message");
    // The generated glacier_launcher.py wraps the task's own error line.
    const message = said.replace(/^RuntimeError: Glacier task failed: /, "");
    const name = /^([A-Za-z_$][\w$.]*): /.exec(message)?.[1] ?? "Error";
    return {
      name,
      message: message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message,
      stack: output.error_trace === undefined ? message : this.mask(output.error_trace),
    };
  }

  /** The error for a run that ended neither in success nor with a task failure. */
  endError(where: string, state: RunState, fail: ApiFail): Error {
    const detail = `${where} ended ${state.life_cycle_state}${
      state.result_state ? `/${state.result_state}` : ""
    }${state.state_message ? ` (${this.mask(state.state_message)})` : ""}`;
    if (state.result_state === "TIMEDOUT") {
      return fail(
        `${detail}; raise the task's timeout, or use a larger cluster`,
        "SYSTEM:DATABRICKS_TIMEDOUT",
        true,
      );
    }
    if (state.result_state === "CANCELED") {
      return fail(
        `${detail}; it was cancelled outside Glacier, rerun it`,
        "SYSTEM:DATABRICKS_CANCELED",
        true,
      );
    }
    return fail(`${detail}; check the cluster in the workspace, then rerun`, "SYSTEM:DATABRICKS_RUN", true);
  }

  #headers(): HeadersInit {
    return { Authorization: `Bearer ${this.#token}`, "Content-Type": "application/json" };
  }
}
