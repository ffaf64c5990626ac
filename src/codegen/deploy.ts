/**
 * Deploy mode: a pipeline becomes an orchestrator's definition — an AWS Step
 * Functions state machine with its Terraform and EventBridge schedule, an
 * Airflow DAG, a Prefect flow with a deployment, or a Dagster job with a
 * schedule. Everything here is pure; writing files and applying are done by
 * `pipeline.deploy()`.
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import { serviceRecord, SERVICES } from "../config/services.ts";
import { buildFlow, type FlowNode } from "./_flow.ts";
import { buildModel, type ExecutorModel, type InfraModel } from "./_model.ts";
import { airflowDag, airflowDagId } from "./airflow.ts";
import type { ApplyRequest } from "./appliers.ts";
import { parseSchedule, toEventBridgeCron } from "../schedule.ts";
import { dagsterDefinitions } from "./dagster.ts";
import type { CodegenInput } from "./generate.ts";
import { artifactPath, functionName } from "./naming.ts";
import { prefectFlow } from "./prefect.ts";
import { launcherName, stateMachine, stateMachineName, stepFunctionsTerraform } from "./step_functions.ts";
import { generateTerraform } from "./terraform.ts";
import { orchestratorName } from "./_aws_stack.ts";
import type { GeneratedFiles } from "./write_files.ts";

/** The orchestrators of deploy mode. */
export type Orchestrator = "step_functions" | "airflow" | "prefect" | "dagster";

/** Every orchestrator, in the order they are listed to users. */
export const ORCHESTRATORS: readonly Orchestrator[] = Object.freeze([
  "step_functions",
  "airflow",
  "prefect",
  "dagster",
]);

/** Options for `pipeline.deploy()`. */
export interface DeployOptions {
  /** `step_functions` (or `step-functions`), `airflow`, `prefect` or `dagster`. */
  orchestrator: Orchestrator | string;
  /** A 5-field cron schedule. @default {the pipeline's config.schedule, else none} */
  schedule?: string;
  /** Where to write the files; nothing is written when absent. @default {undefined} */
  outputDir?: string;
  /** Create or update the deployment in the orchestrator's service (Step Functions). @default {false} */
  apply?: boolean;
  /** The project root relative to `outputDir`, as written into generated Terraform. @default {computed} */
  artifactRoot?: string;
  /** The Airflow web server's base URL, for the returned `url`. @default {AIRFLOW__WEBSERVER__BASE_URL} */
  airflowUrl?: string;
  /** The role the state machine runs as, for `apply`. @default {the generated orchestrator role in AwsConfig's accountId} */
  roleArn?: string;
}

/** What deploy mode returns. */
export interface DeployResult {
  /** The files, keyed by path relative to the output folder. */
  readonly files: GeneratedFiles;
  /** Where to look at the deployment, when known. */
  readonly url?: string;
  /** A review summary. */
  readonly summary: string;
  /** The absolute paths written, when `outputDir` was given. */
  readonly written?: readonly string[];
}

/** A deployment before it is written or applied. */
export interface DeployPlan {
  /** The result. */
  readonly result: DeployResult;
  /** What `apply` would send, for orchestrators that can be applied. */
  readonly request?: ApplyRequest;
}

/**
 * Checks an orchestrator name (`step-functions` is accepted for `step_functions`).
 *
 * @param orchestrator The name.
 * @returns The orchestrator.
 * @throws {RangeError} When it is not one of {@linkcode ORCHESTRATORS} (the message lists them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOrchestrator } from "./deploy.ts";
 * assert.ok(checkOrchestrator("step-functions") === "step_functions");
 * ```
 */
export function checkOrchestrator(orchestrator: unknown): Orchestrator {
  const name = typeof orchestrator === "string" ? orchestrator.replace(/-/g, "_") : orchestrator;
  if (!ORCHESTRATORS.includes(name as Orchestrator)) {
    throw new RangeError(
      `Unknown orchestrator ${JSON.stringify(orchestrator)}; use one of ${
        ORCHESTRATORS.map((o) => `"${o}"`).join(", ")
      }`,
    );
  }
  return name as Orchestrator;
}

/**
 * Plans a deployment. Pure: the same input gives byte-identical files.
 *
 * @param input The analysis and facts.
 * @param options The orchestrator, schedule and URLs.
 * @returns The files, summary and URL, and what `apply` would send.
 * @throws {RangeError} When the orchestrator or schedule is invalid.
 * @throws {GlacierError} When a task runs somewhere the orchestrator cannot reach (the task is named).
 */
export function planDeployment(
  input: CodegenInput,
  options: Pick<DeployOptions, "orchestrator" | "schedule" | "artifactRoot" | "airflowUrl" | "roleArn">,
): DeployPlan {
  const orchestrator = checkOrchestrator(options.orchestrator);
  const schedule = options.schedule ?? input.schedule;
  if (schedule !== undefined) parseSchedule(schedule);
  const model = buildModel({
    analysis: input.analysis,
    options: input.options,
    providers: input.providers,
    source: input.source,
    description: input.description,
    schedule,
    modules: input.modules,
    runner: input.runner,
    what: orchestrator,
    localTasksRemote: orchestrator === "step_functions",
    allowLocalOnly: true,
    defaultCloud: "aws",
  });
  if (orchestrator === "step_functions") return stepFunctions(model, schedule, options);
  const flow = buildFlow(model, orchestrator, ["lambda", "databricks", "ssh", "local"]);
  const file = orchestrator === "airflow"
    ? { [`${model.pipeline}_dag.py`]: airflowDag(model, flow, schedule) }
    : orchestrator === "prefect"
    ? { [`${model.pipeline}_flow.py`]: prefectFlow(model, flow, schedule) }
    : { [`${model.pipeline}_job.py`]: dagsterDefinitions(model, flow, schedule) };
  const base = options.airflowUrl?.replace(/\/+$/, "");
  const url = orchestrator === "airflow" && base ? `${base}/dags/${airflowDagId(model)}/grid` : undefined;
  return {
    result: {
      files: file,
      ...(url ? { url } : {}),
      summary: summarize(model, orchestrator, flow, file, schedule, []),
    },
  };
}

// Step Functions cannot run anything on "this machine": tasks bound to it run
// on a launcher Lambda function, which also submits and polls Databricks runs
// (the services whose table record says Step Functions reaches them through it).
function withLauncher(model: InfraModel): InfraModel {
  const reached = model.executors.filter((e) => serviceRecord(e.resource.service)?.launcher);
  const locals = reached.filter((e) => e.resource.kind === "local");
  const databricks = reached.some((e) => e.resource.kind !== "local");
  if (locals.length === 0 && !databricks) return model;
  const taken = model.executors.find((e) => e.resource.name === "launcher");
  if (taken) {
    throw new GlacierError(
      "USER:RESERVED_NAME",
      `Pipeline "${model.pipeline}": resource "launcher" (${taken.resource.service}) has the name of the function Step Functions needs for its ${
        locals.length ? "local" : "Databricks"
      } tasks (glacier-${model.pipeline}-launcher); give the resource another name, such as provider.serverless({ name: "launcher_fn" })`,
    );
  }
  const resource = {
    kind: "serverless" as const,
    service: "lambda",
    name: "launcher",
    config: {
      memory: 2048,
      timeout: SERVICES.lambda.limits.timeout.max,
      ephemeralStorage: 2048,
      architecture: "x86_64",
      // The workspace URL comes from var.databricks_host; the token by name, never its value.
      environment: databricks ? ["DATABRICKS_TOKEN"] : [],
    },
  };
  const launcher: ExecutorModel = {
    id: "launcher",
    name: functionName(model.pipeline, resource),
    resource,
    config: resource.config,
    tasks: locals.flatMap((e) => e.tasks),
    grants: locals.flatMap((e) => e.grants),
    artifact: artifactPath(model.pipeline, "launcher"),
  };
  return { ...model, executors: [...model.executors.filter((e) => e.resource.kind !== "local"), launcher] };
}

function stepFunctions(
  original: InfraModel,
  schedule: string | undefined,
  options: Pick<DeployOptions, "artifactRoot" | "roleArn">,
): DeployPlan {
  if (original.target.cloud !== "aws") {
    throw new GlacierError(
      "USER:DEPLOY_CLOUD",
      `Cannot deploy pipeline "${original.pipeline}" to step_functions: Step Functions is AWS and the pipeline runs on ${original.target.cloud.toUpperCase()}; use "airflow", "prefect" or "dagster"`,
    );
  }
  const flow = buildFlow(original, "step_functions", ["lambda", "databricks", "local"]);
  const model = withLauncher(original);
  const expressions = schedule ? toEventBridgeCron(schedule) : [];
  const asl = stateMachine(model, flow);
  const definition = JSON.stringify(asl, null, 2) + "\n";
  const files: GeneratedFiles = {
    "state_machine.asl.json": definition,
    ...generateTerraform(model, { artifactRoot: options.artifactRoot ?? "." }),
    "step_functions.tf": stepFunctionsTerraform(model, flow, expressions),
  };
  const name = stateMachineName(model);
  const region = model.target.region;
  const account = model.target.accountId;
  const arn = account ? `arn:aws:states:${region}:${account}:stateMachine:${name}` : undefined;
  const url = arn
    ? `https://${region}.console.aws.amazon.com/states/home?region=${region}#/statemachines/view/${arn}`
    : `https://${region}.console.aws.amazon.com/states/home?region=${region}#/statemachines`;
  const roleArn = options.roleArn ??
    (account ? `arn:aws:iam::${account}:role/${orchestratorName(model)}` : undefined);
  const notes = [
    ...(flow.some((n) => n.via === "local") || flow.some((n) => n.via === "databricks")
      ? [
        `tasks bound to this machine (${
          flow.filter((n) => n.via === "local").map((n) => n.node.id).join(", ") || "none"
        }) run on the launcher function ${launcherName(model)} (artifact ${
          artifactPath(model.pipeline, "launcher")
        }), which also submits and polls Databricks runs`,
      ]
      : []),
    ...(expressions.length > 1
      ? [
        `"${schedule}" restricts both day fields, which EventBridge cannot say at once: two schedules fire it`,
      ]
      : []),
  ];
  return {
    result: {
      files,
      url,
      summary: summarize(model, "step_functions", flow, files, schedule, notes, expressions),
    },
    ...(roleArn
      ? {
        request: {
          pipeline: model.pipeline,
          region,
          name,
          definition,
          roleArn,
          schedules: expressions.map((expression, i) => ({
            name: i === 0 ? name : `${name}-${i + 1}`,
            expression,
          })),
          ...(account
            ? { schedulerRoleArn: `arn:aws:iam::${account}:role/${`${name}-scheduler`.slice(0, 64)}` }
            : {}),
          input: JSON.stringify({ params: {} }),
        },
      }
      : {}),
  };
}

function summarize(
  model: InfraModel,
  orchestrator: Orchestrator,
  flow: readonly FlowNode[],
  files: GeneratedFiles,
  schedule: string | undefined,
  notes: readonly string[],
  expressions: readonly string[] = [],
): string {
  const how: Record<FlowNode["via"], string> = {
    lambda: "Lambda",
    databricks: "Databricks",
    ssh: "SSH",
    local: orchestrator === "step_functions" ? "launcher Lambda" : "Deno on the worker",
  };
  const out = [
    `${orchestrator} for pipeline "${model.pipeline}": ${Object.keys(files).length} files (${
      Object.keys(files).sort().join(", ")
    })`,
    ...flow.map((n) =>
      `  ${n.node.id} → ${how[n.via]}${n.via === "lambda" ? ` ${n.executor.name}` : ""}${
        n.mapOver ? ` (mapped over ${n.mapOver})` : ""
      }${n.condition ? ` (if ${n.node.condition})` : ""}${n.retries ? `, ${n.retries} retries` : ""}${
        n.timeoutMs !== undefined ? `, timeout ${n.timeoutMs / 1000} s` : ""
      }`
    ),
    `  schedule: ${
      schedule ? `"${schedule}" (UTC)${expressions.length ? ` as ${expressions.join(" and ")}` : ""}` : "none"
    }`,
    `  staging: ${
      model.target.cloud === "aws" ? "s3" : model.target.cloud === "gcp" ? "gs" : "az"
    }://${model.staging.bucket}/${model.staging.prefix}runs/<run id>/`,
    ...notes.map((n) => `  note: ${n}`),
    ...model.notes.map((n) => `  note: ${n}`),
  ];
  return out.join("\n");
}
