/**
 * Tracing in a sandbox: the one way the `glacier` command runs a module the
 * user wrote without running the pipeline (`analyze --trace`, `graph
 * --trace`). The module is imported in a subprocess that may only read the
 * project and Glacier's own files (no network, environment, writes,
 * subprocesses, FFI or system info; `.env*` files in the project root denied)
 * and is stopped after a timeout. The subprocess traces the pipeline (task
 * bodies never run) and prints the recorded DAG and task options as JSON.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PipelineAnalysis } from "./analysis.ts";
import { type DAGNodeInit, PipelineDAG, type ResourceInfo } from "../dag.ts";
import type { ExecutionResource } from "../resources/execution.ts";
import { resourceFromInfo } from "../resources/_from_info.ts";
import { GlacierError } from "../errors.ts";
import { glacierDir, projectRoot } from "../_project.ts";

/** Options for {@linkcode traceIsolated}. */
export interface TraceIsolatedOptions {
  /** The params the pipeline function receives. @default {{}} */
  params?: Record<string, unknown>;
  /** How long the subprocess may take, in milliseconds. @default {60_000} */
  timeoutMs?: number;
  /** The pipeline's schedule, for the cost estimate. @default {undefined} */
  schedule?: string;
}

interface TraceResult {
  nodes: (DAGNodeInit & { resource: ResourceInfo; cloud?: string })[];
  facts: [string, Record<string, unknown>][];
}

const CHILD = new URL("./_trace_child.ts", import.meta.url);
const GLACIER_ROOT = new URL("../../", import.meta.url);

/**
 * Traces a pipeline in a subprocess that can only read the project.
 *
 * @param file The path of the module that exports the pipeline.
 * @param pipeline The pipeline's name.
 * @param options Params, timeout and schedule.
 * @returns The traced analysis.
 * @throws {GlacierError} `USER:TRACE_FAILED` when the module or the pipeline function fails (its message
 *   says which permission was denied, if one was), `USER:TRACE_TIMEOUT` when it does not finish in time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExecutionResource } from "../resources/execution.ts";
 * import { traceIsolated } from "./trace_isolated.ts";
 * const file = new URL("../../examples/patterns/conditional.ts", import.meta.url).pathname;
 * const analysis = await traceIsolated(file, "conditional", { params: { full: true } });
 * assert.equal(analysis.method, "trace");
 * const node = analysis.dag.get("fullStats");
 * assert.ok(node?.executor instanceof ExecutionResource);
 * assert.equal(node.executor.kind, "local");
 * assert.equal(node.inputs[0], analysis.dag.get(node.inputs[0].id));
 * ```
 */
export async function traceIsolated(
  file: string,
  pipeline: string,
  options: TraceIsolatedOptions = {},
): Promise<PipelineAnalysis> {
  const path = resolve(file);
  const project = projectRoot(path);
  const readable = [project];
  if (GLACIER_ROOT.protocol === "file:") readable.push(fileURLToPath(GLACIER_ROOT));
  const denied = await envFiles(project);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nonce = crypto.randomUUID();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--allow-read=${readable.join(",")}`,
      ...(denied.length ? [`--deny-read=${denied.join(",")}`] : []),
      CHILD.href,
      pathToFileURL(path).href,
      pipeline,
      JSON.stringify(options.params ?? {}),
      nonce,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: childEnv(),
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (timedOut) {
    throw new GlacierError(
      "USER:TRACE_TIMEOUT",
      `Tracing pipeline "${pipeline}" in ${file} did not finish in ${
        timeoutMs / 1000
      } s, so it was stopped: the module's top level or the pipeline function blocks; keep waiting and I/O inside tasks, or set GLACIER_TRACE_TIMEOUT_MS`,
    );
  }
  const line = stdout.split("\n").find((l) => l.startsWith(`${nonce} `));
  if (out.code !== 0 || !line) {
    const denial = stderr.match(/NotCapable: (.*)/)?.[1]?.replace(
      /, run again with the --allow-\S+ flag/,
      "",
    );
    throw new GlacierError(
      "USER:TRACE_FAILED",
      `Cannot trace pipeline "${pipeline}" in ${file}: ${
        denial
          ? `${denial}; tracing runs the module with read access to the project only (no network, environment, writes or subprocesses), so keep such work inside tasks`
          : (stderr.split("\n").slice(-8).join("\n") || `the trace process exited with code ${out.code}`)
      }`,
    );
  }
  const result = JSON.parse(line.slice(nonce.length + 1)) as TraceResult;
  const facts = new Map(result.facts.map(([id, o]) => [id, { options: o }]));
  // One ExecutionResource per resource, built with Glacier's own config classes.
  const executors = new Map<string, ExecutionResource>();
  const nodes = result.nodes.map(({ resource, cloud, ...node }): DAGNodeInit => {
    const key = JSON.stringify([resource, cloud]);
    let executor = executors.get(key);
    if (!executor) executors.set(key, executor = resourceFromInfo(resource, cloud));
    return { ...node, executor };
  });
  return new PipelineAnalysis(new PipelineDAG(pipeline, nodes), "trace", [], {
    facts,
    schedule: options.schedule,
    runsDir: join(glacierDir(pathToFileURL(path).href), "runs"),
  });
}

// The child keeps only what Deno itself needs to find its cache and config.
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (
    const name of [
      "DENO_DIR",
      "HOME",
      "PATH",
      "XDG_CACHE_HOME",
      "NPM_CONFIG_REGISTRY",
      "DENO_NO_UPDATE_CHECK",
    ]
  ) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.NO_COLOR = "1";
  return env;
}

async function envFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (/^\.env/.test(entry.name)) out.push(join(dir, entry.name));
  }
  return out;
}
