/**
 * `pipeline()`: a function that calls tasks becomes a {@linkcode Pipeline}
 * that can run locally or in the cloud, be analyzed, drawn, turned into
 * infrastructure code and deployed to an orchestrator. The class is a thin
 * facade: runs go to `src/run/run.ts`, analysis to `src/analyze/`, generate
 * and deploy to `src/codegen/for_pipeline.ts`, each loaded when its mode is
 * first used.
 *
 * @module
 */
import { join } from "node:path";
import { callerModule } from "./_caller.ts";
import { glacierDir } from "./_project.ts";
import type { AnalysisMethod, PipelineAnalysis } from "./analyze/analysis.ts";
import type { DeployOptions, DeployResult } from "./codegen/deploy.ts";
import type { GenerateOptions, GenerateResult } from "./codegen/generate.ts";
import type { PipelineDAG } from "./dag.ts";
import { errorMessage, GlacierError } from "./errors.ts";
import { runsSuppressed } from "./run/_guard.ts";
import type { Executor } from "./run/executor.ts";
import { localPool } from "./run/local_pool.ts";
import type { RunReport } from "./run/report.ts";
import { PipelineContext, type RecordedCall, withContext } from "./trace/context.ts";
import type { Resolved } from "./trace/ref.ts";
import { callsToDAG } from "./trace/to_dag.ts";
import type { SiteIds } from "./trace/site.ts";
import { Tracer } from "./trace/tracer.ts";
import { CORE_WIRING, type Wiring } from "./wiring.ts";
import type { PipelineConfig } from "./pipeline_config.ts";

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

export type { PipelineConfig } from "./pipeline_config.ts";

/** Options for {@linkcode pipeline}. */
export interface PipelineOptions {
  /** The pipeline's name: letters, digits, `_` and `-`. */
  name: string;
  /** A sentence for docs, pictures and generated code. @default {undefined} */
  description?: string;
  /** Pipeline-level settings. @default {{}} */
  config?: PipelineConfig;
  /**
   * Which pool runs its local tasks, which executor each cloud service's
   * tasks, and which applier deploys it. `pipeline` from `mod.ts` defaults
   * to Glacier's wiring; build another with `defineWiring()` from `./extend`.
   * @default {Glacier's wiring (from mod.ts); the core's, from src/pipeline.ts}
   */
  wiring?: Wiring;
}

/**
 * Options of a run on this machine: {@linkcode Pipeline.run} in mode `local` (the default).
 *
 * @example A pipeline bound to S3 and Lambda, run on local folders with `dataRoot`
 * ```ts
 * import assert from "node:assert/strict";
 * import { AwsConfig, type Bucket, LambdaConfig, pipeline, Provider } from "../mod.ts";
 * const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
 * const lambda = aws.serverless({ config: new LambdaConfig({ memory: 512 }) });
 * const report = aws.bucket({ bucket: "data-lake", path: "out/report.txt" });
 * const save = lambda.task(async function save(dst: Bucket) {
 *   await dst.put("done");
 *   return dst.uri;
 * });
 * const toLake = pipeline({ name: "to_lake" }, () => save(report));
 * const dataRoot = await Deno.makeTempDir();
 * // No request reaches S3 or Lambda: the task runs here and the object is a file.
 * assert.equal(await toLake.run({ dataRoot, workers: 0, quiet: true }), "s3://data-lake/out/report.txt");
 * assert.equal(await Deno.readTextFile(`${dataRoot}/data-lake/out/report.txt`), "done");
 * ```
 */
export interface LocalRunOptions<P> {
  /** What to do. @default {"local"} */
  mode?: "local";
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
  /**
   * Continue a run that did not succeed (failed, stopped by a signal, or
   * killed outright), with its params and data root: every call that
   * finished there is restored from its checkpoint and only the rest runs.
   * `true` takes the latest run of this pipeline (refused when that one
   * succeeded, or still runs in another process); a run id takes that run.
   * @default {false}
   */
  resume?: boolean | string;
  /**
   * Checkpoint each call's output as it finishes (behind the run: dependents
   * do not wait), and note every call's state in the run's journal, so a
   * crash or a kill loses at most the calls that were running. `false`
   * checkpoints only when the run fails.
   * @default {true}
   */
  durable?: boolean;
  /**
   * On SIGINT (Ctrl-C) or SIGTERM: stop dispatching, terminate workers and
   * task processes, write the report as `interrupted`, print how to resume
   * and exit 130 / 143 (a second signal exits at once). `false` leaves the
   * signals to the program.
   * @default {true}
   */
  signals?: boolean;
  /**
   * Let this run go while another run of the pipeline goes in the same
   * project. Without it, a second run is refused (`USER:RUN_IN_PROGRESS`)
   * while the first one's process lives, since both would write the same
   * outputs; pass it for runs whose outputs do not overlap (a backfill by date).
   * @default {false}
   */
  concurrent?: boolean;
  /**
   * Warn (once, on stderr) about a call whose task has no `timeout` when it
   * has run this long: a call that never settles would hold the run forever.
   * @default {600000} (10 minutes)
   */
  hangWarningMs?: number;
  /** Run `cache: true` tasks again and rewrite their cache entries (`glacier run --refresh`). @default {false} */
  refresh?: boolean;
  /** Neither read nor write the output cache in this run (`glacier run --no-cache`). @default {false} */
  noCache?: boolean;
  /**
   * A local folder that stands in for every bucket of the run: bucket
   * `data-lake`, path `raw/x.parquet` is `<dataRoot>/data-lake/raw/x.parquet`,
   * whatever the provider (S3, Cloud Storage, Azure or local). Every task runs
   * on this machine, as in any local run (Lambda- and cluster-bound ones
   * too), and every bucket it touches (an argument, a return value, or one
   * built at its module's top level) reads and writes there, in workers and
   * narrowed subprocesses too (a task with its own `permissions` is granted
   * read and write on the folder). A relative path is relative to the working
   * directory; a missing folder is made. Outputs, cache and checkpoints stay
   * under `.glacier/`; cached outputs of runs on other roots are not reused,
   * and `resume` without it continues on the resumed run's root. A bucket's
   * `uri` still names the cloud object, and outside the run's task calls
   * buckets are their own again.
   * @default {undefined: buckets are where their provider says}
   */
  dataRoot?: string;
  /** The wiring of this run (its local pool and cloud executors). @default {the pipeline's wiring} */
  wiring?: Wiring;
}

/** Options of a run whose tasks run on their own resources: mode `cloud`. */
export interface CloudRunOptions<P> extends Omit<LocalRunOptions<P>, "mode" | "dataRoot"> {
  /** Run each task on the resource it is bound to. */
  mode: "cloud";
  /** Upload the locally built artifact (`glacier build`) when the deployed code differs. @default {false} */
  syncCode?: boolean;
  /** Keep the run's staged data after it succeeds (it is always kept after a failure). @default {false} */
  keepStaging?: boolean;
}

/** Options of mode `analyze`: {@linkcode Pipeline.analyze} through `run()`. */
export interface AnalyzeRunOptions<P> extends AnalyzeOptions<P> {
  /** Analyze the pipeline. */
  mode: "analyze";
}

/** Options of mode `generate`: {@linkcode Pipeline.generate} through `run()`. */
export interface GenerateRunOptions extends GenerateOptions {
  /** Generate infrastructure code. */
  mode: "generate";
}

/** Options of mode `deploy`: {@linkcode Pipeline.deploy} through `run()`. */
export interface DeployRunOptions extends DeployOptions {
  /** Deploy to an orchestrator. */
  mode: "deploy";
}

/** Options for {@linkcode Pipeline.run}, by mode. */
export type RunOptions<P> =
  | LocalRunOptions<P>
  | CloudRunOptions<P>
  | AnalyzeRunOptions<P>
  | GenerateRunOptions
  | DeployRunOptions;

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
  /** What its runs and deployments are wired with. */
  readonly wiring: Wiring;
  #lastRun?: RunReport;

  /** Use {@linkcode pipeline}, which builds this. */
  constructor(options: PipelineOptions, fn: (params: P) => R | Promise<R>, module?: string) {
    this.name = options.name;
    this.description = options.description;
    this.config = { ...options.config };
    this.fn = fn;
    this.module = module;
    this.wiring = options.wiring ?? CORE_WIRING;
  }

  /** The report of the latest run in this process, if any. */
  get lastRun(): RunReport | undefined {
    return this.#lastRun;
  }

  /**
   * Runs every task, on this machine (`local`, the default) or on each
   * task's own resource (`cloud`), and resolves to the pipeline's return
   * value with every ref replaced by its value. Inside Glacier's workers and
   * when the `glacier` command imports the module, `run()` does nothing and
   * resolves to undefined.
   *
   * @param options The mode, params and run settings.
   * @returns The pipeline's value.
   * @throws {RangeError} When the mode is unknown (the message lists the valid ones).
   * @throws {TypeError} When `dataRoot` is given to a mode other than `local`, or is not a path.
   * @throws {GlacierError} `USER:DATA_ROOT_NOT_FOLDER` when a file is where `dataRoot` points.
   * @throws {TaskError} When a task fails, after every independent branch has finished.
   */
  run(options?: LocalRunOptions<P> | CloudRunOptions<P>): Promise<Resolved<R>>;
  /**
   * Analyzes the pipeline: {@linkcode Pipeline.analyze}.
   *
   * @param options `mode: "analyze"` and how to analyze.
   * @returns The analysis.
   */
  run(options: AnalyzeRunOptions<P>): Promise<PipelineAnalysis>;
  /**
   * Generates infrastructure code: {@linkcode Pipeline.generate}.
   *
   * @param options `mode: "generate"`, the format and where to write.
   * @returns The files and a summary.
   */
  run(options: GenerateRunOptions): Promise<GenerateResult>;
  /**
   * Deploys to an orchestrator: {@linkcode Pipeline.deploy}.
   *
   * @param options `mode: "deploy"`, the orchestrator and schedule.
   * @returns The files, a summary and a URL when one is known.
   */
  run(options: DeployRunOptions): Promise<DeployResult>;
  /**
   * Runs the pipeline in a mode chosen at run time.
   *
   * @param options The mode and its options.
   * @returns What the mode returns.
   */
  run(options: RunOptions<P>): Promise<unknown>;
  async run(options: RunOptions<P> = {}): Promise<unknown> {
    if (runsSuppressed()) return undefined;
    switch (options.mode ?? "local") {
      case "local":
      case "cloud":
        return await this.#execute(options as CloudRunOptions<P>);
      case "analyze":
        this.#refuseDataRoot(options);
        return await this.analyze(options as AnalyzeRunOptions<P>);
      case "generate":
        this.#refuseDataRoot(options);
        return await this.generate(options as GenerateRunOptions);
      case "deploy":
        this.#refuseDataRoot(options);
        return await this.deploy(options as DeployRunOptions);
      default:
        throw new RangeError(
          `Pipeline "${this.name}": unknown mode ${JSON.stringify(options.mode)}; use one of ${
            RUN_MODES.map((m) => `"${m}"`).join(", ")
          }`,
        );
    }
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
    return context.calls;
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
    const { PipelineAnalysis } = await import("./analyze/analysis.ts");
    const schedule = this.config.schedule;
    const runsDir = join(glacierDir(this.module), "runs"); // cost takes durations from this project's runs
    if (options.trace) {
      const calls = await this.traceCalls(options.params);
      const facts = new Map(calls.map((c) => [c.nodeId, { options: { ...c.task.options } }]));
      const method: AnalysisMethod = "trace";
      return new PipelineAnalysis(await callsToDAG(this.name, calls), method, [], {
        facts,
        schedule,
        runsDir,
      });
    }
    const { analyzeStatic } = await import("./analyze/static.ts");
    const result = await analyzeStatic(this);
    return new PipelineAnalysis(result.dag, "static", result.undecided, {
      facts: result.facts,
      schedule,
      runsDir,
      warnings: result.warnings,
    });
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
    const { generatePipeline } = await import("./codegen/for_pipeline.ts");
    return await generatePipeline(this, options);
  }

  /**
   * Deploys the pipeline to an orchestrator: writes an AWS Step Functions
   * state machine (with Terraform and an EventBridge schedule), an Airflow
   * DAG, a Prefect flow or a Dagster job, from its static analysis. The
   * orchestrator and the schedule are checked before anything is written;
   * `apply: true` then creates or updates the Step Functions state machine and
   * its schedules (through the wiring's applier) and returns the console URL.
   *
   * @param options The orchestrator, schedule, where to write, and whether to apply.
   * @returns The files, a summary, and a URL when one is known.
   * @throws {RangeError} When the orchestrator is unknown or the schedule is not a valid 5-field cron expression.
   * @throws {GlacierError} When a task runs where the orchestrator cannot reach (the task is named), the folder cannot be written, or applying fails.
   */
  async deploy(options: DeployOptions): Promise<DeployResult> {
    const { deployPipeline } = await import("./codegen/for_pipeline.ts");
    return await deployPipeline(this, options, this.wiring.appliers);
  }

  // Analysis, generation and deployment read the source and touch no bucket.
  #refuseDataRoot(options: RunOptions<P>): void {
    if ((options as { dataRoot?: unknown }).dataRoot === undefined) return;
    throw new TypeError(
      `Pipeline "${this.name}": mode "${options.mode}" touches no bucket, so it takes no "dataRoot" (that maps a local run's buckets to folders): drop it, or run with mode "local"`,
    );
  }

  // Params are kept in the run's report, to resume with: they must be JSON.
  #params(params: unknown): P {
    const value = params ?? {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(
        `Pipeline "${this.name}": params must be a plain object, got ${JSON.stringify(value)}`,
      );
    }
    const seen = new Set<object>();
    const check = (v: unknown, path: string): void => {
      const refuse = (what: string, instead: string) => {
        throw new TypeError(
          `Pipeline "${this.name}": params${path} is ${what}, which a run's report cannot keep (a resumed run gets its params from there): ${instead}`,
        );
      };
      if (typeof v === "bigint") refuse(`the BigInt ${v}n`, "pass it as a string or a number");
      if (typeof v === "function" || typeof v === "symbol") refuse(`a ${typeof v}`, "pass plain data");
      if (typeof v === "number" && !Number.isFinite(v)) refuse(String(v), "pass a finite number, or null");
      if (v === null || typeof v !== "object") return;
      if (seen.has(v)) refuse("a cycle (an object that holds itself)", "pass a tree of plain data");
      seen.add(v);
      const proto = Object.getPrototypeOf(v);
      if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
        refuse(
          `a ${(v as object).constructor?.name ?? "class"} instance`,
          "pass plain data (a string for a date, a bucket's path for a bucket) and build the object inside a task",
        );
      }
      for (const [key, item] of Object.entries(v)) {
        check(item, Array.isArray(v) ? `${path}[${key}]` : `${path}.${key}`);
      }
      seen.delete(v);
    };
    check(value, "");
    return value as P;
  }

  async #execute(options: CloudRunOptions<P> | LocalRunOptions<P>): Promise<Resolved<R>> {
    const wiring = options.wiring ?? this.wiring;
    // The pool starts before the run loop loads, so its first worker boots meanwhile.
    const started = options.pool ? undefined : localPool(this.name, options.workers, wiring);
    const { runPipeline } = await import("./run/run.ts");
    const outcome = await runPipeline(this, {
      ...options,
      mode: options.mode ?? "local",
      params: options.params as Record<string, unknown> | undefined,
      started,
      wiring,
      checkParams: (params) => this.#params(params) as Record<string, unknown>,
    });
    this.#lastRun = outcome.report;
    if ("error" in outcome) throw outcome.error;
    return outcome.value as Resolved<R>;
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
  if (options.wiring !== undefined && !Object.isFrozen(options.wiring)) {
    throw new TypeError(`pipeline "${name}": "wiring" must be built with defineWiring() (from ./extend)`);
  }
  return new Pipeline(options, fn, callerModule());
}
