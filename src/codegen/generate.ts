/**
 * Generate mode: a pipeline's analysis becomes infrastructure code
 * (Terraform, CloudFormation or Pulumi). Everything here is a pure function
 * of its input; writing the files is {@linkcode writeFilesAtomically}.
 *
 * @module
 */
import type { PipelineAnalysis } from "../analyze/analysis.ts";
import { buildModel, CLOUD_LABEL, type InfraModel, remoteExecutors } from "./_model.ts";
import type { AwsConfig, AzureConfig, GcpConfig } from "../config/mod.ts";
import { generateCloudFormation } from "./cloudformation.ts";
import { executorStatements, literalArn, orchestratorStatements } from "./iam.ts";
import { generatePulumi } from "./pulumi.ts";
import { generateTerraform } from "./terraform.ts";
import type { GeneratedFiles } from "./write_files.ts";

/** The infrastructure formats of generate mode. */
export type GenerateFormat = "terraform" | "cloudformation" | "pulumi";

/** Every format, in the order they are listed to users. */
export const GENERATE_FORMATS: readonly GenerateFormat[] = Object.freeze([
  "terraform",
  "cloudformation",
  "pulumi",
]);

/** Options for `pipeline.generate()`. */
export interface GenerateOptions {
  /** `terraform`, `cloudformation` or `pulumi`. */
  format: GenerateFormat | string;
  /** Where to write the files; nothing is written when absent. @default {undefined} */
  outputDir?: string;
  /**
   * The project root (where `glacier build` writes `.glacier/build/`) relative
   * to `outputDir`, as written into the generated code.
   * @default {the working directory relative to outputDir, else "."}
   */
  artifactRoot?: string;
}

/** What generate mode returns. */
export interface GenerateResult {
  /** The files, keyed by path relative to the output folder. */
  readonly files: GeneratedFiles;
  /** A review summary: resources, grants, and what to do next. */
  readonly summary: string;
  /** The absolute paths written, when `outputDir` was given. */
  readonly written?: readonly string[];
}

/** What the generators read: the analysis plus facts the DAG does not carry. */
export interface CodegenInput {
  /** The pipeline's analysis. */
  readonly analysis: PipelineAnalysis;
  /** Per node id, its task's options (timeout, retries, permissions). */
  readonly options: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** The cloud provider configs declared with the pipeline. */
  readonly providers: readonly (AwsConfig | GcpConfig | AzureConfig)[];
  /** The pipeline module's path relative to the project (never absolute). */
  readonly source: string;
  /** The pipeline's description. */
  readonly description?: string;
  /** The pipeline's schedule. */
  readonly schedule?: string;
  /** Task module URLs to paths relative to the project (never absolute). */
  readonly modules?: Readonly<Record<string, string>>;
  /**
   * How orchestrators' local and VM tasks reach Glacier's runner: a path
   * relative to the project, or the package's `jsr:…/runner` entry.
   * @default {"executors/runner.ts"}
   */
  readonly runner?: string;
}

/**
 * Checks a format name.
 *
 * @param format The format.
 * @returns The format.
 * @throws {RangeError} When it is not one of {@linkcode GENERATE_FORMATS} (the message lists them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFormat } from "./generate.ts";
 * assert.ok(checkFormat("pulumi") === "pulumi");
 * ```
 */
export function checkFormat(format: unknown): GenerateFormat {
  if (!GENERATE_FORMATS.includes(format as GenerateFormat)) {
    throw new RangeError(
      `Unknown generate format ${JSON.stringify(format)}; use one of ${
        GENERATE_FORMATS.map((f) => `"${f}"`).join(", ")
      }`,
    );
  }
  return format as GenerateFormat;
}

/**
 * Generates infrastructure code. Pure: the same input gives byte-identical files.
 *
 * @param input The analysis and facts.
 * @param format The format.
 * @param artifactRoot The project root relative to the output folder (where `.glacier/build` is). @default {"."}
 * @returns The files and a summary.
 * @throws {RangeError} When the format is unknown.
 * @throws {GlacierError} When the pipeline does not fit one cloud or has nothing to provision (the task is named).
 */
export function generateInfrastructure(
  input: CodegenInput,
  format: string,
  artifactRoot = ".",
): GenerateResult {
  const checked = checkFormat(format);
  const model = buildModel({
    analysis: input.analysis,
    options: input.options,
    providers: input.providers,
    source: input.source,
    description: input.description,
    schedule: input.schedule,
    modules: input.modules,
    runner: input.runner,
    what: checked,
  });
  const files = checked === "terraform"
    ? generateTerraform(model, { artifactRoot })
    : checked === "cloudformation"
    ? generateCloudFormation(model)
    : generatePulumi(model, { artifactRoot });
  return { files, summary: summarize(model, checked, files) };
}

function summarize(model: InfraModel, format: GenerateFormat, files: GeneratedFiles): string {
  const out: string[] = [];
  out.push(
    `${format} for pipeline "${model.pipeline}" on ${
      CLOUD_LABEL[model.target.cloud]
    } ${model.target.region}: ${Object.keys(files).length} files (${Object.keys(files).sort().join(", ")})`,
  );
  for (const e of model.executors) {
    const nodes = e.tasks.map((t) => t.node.id).join(", ");
    if (e.resource.kind === "local") {
      out.push(`  ${e.resource.name} (this machine): ${nodes}; a policy to attach to whoever runs them`);
    } else {
      out.push(`  ${e.resource.name} (${e.resource.service} "${e.name}"): ${nodes}; artifact ${e.artifact}`);
    }
    if (model.target.cloud === "aws") {
      const statements = e.resource.kind === "local" ? [] : executorStatements(model, e);
      for (const s of statements) {
        out.push(
          `    ${s.actions.join(", ")} on ${s.resources.map(literalArn).join(", ")}${
            s.listPrefixes ? ` (prefix ${s.listPrefixes.join(", ")})` : ""
          }`,
        );
      }
    }
  }
  if (model.target.cloud === "aws") {
    for (const s of orchestratorStatements(model)) {
      out.push(`  orchestrator role: ${s.actions.join(", ")} on ${s.resources.map(literalArn).join(", ")}`);
    }
  }
  out.push(
    `  staging: ${
      model.target.cloud === "aws" ? "s3" : model.target.cloud === "gcp" ? "gs" : "az"
    }://${model.staging.bucket}/${model.staging.prefix} (runs/ expire after ${model.staging.expireDays} days)`,
  );
  for (const b of model.buckets) out.push(`  existing bucket ${b.name} (looked up, not created)`);
  for (const n of model.notes) out.push(`  note: ${n}`);
  if (remoteExecutors(model).length) {
    out.push(
      `  next: run "glacier build" so ${
        remoteExecutors(model).map((e) => e.artifact).join(", ")
      } exist, then apply`,
    );
  }
  return out.join("\n");
}
