/**
 * `pipeline()`: a function that calls tasks becomes a {@linkcode Pipeline}
 * that can run locally or in the cloud, be analyzed, drawn, turned into
 * infrastructure code and deployed to an orchestrator.
 *
 * @module
 */
import { relative, resolve } from "node:path";
import { callerModule } from "./_caller.ts";
import { type NodeFacts, PipelineAnalysis } from "./analyze/analysis.ts";
import { analyzeStatic } from "./analyze/static.ts";
import { applierFor } from "./codegen/appliers.ts";
import type { DeployOptions, DeployResult } from "./codegen/deploy.ts";
import {
  checkFormat,
  type CodegenInput,
  generateInfrastructure,
  type GenerateOptions,
  type GenerateResult,
} from "./codegen/generate.ts";
import { providerConfigs } from "./codegen/_target.ts";
import { writeFilesAtomically } from "./codegen/write_files.ts";
import type { PipelineDAG } from "./dag.ts";
import { errorMessage, GlacierError, TaskError } from "./errors.ts";
import { runsSuppressed } from "./run/_guard.ts";
import { CloudExecutors } from "./run/cloud_executors.ts";
import type { Executor } from "./run/executor.ts";
import { inProcess } from "./run/inprocess.ts";
import { localExecutorFactory } from "./run/local_executor.ts";
import { createProgress } from "./run/progress.ts";
import { latestReport, newRunId, type RunReport, writeReport } from "./run/report.ts";
import { checkpoint, Reuse } from "./run/_reuse.ts";
import { Scheduler } from "./run/scheduler.ts";
import { resolveAll } from "./trace/call.ts";
import { PipelineContext, type RecordedCall, withContext } from "./trace/context.ts";
import { isRef, type Resolved } from "./trace/ref.ts";
import { callsToDAG } from "./trace/to_dag.ts";
import type { SiteIds } from "./trace/site.ts";
import { Tracer } from "./trace/tracer.ts";

/** The modes of {@linkcode Pipeline.run}. */
export type RunMode = "local" | "cloud" | "analyze" | "generate" | "deploy";

/** Every valid mode, in the order they are listed to users. */
export const RUN_MODES: readonly RunMode[] = Object.freeze([
  "local",
  "cloud",
  "analyze",
  "generate",
  "deploy",
]);

/** Pipeline-level settings. */
export interface PipelineConfig {
  /** A 5-field cron schedule for deployed orchestrators. @default {undefined} */
  schedule?: string;
  /** Tags carried into generated code. @default {[]} */
  tags?: readonly string[];
}

/** Options for {@linkcode pipeline}. */
export interface PipelineOptions {
  /** The pipeline's name: letters, digits, `_` and `-`. */
  name: string;
  /** A sentence for docs, pictures and generated code. @default {undefined} */
  description?: string;
  /** Pipeline-level settings. @default {{}} */
  config?: PipelineConfig;
}

/** Options for {@linkcode Pipeline.run}. */
export interface RunOptions<P> {
  /** What to do. @default {"local"} */
  mode?: RunMode;
  /** The params object the pipeline function receives. @default {{}} */
  params?: P;
  /** Local worker count; `0` runs every task in this process. @default {navigator.hardwareConcurrency} */
  workers?: number;
  /**
   * An open worker pool (`openWorkerPool()`) for the local tasks, left open
   * after the run so the next run finds its workers started and its modules
   * imported; `workers` is then not used. Close it when done.
   * @default {a pool of `workers` workers, started for this run and closed after it}
   */
  pool?: Executor;
  /** Show no progress. @default {false} */
  quiet?: boolean;
  /** Re-run only what failed or never ran in the last failed run of this pipeline. @default {false} */
  resume?: boolean;
  /** Mode `analyze`: trace the pipeline function instead of reading its source. @default {false} */
  trace?: boolean;
  /** Mode `generate`: `terraform`, `cloudformation` or `pulumi`. @default {undefined} */
  format?: string;
  /** Modes `generate` and `deploy`: where files are written. @default {undefined} */
  outputDir?: string;
  /** Mode `deploy`: the orchestrator: `step_functions`, `airflow`, `prefect` or `dagster`. @default {undefined} */
  orchestrator?: string;
  /** Mode `deploy`: a 5-field cron schedule, overriding `config.schedule`. @default {undefined} */
  schedule?: string;
  /** Mode `cloud`: upload the locally built artifact (`glacier build`) when the deployed code differs. @default {false} */
  syncCode?: boolean;
  /** Mode `cloud`: keep the run's staged data after it succeeds (it is always kept after a failure). @default {false} */
  keepStaging?: boolean;
}

/** Options for {@linkcode Pipeline.analyze}. */
export interface AnalyzeOptions<P> {
  /**
   * Trace the pipeline function (task bodies never run, but the pipeline
   * function and the modules it imports do) instead of reading its source.
   * @default {false}
   */
  trace?: boolean;
  /** Params for tracing (static analysis follows every branch and needs none). @default {{}} */
  params?: P;
}

/** Params of a pipeline that does not declare their type. */
// deno-lint-ignore no-explicit-any
export type AnyParams = any;

/**
 * A named pipeline. Build one with {@linkcode pipeline}.
 */
export class Pipeline<P = AnyParams, R = unknown> {
  /** The pipeline's name. */
  readonly name: string;
  /** Its description. */
  readonly description?: string;
  /** Its settings. */
  readonly config: PipelineConfig;
  /** The pipeline function. */
  readonly fn: (params: P) => R | Promise<R>;
  /** The URL of the module that defined it. */
  readonly module?: string;
  #lastRun?: RunReport;

  /** Use {@linkcode pipeline}, which builds this. */
  constructor(options: PipelineOptions, fn: (params: P) => R | Promise<R>, module?: string) {
    this.name = options.name;
    this.description = options.description;
    this.config = { ...options.config };
    this.fn = fn;
    this.module = module;
  }

  /** The report of the latest run in this process, if any. */
  get lastRun(): RunReport | undefined {
    return this.#lastRun;
  }

  /**
   * Runs the pipeline in a mode. `local` (the default) runs every task on this
   * machine and resolves to the pipeline's return value with every ref
   * replaced by its value. Inside Glacier's workers and when the `glacier`
   * command imports the module, `run()` does nothing and resolves to undefined.
   *
   * @param options The mode, params and run settings.
   * @returns The pipeline's value (local, cloud) or the mode's result.
   * @throws {RangeError} When the mode is unknown (the message lists the valid ones).
   * @throws {TaskError} When a task fails, after every independent branch has finished.
   * @throws {GlacierError} When the mode is not available.
   */
  async run(options: RunOptions<P> = {}): Promise<Resolved<R>> {
    if (runsSuppressed()) return undefined as Resolved<R>;
    const mode = options.mode ?? "local";
    if (!RUN_MODES.includes(mode)) {
      throw new RangeError(
        `Pipeline "${this.name}": unknown mode ${JSON.stringify(mode)}; use one of ${
          RUN_MODES.map((m) => `"${m}"`).join(", ")
        }`,
      );
    }
    if (mode === "local" || mode === "cloud") return await this.#execute(options);
    if (mode === "analyze") {
      return await this.analyze({ params: options.params, trace: options.trace }) as Resolved<R>;
    }
    if (mode === "generate") {
      return await this.generate({
        format: options.format as string,
        outputDir: options.outputDir,
      }) as Resolved<R>;
    }
    if (mode === "deploy") {
      return await this.deploy({
        orchestrator: options.orchestrator as string,
        schedule: options.schedule,
        outputDir: options.outputDir,
      }) as Resolved<R>;
    }
    throw new GlacierError(
      "USER:MODE_UNAVAILABLE",
      `Pipeline "${this.name}": mode "${mode}" is not available yet in this version of Glacier; use "local", "analyze", "generate" or "deploy"`,
    );
  }

  /**
   * Builds the DAG by calling the pipeline function with tasks recorded, not
   * run. An `await` on a ref marks the calls after it as dynamic.
   *
   * @param params The params for the pipeline function.
   * @returns The traced DAG.
   * @throws {GlacierError} When the pipeline function throws while tracing.
   */
  async trace(params?: P): Promise<PipelineDAG> {
    return callsToDAG(this.name, await this.traceCalls(params));
  }

  /**
   * Calls the pipeline function with tasks recorded, not run, and returns the
   * recorded calls: what {@linkcode Pipeline.trace} builds the DAG from, and
   * what a runner replays to rebuild one call's arguments (literals and
   * buckets from the pipeline's own code, refs where task outputs go).
   *
   * @param params The params for the pipeline function.
   * @param siteIds When given, calls take the ids of their call sites in the static DAG, as replays need.
   * @returns The calls in recording order.
   * @throws {GlacierError} `USER:TRACE_FAILED` when the pipeline function throws while tracing.
   */
  async traceCalls(params?: P, siteIds?: SiteIds): Promise<readonly RecordedCall[]> {
    return (await this.#trace(params, siteIds)).calls;
  }

  async #trace(params?: P, siteIds?: SiteIds): Promise<PipelineContext> {
    const tracer = new Tracer();
    const context = new PipelineContext(this.name, tracer, siteIds);
    tracer.attach(context);
    try {
      await withContext(context, () => this.fn(this.#params(params)));
    } catch (error) {
      throw new GlacierError(
        "USER:TRACE_FAILED",
        `Cannot trace pipeline "${this.name}": its function threw ${
          JSON.stringify(errorMessage(error))
        } while no task ran; keep work that needs real values inside tasks`,
        { cause: error },
      );
    }
    return context;
  }

  /**
   * Analyzes the pipeline: its DAG, executors, data sources and sinks,
   * infrastructure requirements and cost. By default the DAG is read from
   * the pipeline's source (static analysis: nothing the user wrote runs, every
   * branch is followed, and what cannot be decided is listed in `undecided`);
   * `trace: true` calls the pipeline function with tasks recorded, not run.
   *
   * @param options How to analyze.
   * @returns The analysis.
   * @throws {GlacierError} When the source cannot be read or declares no pipeline of this name (static), or the function throws (trace).
   */
  async analyze(options: AnalyzeOptions<P> = {}): Promise<PipelineAnalysis> {
    const schedule = this.config.schedule;
    if (options.trace) {
      const context = await this.#trace(options.params);
      const facts = new Map<string, NodeFacts>(
        context.calls.map((c) => [c.nodeId, { options: { ...c.task.options } }]),
      );
      return new PipelineAnalysis(callsToDAG(this.name, context.calls), "trace", [], { facts, schedule });
    }
    const result = await analyzeStatic(this);
    return new PipelineAnalysis(result.dag, "static", result.undecided, { facts: result.facts, schedule });
  }

  /**
   * Generates infrastructure code for the pipeline (Terraform, CloudFormation
   * or Pulumi) from its static analysis: nothing the user wrote runs. With
   * `outputDir` the files are written all at once (a folder Glacier wrote
   * before is replaced whole; any other non-empty folder is refused).
   *
   * @param options The format and where to write.
   * @returns The files, a summary, and the paths written.
   * @throws {RangeError} When the format is unknown (the message lists the valid ones).
   * @throws {GlacierError} When the pipeline does not fit one cloud (the task is named), has nothing to provision, or the folder cannot be written.
   */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const format = checkFormat(options?.format);
    const input = await this.#codegenInput();
    const root = options.artifactRoot ??
      (options.outputDir === undefined
        ? "."
        : relative(resolve(options.outputDir), Deno.cwd()).replaceAll("\\", "/") || ".");
    const result = generateInfrastructure(input, format, root);
    if (options.outputDir === undefined) return result;
    return { ...result, written: await writeFilesAtomically(options.outputDir, result.files) };
  }

  /**
   * Deploys the pipeline to an orchestrator: writes an AWS Step Functions
   * state machine (with Terraform and an EventBridge schedule), an Airflow
   * DAG, a Prefect flow or a Dagster job, from its static analysis. The
   * orchestrator and the schedule are checked before anything is written;
   * `apply: true` then creates or updates the Step Functions state machine and
   * its schedules and returns the console URL.
   *
   * @param options The orchestrator, schedule, where to write, and whether to apply.
   * @returns The files, a summary, and a URL when one is known.
   * @throws {RangeError} When the orchestrator is unknown or the schedule is not a valid 5-field cron expression.
   * @throws {GlacierError} When a task runs where the orchestrator cannot reach (the task is named), the folder cannot be written, or applying fails.
   */
  async deploy(options: DeployOptions): Promise<DeployResult> {
    const { checkOrchestrator, planDeployment } = await import("./codegen/deploy.ts");
    const { parseSchedule } = await import("./schedule.ts");
    const orchestrator = checkOrchestrator(options?.orchestrator);
    const schedule = options.schedule ?? this.config.schedule;
    if (schedule !== undefined) parseSchedule(schedule);
    if (options.apply && !applierFor(orchestrator)) {
      throw new GlacierError(
        "USER:DEPLOY_APPLY_UNSUPPORTED",
        `Cannot apply a ${orchestrator} deployment of pipeline "${this.name}" from Glacier: apply is available for "step_functions"; copy the generated file to your ${orchestrator} deployment instead`,
      );
    }
    const input = await this.#codegenInput();
    const root = options.artifactRoot ??
      (options.outputDir === undefined
        ? "."
        : relative(resolve(options.outputDir), Deno.cwd()).replaceAll("\\", "/") || ".");
    const plan = planDeployment(input, {
      orchestrator,
      schedule,
      artifactRoot: root,
      airflowUrl: options.airflowUrl ?? envVar("AIRFLOW__WEBSERVER__BASE_URL"),
      roleArn: options.roleArn,
    });
    let result: DeployResult = plan.result;
    if (options.outputDir !== undefined) {
      result = { ...result, written: await writeFilesAtomically(options.outputDir, result.files) };
    }
    if (options.apply) {
      if (!plan.request) {
        throw new GlacierError(
          "USER:DEPLOY_APPLY_ROLE",
          `Cannot apply pipeline "${this.name}" to step_functions: the state machine's role is unknown; give AwsConfig({ accountId }) or deploy({ roleArn })`,
        );
      }
      const applier = await applierFor(orchestrator)!();
      const applied = await applier(plan.request);
      result = {
        ...result,
        url: applied.url,
        summary: `${result.summary}\n  applied: ${applied.created ? "created" : "updated"} ${applied.id}`,
      };
    }
    return result;
  }

  // Generators read the static analysis (nothing user-written runs), each
  // node's task options, and the provider configs declared with the pipeline.
  async #codegenInput(): Promise<CodegenInput> {
    const result = await analyzeStatic(this);
    const analysis = new PipelineAnalysis(result.dag, "static", result.undecided, {
      facts: result.facts,
      schedule: this.config.schedule,
    });
    const options = new Map([...result.facts].map(([id, f]) => [id, f.options]));
    const projectPath = (url: string) => {
      if (!url.startsWith("file:")) return url;
      const path = relative(Deno.cwd(), new URL(url).pathname).replaceAll("\\", "/");
      return path.startsWith("..") ? path.split("/").pop()! : path;
    };
    const source = projectPath(this.module ?? "unknown");
    const modules: Record<string, string> = {};
    for (const node of result.dag.nodes) {
      if (node.task.module) modules[node.task.module] = projectPath(node.task.module);
    }
    return {
      modules,
      analysis,
      options,
      // The providers this pipeline's resources and buckets come from; the
      // module's declarations only when its tasks name none (all local).
      providers: result.providers.length ? result.providers : await providerConfigs(this.module),
      source,
      ...(this.description ? { description: this.description } : {}),
      ...(this.config.schedule ? { schedule: this.config.schedule } : {}),
    };
  }

  #params(params: P | undefined): P {
    const value = params ?? {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(
        `Pipeline "${this.name}": params must be a plain object, got ${JSON.stringify(value)}`,
      );
    }
    return value as P;
  }

  // The latest run of this pipeline, when it failed: what `resume` continues.
  async #resumable(): Promise<RunReport> {
    const previous = await latestReport(this.name);
    if (!previous) {
      throw new GlacierError(
        "USER:NOTHING_TO_RESUME",
        `Pipeline "${this.name}" has no run in .glacier/runs to resume: run it without "resume" first`,
      );
    }
    if (previous.status !== "failed") {
      throw new GlacierError(
        "USER:NOTHING_TO_RESUME",
        `The latest run of pipeline "${this.name}" (${previous.runId}) succeeded, so there is nothing to resume: run it without "resume"`,
      );
    }
    return previous;
  }

  async #execute(options: RunOptions<P>): Promise<Resolved<R>> {
    const previous = options.resume ? await this.#resumable() : undefined;
    const params = this.#params(options.params ?? previous?.params as P | undefined);
    const workers = options.workers ?? navigator.hardwareConcurrency;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new RangeError(
        `Pipeline "${this.name}": "workers" is ${workers}, it must be a whole number, 0 for in-process`,
      );
    }
    const runId = newRunId(this.name);
    const startedAt = new Date();
    const started = performance.now();
    const factory = localExecutorFactory();
    const executor: Executor = options.pool ??
      (workers === 0 || !factory ? inProcess : factory({ workers, pipeline: this.name, runId }));
    // Cloud mode: local-bound tasks stay on `executor`, the rest go to their service's executor.
    const cloud = options.mode === "cloud"
      ? new CloudExecutors({
        pipeline: this.name,
        runId,
        local: executor,
        syncCode: options.syncCode,
        keepStaging: options.keepStaging,
      })
      : undefined;
    const progress = createProgress({ quiet: options.quiet, pipeline: this.name });
    const reuse = new Reuse(previous);
    const scheduler = new Scheduler({
      pipeline: this.name,
      runId,
      executorFor: (task) => cloud?.executorFor(task) ?? executor,
      onEvent: options.quiet ? undefined : (event) => progress.event(event),
      reuse: (call, args) => reuse.find(call, args),
      produced: (call, args, value) => reuse.keep(call, args, value),
    });
    const context = new PipelineContext(this.name, scheduler);
    let value: unknown;
    let fnError: unknown;
    let hasError = false;
    try {
      const result = withContext(context, () => this.fn(params));
      // A ref returned by a sync function is not awaited here: `await` would
      // wait for its value, and recording is over as soon as the function returns.
      const returned = isRef(result) ? result : await result;
      scheduler.closeRecording();
      value = await resolveAll(returned);
    } catch (error) {
      fnError = error;
      hasError = true;
    }
    await scheduler.settled();
    if (!options.pool) await executor.close();
    await cloud?.close(scheduler.failures().length === 0 && !hasError);
    const failures = scheduler.failures();
    const failed = failures.length > 0 || hasError;
    if (failed) await checkpoint(runId, scheduler.finished());
    const report: RunReport = {
      runId,
      pipeline: this.name,
      mode: cloud ? "cloud" : "local",
      status: failed ? "failed" : "succeeded",
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      params: params as Record<string, unknown>,
      ...(previous ? { resumedFrom: previous.runId } : {}),
      dag: callsToDAG(this.name, context.calls),
      tasks: scheduler.reports(),
    };
    this.#lastRun = report;
    const path = await writeReport(report);
    const counts = report.tasks.reduce(
      (acc, t) => (acc[t.status] = (acc[t.status] ?? 0) + 1, acc),
      {} as Record<string, number>,
    );
    progress.finish(
      `${failed ? "✗" : "✓"} pipeline "${this.name}" ${report.status} in ${report.durationMs} ms: ` +
        Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") + ` — report ${path}`,
    );
    if (failures.length > 0) {
      const [first, ...rest] = failures;
      if (rest.length === 0) throw first;
      throw new TaskError(
        `${first.message.replace(/^Task .*? failed on attempt \d+: /, "")} (and ${rest.length} more failed: ${
          rest.slice(0, 5).map((f) => `"${f.nodeId}"`).join(", ")
        }${rest.length > 5 ? ", …" : ""}; see pipeline.lastRun)`,
        {
          pipeline: this.name,
          task: first.task,
          nodeId: first.nodeId,
          attempt: first.attempt,
          cause: first.cause,
        },
      );
    }
    if (hasError) throw fnError;
    return value as Resolved<R>;
  }
}

/**
 * Defines a pipeline: a function (sync or async, taking one params object)
 * whose task calls make the DAG.
 *
 * @param options The name, description and settings.
 * @param fn The pipeline function.
 * @returns The pipeline.
 * @throws {TypeError} When the name is missing or malformed, or `fn` is not a function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pipeline, Provider } from "../mod.ts";
 * const local = new Provider().local();
 * const add = local.task(function add(a: number, b: number) { return a + b; });
 * const sum = pipeline({ name: "sum" }, () => add(add(1, 2), 3));
 * assert.ok((await sum.run({ workers: 0, quiet: true })) === 6);
 * ```
 */
export function pipeline<P = AnyParams, R = unknown>(
  options: PipelineOptions,
  fn: (params: P) => R | Promise<R>,
): Pipeline<P, R> {
  const name = options?.name;
  if (typeof name !== "string" || name === "") {
    throw new TypeError('pipeline(): a pipeline needs a name: pipeline({ name: "etl" }, () => { ... })');
  }
  if (!/^[A-Za-z][\w-]{0,79}$/.test(name)) {
    throw new TypeError(
      `pipeline(): name ${
        JSON.stringify(name)
      } is invalid: use up to 80 letters, digits, "_" or "-", starting with a letter`,
    );
  }
  if (typeof fn !== "function") {
    throw new TypeError(`pipeline "${name}": expected a function as the second argument, got ${typeof fn}`);
  }
  return new Pipeline(options, fn, callerModule());
}

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}
