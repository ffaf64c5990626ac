#!/usr/bin/env -S deno run -A
/**
 * The `glacier` command: `glacier <command> <file.ts> [options]`.
 *
 * @example
 * ```sh
 * deno task glacier run examples/etl.ts
 * deno task analyze examples/etl.ts --json
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import "./mod.ts";
import { Pipeline } from "./src/pipeline.ts";
import { GlacierError } from "./src/errors.ts";
import { suppressRuns } from "./src/run/_guard.ts";

const USAGE = `Usage: glacier <command> <file.ts> [options]

Commands:
  run       run a pipeline locally
  analyze   show a pipeline's DAG, executors and data
  graph     draw a pipeline's DAG (--format mermaid|dot)

Options:
  --pipeline <name>   the pipeline to use (default: the only one the file exports)
  --params k=v        a param for the pipeline function (repeatable)
  --json              machine-readable output (analyze)
  --format <f>        mermaid | dot (graph)
  --workers <n>       local worker count, 0 for in-process (run)
  -h, --help          this help
`;

/** A usage error: exit code 2. */
class UsageError extends Error {}

/**
 * Runs the command line and returns the exit code: 0 ok, 1 pipeline failed, 2 bad usage.
 *
 * @param args The arguments after the program name.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pipeline: { type: "string" },
        params: { type: "string", multiple: true },
        json: { type: "boolean" },
        format: { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [command, file] = positionals;
    if (values.help || !command) {
      console.log(USAGE);
      return values.help ? 0 : 2;
    }
    if (!["run", "analyze", "graph"].includes(command)) {
      throw new UsageError(`Unknown command ${JSON.stringify(command)}; use run, analyze or graph`);
    }
    if (!file) {
      throw new UsageError(`"glacier ${command}" needs a pipeline file: glacier ${command} pipeline.ts`);
    }
    const pipeline = await loadPipeline(file, values.pipeline);
    const params = parseParams(values.params ?? []);
    if (command === "run") {
      const workers = values.workers === undefined ? undefined : Number(values.workers);
      const result = await pipeline.run({ params, workers });
      if (result !== undefined) console.log(JSON.stringify(result, null, 2) ?? String(result));
      return 0;
    }
    const analysis = await pipeline.analyze({ params });
    if (command === "graph") {
      const format = values.format ?? "mermaid";
      if (format !== "mermaid" && format !== "dot") {
        throw new UsageError(`Unknown format ${JSON.stringify(format)}; use mermaid or dot`);
      }
      console.log(format === "dot" ? analysis.dag.toDot() : analysis.dag.toMermaid());
      return 0;
    }
    if (values.json) {
      console.log(JSON.stringify(
        {
          pipelines: [{
            name: analysis.name,
            nodes: analysis.dag.nodes.map((n) => ({
              id: n.id,
              task: n.task.name,
              executor: n.executor,
              kind: n.resource.kind,
              service: n.resource.service,
              inputs: n.inputs,
              reads: n.reads,
              writes: n.writes,
              dynamic: n.dynamic,
            })),
            edges: analysis.dag.edges.map(([from, to]) => ({ from, to })),
            executors: analysis.executors,
            dataSources: analysis.dataSources,
            dataSinks: analysis.dataSinks,
          }],
        },
        null,
        2,
      ));
    } else {
      console.log(`Pipeline "${analysis.name}" (${analysis.method})`);
      for (const [i, stage] of analysis.dag.stages().entries()) {
        console.log(`  stage ${i + 1}: ${stage.map((n) => `${n.id} [${n.executor}]`).join(", ")}`);
      }
      for (const s of analysis.dataSources) console.log(`  reads  ${s.uri}`);
      for (const s of analysis.dataSinks) console.log(`  writes ${s.uri}`);
    }
    return 0;
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as Error)?.name === "TypeError" &&
        (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`glacier: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(
      `glacier: ${error instanceof GlacierError ? error.message : (error as Error)?.stack ?? error}`,
    );
    return 1;
  }
}

async function loadPipeline(file: string, name: string | undefined): Promise<Pipeline> {
  const path = resolve(file);
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(
      `No such file ${JSON.stringify(file)}: give the path of a module that exports a pipeline`,
    );
  }
  suppressRuns();
  const module = await import(pathToFileURL(path).href);
  const pipelines = Object.values(module).filter((v): v is Pipeline => v instanceof Pipeline);
  if (pipelines.length === 0) {
    throw new UsageError(`${file} exports no pipeline: add "export const etl = pipeline(...)"`);
  }
  if (name !== undefined) {
    const found = pipelines.find((p) => p.name === name);
    if (!found) {
      throw new UsageError(
        `${file} has no pipeline "${name}"; it has ${pipelines.map((p) => `"${p.name}"`).join(", ")}`,
      );
    }
    return found;
  }
  if (pipelines.length > 1) {
    throw new UsageError(
      `${file} exports ${pipelines.length} pipelines (${
        pipelines.map((p) => `"${p.name}"`).join(", ")
      }): choose one with --pipeline`,
    );
  }
  return pipelines[0];
}

function parseParams(pairs: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new UsageError(`--params ${JSON.stringify(pair)} is not key=value`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch { /* a plain string */ }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
