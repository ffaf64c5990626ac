/**
 * `RunActions`: what `glacier ui` starts for a user: resume a failed,
 * interrupted or killed run, or run a pipeline again with a run's params.
 * Each is the `glacier run` command in a subprocess of its own, in the
 * project folder, so it runs exactly as it would from a terminal (and writes
 * its report, journal and logs where the UI reads them).
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import type { RunSummary } from "./state.ts";

/** What the UI can start from a run. */
export type ActionKind = "resume" | "rerun";

/** Whether an action can be started, and why not. */
export interface Availability {
  /** Whether the button works. */
  readonly enabled: boolean;
  /** Why it does not, as advice. */
  readonly reason?: string;
}

/** Where the module that defines a run's pipeline is, or why it is not known. */
export interface ModuleFile {
  /** Its path. */
  readonly file?: string;
  /** Why there is none. */
  readonly reason?: string;
}

/** One started action. */
export interface ActionView {
  /** Its id. */
  readonly id: string;
  /** What it does. */
  readonly kind: ActionKind;
  /** The run it was started from. */
  readonly runId: string;
  /** The pipeline. */
  readonly pipeline: string;
  /** The command line, for people. */
  readonly command: readonly string[];
  /** The subprocess's id. */
  readonly pid: number;
  /** When it started, ISO 8601. */
  readonly startedAt: string;
  /** `running`, or `exited` with `exitCode`. */
  readonly status: "running" | "exited";
  /** How the subprocess exited. */
  readonly exitCode?: number;
  /** The run it started, once its report is there. */
  readonly newRunId?: string;
  /** The last of what the command printed (its own messages: task output goes to the run's logs). */
  readonly output: string;
}

/** Options for {@linkcode RunActions}. */
export interface RunActionsOptions {
  /** The URL (or path) of Glacier's `cli.ts`, run with `deno run -A`. */
  cli: string;
  /** The project folder the commands run in. */
  cwd: string;
  /** Called when an action starts or ends. @default {undefined} */
  onChange?: () => void;
}

const OUTPUT_CHARS = 16 * 1024;

interface Started {
  view: Omit<ActionView, "status" | "output" | "exitCode" | "newRunId">;
  output: string;
  exitCode?: number;
  newRunId?: string;
  child: Deno.ChildProcess;
  done: Promise<void>;
}

/**
 * Whether a run can be resumed and re-run from the UI.
 *
 * @param run The run.
 * @param module Where the module that defines its pipeline is.
 * @returns Each action's availability.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { availability } from "./actions.ts";
 * const run = { runId: "etl-1", pipeline: "etl", status: "succeeded", stale: false, startedAt: "", params: {}, counts: {} } as const;
 * const found = availability(run, { file: "/project/etl.ts" });
 * assert.equal(found.resume.enabled, false);
 * assert.equal(found.rerun.enabled, true);
 * ```
 */
export function availability(
  run: RunSummary,
  module: ModuleFile,
): { resume: Availability; rerun: Availability } {
  const noModule = module.file === undefined
    ? { enabled: false, reason: module.reason ?? "The module that defines this pipeline is not known" }
    : undefined;
  const badKey = Object.keys(run.params).find((k) => k.includes("=") || k === "");
  const rerun: Availability = noModule ??
    (badKey !== undefined
      ? {
        enabled: false,
        reason: `Param ${
          JSON.stringify(badKey)
        } cannot be passed as --params key=value: re-run it from code with run({ params })`,
      }
      : { enabled: true });
  let resume: Availability;
  if (run.status === "succeeded") {
    resume = { enabled: false, reason: "This run succeeded: there is nothing to resume; re-run it instead" };
  } else if (run.status === "running" && !run.stale) {
    resume = {
      enabled: false,
      reason: `This run is still going${
        run.process ? ` (process ${run.process.pid})` : ""
      }: wait for it to end, or stop it and resume it then`,
    };
  } else resume = noModule ?? { enabled: true };
  return { resume, rerun };
}

/**
 * The actions started from one UI: each a `glacier run` subprocess whose
 * end and new run are tracked; {@linkcode RunActions.close} stops the ones
 * still going (SIGTERM: they write their report as interrupted).
 */
export class RunActions {
  readonly #cli: string;
  readonly #cwd: string;
  readonly #onChange?: () => void;
  readonly #started = new Map<string, Started>();
  #closing = false;

  /** @param options The command and folder, and who hears of changes. */
  constructor(options: RunActionsOptions) {
    this.#cli = options.cli;
    this.#cwd = options.cwd;
    this.#onChange = options.onChange;
  }

  /**
   * Starts `glacier run` for a run: `--resume --run <id>` to resume it, or
   * its params (and data root) to run the pipeline again.
   *
   * @param kind What to do.
   * @param run The run.
   * @param file The module that defines its pipeline.
   * @returns The action.
   * @throws {GlacierError} `USER:UI_STOPPING` once {@linkcode RunActions.close} was called.
   */
  start(kind: ActionKind, run: RunSummary, file: string): ActionView {
    if (this.#closing) {
      throw new GlacierError(
        "USER:UI_STOPPING",
        "The UI is stopping, so it starts no more runs: start it again",
      );
    }
    const args = ["run", file, "--pipeline", run.pipeline];
    if (kind === "resume") args.push("--resume", "--run", run.runId);
    else {
      for (const [key, value] of Object.entries(run.params)) {
        args.push("--params", `${key}=${JSON.stringify(value)}`);
      }
      if (run.dataRoot !== undefined) args.push("--data-root", run.dataRoot);
    }
    args.push("--quiet");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", this.#cli, ...args],
      cwd: this.#cwd,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const id = crypto.randomUUID().slice(0, 8);
    const started: Started = {
      view: {
        id,
        kind,
        runId: run.runId,
        pipeline: run.pipeline,
        command: ["glacier", ...args],
        pid: child.pid,
        startedAt: new Date().toISOString(),
      },
      output: "",
      child,
      done: Promise.resolve(),
    };
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const bytes of stream) {
        started.output = (started.output + decoder.decode(bytes, { stream: true })).slice(-OUTPUT_CHARS);
      }
    };
    started.done = Promise.all([collect(child.stdout), collect(child.stderr), child.status]).then(
      ([, , status]) => {
        started.exitCode = status.code;
        this.#onChange?.();
      },
    );
    this.#started.set(id, started);
    this.#onChange?.();
    return this.#view(started);
  }

  /**
   * The actions started so far, newest first, each with the run it started
   * once that run's report is among `runs` (the report's process is the
   * action's).
   *
   * @param runs The runs known now.
   * @returns The actions.
   */
  list(runs: readonly RunSummary[]): ActionView[] {
    for (const started of this.#started.values()) {
      if (started.newRunId !== undefined) continue;
      const run = runs.find((r) =>
        r.process?.pid === started.view.pid && r.pipeline === started.view.pipeline &&
        r.runId !== started.view.runId && r.startedAt >= started.view.startedAt.slice(0, 19)
      );
      if (run) started.newRunId = run.runId;
    }
    return [...this.#started.values()].map((s) => this.#view(s)).reverse();
  }

  /** Stops the commands still going (SIGTERM) and waits for them to end. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const started of this.#started.values()) {
      if (started.exitCode === undefined) {
        try {
          started.child.kill("SIGTERM");
        } catch { /* it has just exited */ }
      }
    }
    await Promise.all([...this.#started.values()].map((s) => s.done.catch(() => {})));
  }

  #view(started: Started): ActionView {
    return {
      ...started.view,
      status: started.exitCode === undefined ? "running" : "exited",
      ...(started.exitCode === undefined ? {} : { exitCode: started.exitCode }),
      ...(started.newRunId === undefined ? {} : { newRunId: started.newRunId }),
      output: started.output,
    };
  }
}
