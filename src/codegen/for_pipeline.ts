/**
 * `generate` and `deploy` of one pipeline: its static analysis (nothing the
 * user wrote runs) turned into the generators' input, the files written all
 * at once, and a Step Functions deployment applied through the wiring's
 * applier. `Pipeline.generate()` and `Pipeline.deploy()` load this module on
 * first use, so a run never loads a generator.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PipelineAnalysis } from "../analyze/analysis.ts";
import { analyzeStatic } from "../analyze/static.ts";
import { traceIsolated } from "../analyze/trace_isolated.ts";
import { newestRun } from "../analyze/_history.ts";
import { glacierDir } from "../_project.ts";
import { AwsConfig, AzureConfig, GcpConfig } from "../config/mod.ts";
import { GlacierError } from "../errors.ts";
import { parseSchedule } from "../schedule.ts";
import type { ApplierLoader } from "../wiring.ts";
import { checkOrchestrator, type DeployOptions, type DeployResult, planDeployment } from "./deploy.ts";
import {
  checkFormat,
  type CodegenInput,
  generateInfrastructure,
  type GenerateOptions,
  type GenerateResult,
} from "./generate.ts";
import { providerConfigs } from "./_target.ts";
import { writeFilesAtomically } from "./write_files.ts";

/** What generators need of a pipeline. */
export interface CodegenTarget {
  /** The pipeline's name. */
  readonly name: string;
  /** Its description. */
  readonly description?: string;
  /** Its settings. */
  readonly config: { readonly schedule?: string };
  /** The URL of the module that defined it. */
  readonly module?: string;
}

/**
 * Generates a pipeline's infrastructure code.
 *
 * @param target The pipeline.
 * @param options The format and where to write.
 * @returns The files, a summary, and the paths written.
 * @throws {RangeError} When the format is unknown.
 * @throws {GlacierError} When the pipeline does not fit one cloud, has nothing to provision, or the folder cannot be written.
 */
export async function generatePipeline(
  target: CodegenTarget,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const format = checkFormat(options?.format);
  const input = await codegenInput(target);
  const result = generateInfrastructure(input, format, artifactRoot(options));
  if (options.outputDir === undefined) return result;
  return { ...result, written: await writeFilesAtomically(options.outputDir, result.files) };
}

/**
 * Deploys a pipeline to an orchestrator: checks the orchestrator and the
 * schedule before anything is written, writes the files, and applies them
 * with the wiring's applier when asked.
 *
 * @param target The pipeline.
 * @param options The orchestrator, schedule, where to write, and whether to apply.
 * @param appliers The wiring's appliers by orchestrator.
 * @returns The files, a summary, and a URL when one is known.
 * @throws {RangeError} When the orchestrator is unknown or the schedule invalid.
 * @throws {GlacierError} When a task runs where the orchestrator cannot reach, the folder cannot be written, or applying fails.
 */
export async function deployPipeline(
  target: CodegenTarget,
  options: DeployOptions,
  appliers: Readonly<Record<string, ApplierLoader>>,
): Promise<DeployResult> {
  const orchestrator = checkOrchestrator(options?.orchestrator);
  const schedule = options.schedule ?? target.config.schedule;
  if (schedule !== undefined) parseSchedule(schedule);
  const load = Object.hasOwn(appliers, orchestrator) ? appliers[orchestrator] : undefined;
  if (options.apply && !load) {
    throw new GlacierError(
      "USER:DEPLOY_APPLY_UNSUPPORTED",
      `Cannot apply a ${orchestrator} deployment of pipeline "${target.name}" from Glacier: apply is available for "step_functions"; copy the generated file to your ${orchestrator} deployment instead`,
    );
  }
  const plan = planDeployment(await codegenInput(target), {
    orchestrator,
    schedule,
    artifactRoot: artifactRoot(options),
    airflowUrl: options.airflowUrl ?? envVar("AIRFLOW__WEBSERVER__BASE_URL"),
    roleArn: options.roleArn,
  });
  let result: DeployResult = plan.result;
  if (options.outputDir !== undefined) {
    result = { ...result, written: await writeFilesAtomically(options.outputDir, result.files) };
  }
  if (!options.apply) return result;
  if (!plan.request) {
    throw new GlacierError(
      "USER:DEPLOY_APPLY_ROLE",
      `Cannot apply pipeline "${target.name}" to step_functions: the state machine's role is unknown; give AwsConfig({ accountId }) or deploy({ roleArn })`,
    );
  }
  const applied = await (await load!())(plan.request);
  return {
    ...result,
    url: applied.url,
    summary: `${result.summary}\n  applied: ${applied.created ? "created" : "updated"} ${applied.id}`,
  };
}

// The project root as generated code names it, relative to the output folder.
function artifactRoot(options: { artifactRoot?: string; outputDir?: string }): string {
  return options.artifactRoot ??
    (options.outputDir === undefined
      ? "."
      : relative(resolve(options.outputDir), Deno.cwd()).replaceAll("\\", "/") || ".");
}

// Generators read the static analysis (nothing user-written runs), each
// node's task options, and the provider configs declared with the pipeline.
async function codegenInput(target: CodegenTarget): Promise<CodegenInput> {
  const result = await codegenAnalysis(target);
  const { analysis } = result;
  const options = new Map([...analysis.facts].map(([id, f]) => [id, f.options]));
  const projectPath = (url: string) => {
    if (!url.startsWith("file:")) return url;
    const path = relative(Deno.cwd(), new URL(url).pathname).replaceAll("\\", "/");
    return path.startsWith("..") ? path.split("/").pop()! : path;
  };
  const modules: Record<string, string> = {};
  for (const node of analysis.dag.nodes) {
    if (node.task.module) modules[node.task.module] = projectPath(node.task.module);
  }
  return {
    modules,
    analysis,
    options,
    // The providers this pipeline's resources and buckets come from; the
    // module's declarations only when its tasks name none (all local).
    providers: result.providers.length ? result.providers : await providerConfigs(target.module),
    source: projectPath(target.module ?? "unknown"),
    runner: runnerSpec(),
    ...(target.description ? { description: target.description } : {}),
    ...(target.config.schedule ? { schedule: target.config.schedule } : {}),
  };
}

// The analysis generators read: static (nothing user-written runs); when it
// cannot read the module or cannot decide which tasks are called, the
// pipeline is traced in the sandbox with the params of its newest run, and a
// warning says so.
async function codegenAnalysis(
  target: CodegenTarget,
): Promise<{ analysis: PipelineAnalysis; providers: readonly (AwsConfig | GcpConfig | AzureConfig)[] }> {
  let failure: GlacierError | undefined;
  try {
    const result = await analyzeStatic(target);
    const analysis = new PipelineAnalysis(result.dag, "static", result.undecided, {
      facts: result.facts,
      schedule: target.config.schedule,
      warnings: result.warnings,
    });
    if (!result.incomplete || !target.module?.startsWith("file:")) {
      return { analysis, providers: result.providers };
    }
  } catch (error) {
    if (!(error instanceof GlacierError) || !error.code.startsWith("USER:STATIC_")) throw error;
    if (!target.module?.startsWith("file:")) throw error;
    failure = error;
  }
  const file = fileURLToPath(target.module);
  const run = await newestRun(target.name, join(glacierDir(target.module), "runs"));
  const params = (run as { params?: Record<string, unknown> } | undefined)?.params ?? {};
  let traced: PipelineAnalysis;
  try {
    traced = await traceIsolated(file, target.name, { params, schedule: target.config.schedule });
  } catch (error) {
    if (failure) throw failure;
    throw error;
  }
  const why = failure ? failure.message : `static analysis could not decide: ${traced.undecided.join("; ")}`;
  const warning = `pipeline "${target.name}": ${
    failure ? `static analysis failed (${why})` : "static analysis cannot tell which tasks are called"
  }, so its DAG was traced with the params of ${run ? `its newest run ${run.runId}` : "no run ({})"} ${
    JSON.stringify(params)
  }: branches other params take are not in the generated code`;
  console.warn(`glacier: ${warning}`);
  const analysis = new PipelineAnalysis(traced.dag, "trace", [], {
    facts: traced.facts,
    schedule: target.config.schedule,
    warnings: [warning],
  });
  const providers = [
    ...new Set(
      traced.dag.nodes.map((n) => n.executor.providerConfig).filter((
        c,
      ): c is AwsConfig | GcpConfig | AzureConfig =>
        c instanceof AwsConfig || c instanceof GcpConfig || c instanceof AzureConfig
      ),
    ),
  ];
  return { analysis, providers };
}

// How generated commands reach Glacier's runner: a path from the project when
// Glacier's sources are files on this machine (this repository, a checkout
// beside the project), else the runner entry of the package it was imported
// from (`jsr:@glacier/glacier@<version>/runner`), never a path into a cache.
function runnerSpec(): string {
  const runner = new URL("../../executors/runner.ts", import.meta.url);
  if (runner.protocol === "file:") return relative(Deno.cwd(), fileURLToPath(runner)).replaceAll("\\", "/");
  const jsr = /\/(@[^/]+)\/([^/]+)\/([^/]+)\/executors\/runner\.ts$/.exec(runner.pathname);
  if (jsr) return `jsr:${jsr[1]}/${jsr[2]}@${jsr[3]}/runner`;
  throw new GlacierError(
    "USER:RUNNER_UNKNOWN",
    `Cannot tell how generated tasks reach Glacier's runner: Glacier was loaded from ${runner.href}; import it from JSR (jsr:@glacier/glacier) or a local checkout`,
  );
}

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}
