#!/usr/bin/env -S deno run -A
/**
 * The `glacier` command: `glacier <command> <file.ts> [options]`.
 *
 * Commands: `run`, `analyze`, `graph`, `build`, `generate`, `deploy`, `clean`, `logs`, `ui`;
 * each has `--help`. Exit codes: 0 ok, 1 the pipeline (or the mode) failed, 2 bad usage.
 * Only `run` imports the pipeline file. `analyze`, `graph`, `build`,
 * `generate` and `deploy` read it (static analysis): nothing the user wrote
 * runs. `--trace` is the one opt-in that runs the module, in a subprocess that
 * may only read the project (see `src/analyze/trace_isolated.ts`).
 *
 * @example
 * ```sh
 * deno task glacier run examples/etl.ts --params full=true
 * deno task analyze examples/etl.ts --json
 * deno task glacier graph examples/etl.ts --format svg > etl.svg
 * deno install -A -n glacier cli.ts
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { GLACIER_WIRING } from "./wiring.ts";
import { projectDir, projectRoot } from "./src/_project.ts";
import { cleanGlacier, parseAge } from "./src/run/clean.ts";
import { onStopSignals } from "./src/run/signals.ts";
import { listReports, readReport } from "./src/run/report.ts";
import { Pipeline } from "./src/pipeline.ts";
import { GlacierError } from "./src/errors.ts";
import { allowRuns, suppressRuns } from "./src/run/_guard.ts";
import type { PipelineAnalysis } from "./src/analyze/analysis.ts";
import type { CostEstimate } from "./src/analyze/cost.ts";
import { toSvg } from "./src/analyze/svg.ts";
import { exportedPipelines } from "./src/analyze/static.ts";
import { traceIsolated } from "./src/analyze/trace_isolated.ts";

type Option =
  | "pipeline"
  | "params"
  | "json"
  | "format"
  | "output-dir"
  | "orchestrator"
  | "schedule"
  | "trace"
  | "workers"
  | "resume"
  | "run"
  | "refresh"
  | "no-cache"
  | "data-root"
  | "quiet"
  | "apply"
  | "older-than"
  | "cache"
  | "checkpoints"
  | "logs"
  | "task"
  | "port";

const OPTION_HELP: Record<Option, string> = {
  pipeline: "--pipeline <name>    the pipeline to use (default: the only one the file exports)",
  params: "--params key=value   a param for the pipeline function; repeatable; values are JSON or text",
  json: "--json               machine-readable output",
  format: "--format <f>         ",
  "output-dir": "--output-dir <dir>   where to write files",
  orchestrator: "--orchestrator <o>   step_functions | airflow | prefect | dagster",
  schedule: "--schedule <cron>    a 5-field cron schedule",
  trace:
    "--trace              trace the pipeline function (task bodies never run) instead of reading its source",
  workers: "--workers <n>        local worker count, 0 to run every task in this process",
  resume: "--resume             continue the latest run that did not succeed (failed, stopped or killed):\n" +
    "                       finished calls are restored from checkpoints, the rest runs, with its params",
  run: "--run <id>           with --resume: continue this run (a report name in .glacier/runs)",
  refresh: "--refresh            run cache: true tasks again and rewrite their cache entries",
  "no-cache": "--no-cache           neither read nor write the output cache",
  "data-root":
    "--data-root <dir>    map every bucket to a folder under <dir> (<dir>/<bucket>/<key>) instead of S3,\n" +
    "                       Cloud Storage or Azure; relative to the working directory, made when missing",
  quiet: "--quiet              no progress display",
  apply: "--apply              create or update the deployment (step_functions, with AWS credentials)",
  "older-than":
    "--older-than <age>   only what is older than <age>: 90s, 30m, 12h, 7d, 2w (a cache entry counts from its last hit)",
  cache: "--cache              cached task outputs (.glacier/cache)",
  checkpoints: "--checkpoints        checkpoints of failed runs (.glacier/checkpoints)",
  logs: "--logs               task logs (.glacier/logs)",
  task: "--task <id>          print this call's log (a call id from the run's report)",
  port: "--port <n>           the port on 127.0.0.1 (default: a free one)",
};

interface Command {
  summary: string;
  /** What follows the command name in its usage line. */
  usage?: string;
  options: Option[];
  formats?: string[];
  details?: string;
}

const COMMANDS: Record<string, Command> = {
  run: {
    summary: "run a pipeline on this machine",
    options: [
      "pipeline",
      "params",
      "workers",
      "resume",
      "run",
      "refresh",
      "no-cache",
      "data-root",
      "quiet",
      "json",
    ],
    details:
      "Every task runs on this machine, Lambda- and cluster-bound ones too. With --data-root their buckets are\n" +
      "folders: s3://data-lake/raw/x.parquet is <dir>/data-lake/raw/x.parquet.",
  },
  analyze: {
    summary: "show a pipeline's DAG, executors, data, infrastructure and cost",
    options: ["pipeline", "params", "json", "trace", "schedule"],
    details:
      "Without --pipeline every pipeline the file exports is analyzed. --schedule sets runs per month for the cost.",
  },
  graph: {
    summary: "draw a pipeline's DAG",
    options: ["pipeline", "params", "format", "output-dir", "trace"],
    formats: ["mermaid", "dot", "svg"],
    details: "Prints the picture, or writes <output-dir>/<pipeline>.<mmd|dot|svg> and prints its path.",
  },
  build: {
    summary: "build the remote artifact of a pipeline's tasks",
    options: ["pipeline", "output-dir", "json"],
    details:
      "Writes <output-dir>/.glacier/build/<pipeline>/<resource>.zip per Lambda, Cloud Run function or Azure function app resource (output-dir defaults to the pipeline file's project: the nearest folder with a deno.json, else the file's folder).",
  },
  generate: {
    summary: "generate infrastructure code for a pipeline",
    options: ["pipeline", "format", "output-dir"],
    formats: ["terraform", "cloudformation", "pulumi"],
    details:
      "Writes the files to --output-dir (a folder Glacier wrote before is replaced whole), or prints them without it.",
  },
  deploy: {
    summary: "deploy a pipeline to an orchestrator",
    options: ["pipeline", "orchestrator", "schedule", "output-dir", "apply"],
    details:
      "Writes the definition to --output-dir (a folder Glacier wrote before is replaced whole), or prints it.\n--schedule overrides the pipeline's config.schedule.",
  },
  clean: {
    summary: "remove cached task outputs, checkpoints and task logs",
    usage: "[file.ts | folder]",
    options: ["older-than", "cache", "checkpoints", "logs", "json"],
    details:
      "Cleans the .glacier/ folder of the project that holds the file or folder (default: the working directory):\n" +
      "the nearest folder with a deno.json. Without --cache, --checkpoints or --logs all three are removed.",
  },
  logs: {
    summary: "show what a run's tasks printed",
    usage: "[file.ts | folder] [run-id] [call-id]",
    options: ["run", "task", "json"],
    details:
      "Reads the .glacier/ folder of the project that holds the file or folder (default: the working directory).\n" +
      "A run id (or --run) picks the run, else the newest; a call id (or --task) prints that call's log, else\n" +
      "each call is listed with its state and log files: glacier logs etl-20261201T120000Z-1a2b3c4d clean",
  },
  ui: {
    summary: "serve a local web view of the project's runs, graphs, logs and pipelines",
    usage: "[file.ts | folder]",
    options: ["port"],
    details:
      "Reads the .glacier/ folder of the project that holds the file or folder (default: the working directory),\n" +
      "live while runs go. Given a pipeline file, its pipelines get pages even before they ran. Ctrl-C stops it.",
  },
};

const USAGE = `Usage: glacier <command> <file.ts> [options]

Commands:
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`).join("\n")}

Run "glacier <command> --help" for a command's options.
Exit codes: 0 ok, 1 the pipeline failed, 2 bad usage.
`;

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  const lines = c.options.map((o) =>
    `  ${OPTION_HELP[o]}${o === "format" ? `${c.formats!.join(" | ")} (default ${c.formats![0]})` : ""}`
  );
  return `Usage: glacier ${name} ${c.usage ?? "<file.ts>"} [options]

${c.summary[0].toUpperCase()}${c.summary.slice(1)}.${c.details ? `\n${c.details}` : ""}

Options:
${lines.join("\n")}
  -h, --help           this help
`;
}

/** A usage error: exit code 2. */
class UsageError extends Error {
  readonly help: string;
  constructor(message: string, help = USAGE) {
    super(message);
    this.help = help;
  }
}

/**
 * Runs the command line and returns the exit code: 0 ok, 1 pipeline failed, 2 bad usage.
 *
 * @param args The arguments after the program name.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  let help = USAGE;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          pipeline: { type: "string" },
          params: { type: "string", multiple: true },
          json: { type: "boolean" },
          format: { type: "string" },
          "output-dir": { type: "string" },
          orchestrator: { type: "string" },
          schedule: { type: "string" },
          trace: { type: "boolean" },
          workers: { type: "string" },
          resume: { type: "boolean" },
          run: { type: "string" },
          refresh: { type: "boolean" },
          "no-cache": { type: "boolean" },
          "data-root": { type: "string" },
          quiet: { type: "boolean" },
          apply: { type: "boolean" },
          "older-than": { type: "string" },
          cache: { type: "boolean" },
          checkpoints: { type: "boolean" },
          logs: { type: "boolean" },
          task: { type: "string" },
          port: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, file, ...extra] = positionals;
    if (!command) {
      if (values.help) {
        console.log(USAGE);
        return 0;
      }
      console.error(USAGE);
      return 2;
    }
    const spec = COMMANDS[command];
    if (!spec) {
      throw new UsageError(
        `Unknown command ${JSON.stringify(command)}; use one of ${Object.keys(COMMANDS).join(", ")}`,
      );
    }
    help = commandHelp(command);
    if (values.help) {
      console.log(help);
      return 0;
    }
    for (const key of Object.keys(values) as (Option | "help")[]) {
      if (key !== "help" && !spec.options.includes(key)) {
        throw new UsageError(`"glacier ${command}" takes no --${key}`, help);
      }
    }
    if (command === "clean") return await clean(file, extra, values, help);
    if (command === "logs") return await logs(file, extra, values, help);
    if (command === "ui") return await ui(file, extra, values, help);
    if (!file) {
      throw new UsageError(
        `"glacier ${command}" needs a pipeline file: glacier ${command} pipeline.ts`,
        help,
      );
    }
    if (extra.length) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`, help);
    if (values.format !== undefined && !spec.formats!.includes(values.format)) {
      throw new UsageError(
        `Unknown format ${JSON.stringify(values.format)} for "glacier ${command}"; use ${
          spec.formats!.join(", ")
        }`,
        help,
      );
    }
    let workers: number | undefined;
    if (values.workers !== undefined) {
      workers = Number(values.workers);
      if (!Number.isInteger(workers) || workers < 0) {
        throw new UsageError(
          `--workers ${JSON.stringify(values.workers)} is not a whole number, 0 or more`,
          help,
        );
      }
    }
    const dataRoot = values["data-root"];
    if (dataRoot !== undefined && dataRoot.trim() === "") {
      throw new UsageError(`--data-root needs a folder: --data-root ./data`, help);
    }
    const params = parseParams(values.params ?? [], help);
    const all = command === "run" ? await importPipelines(file, help) : await readPipelines(file, help);
    const pipelines = choose(all, file, values.pipeline, command === "analyze", help);
    const outputDir = values["output-dir"];

    switch (command) {
      case "run": {
        const result = await pipelines[0].run({
          params: values.params === undefined ? undefined : params,
          workers,
          resume: values.run ?? values.resume,
          refresh: values.refresh,
          noCache: values["no-cache"],
          dataRoot: dataRoot === undefined ? undefined : resolve(dataRoot),
          quiet: values.quiet,
        });
        if (values.json) console.log(JSON.stringify({ result: result ?? null }, null, 2));
        else if (result !== undefined) console.log(JSON.stringify(result, null, 2) ?? String(result));
        return 0;
      }
      case "analyze": {
        const out = [];
        for (const p of pipelines) {
          const analysis = await analyzeWith(p, file, params, values.trace);
          const cost = await analysis.estimateCost({ schedule: values.schedule });
          out.push({ analysis, cost });
        }
        if (values.json) {
          for (const { analysis } of out) warnUndecided(analysis);
          console.log(
            JSON.stringify({ pipelines: out.map(({ analysis, cost }) => toJson(analysis, cost)) }, null, 2),
          );
        } else {
          console.log(out.map(({ analysis, cost }) => summary(analysis, cost, file)).join("\n"));
        }
        return 0;
      }
      case "graph": {
        const analysis = await analyzeWith(pipelines[0], file, params, values.trace);
        warnUndecided(analysis);
        const format = values.format ?? "mermaid";
        const text = format === "svg"
          ? await toSvg(analysis.dag)
          : format === "dot"
          ? analysis.dag.toDot()
          : analysis.dag.toMermaid();
        if (outputDir) {
          await Deno.mkdir(outputDir, { recursive: true });
          const path = join(outputDir, `${analysis.name}.${format === "mermaid" ? "mmd" : format}`);
          await Deno.writeTextFile(path, text);
          console.log(path);
        } else {
          await Deno.stdout.write(new TextEncoder().encode(text.endsWith("\n") ? text : text + "\n"));
        }
        return 0;
      }
      case "build": {
        // Loaded here only: building needs fflate and the Lambda executor's helpers.
        const { buildLambdaArtifacts } = await import("./executors/lambda/build.ts");
        const built = await buildLambdaArtifacts(pipelines[0], {
          cwd: outputDir ?? projectDir(pipelines[0].module),
        });
        if (values.json) console.log(JSON.stringify({ artifacts: built }, null, 2));
        else {
          for (const a of built) {
            console.log(
              `${a.path}  ${
                (a.bytes / 1024 / 1024).toFixed(1)
              } MB  function "${a.functionName}"  CodeSha256 ${a.codeSha256}`,
            );
          }
        }
        return 0;
      }
      case "generate": {
        const result = await pipelines[0].generate({ format: values.format ?? "terraform", outputDir });
        if (outputDir === undefined) {
          // No folder: the files go to stdout, each after a `==> name <==` line, the summary to stderr.
          const text = Object.entries(result.files).map(([name, body]) => `==> ${name} <==\n${body}`).join(
            "\n",
          );
          await Deno.stdout.write(new TextEncoder().encode(text));
          console.error(result.summary);
        } else {
          console.log(`${result.summary}\nwrote ${Object.keys(result.files).length} files to ${outputDir}`);
        }
        return 0;
      }
      case "deploy": {
        if (values.orchestrator === undefined) {
          throw new UsageError(
            `"glacier deploy" needs --orchestrator: step_functions, airflow, prefect or dagster`,
            help,
          );
        }
        const result = await pipelines[0].deploy({
          orchestrator: values.orchestrator,
          schedule: values.schedule,
          outputDir,
          apply: values.apply,
        });
        if (outputDir === undefined) {
          const text = Object.entries(result.files).map(([name, body]) => `==> ${name} <==\n${body}`).join(
            "\n",
          );
          await Deno.stdout.write(new TextEncoder().encode(text));
          console.error(result.summary + (result.url ? `\n  url: ${result.url}` : ""));
        } else {
          console.log(
            `${result.summary}\nwrote ${Object.keys(result.files).length} files to ${outputDir}${
              result.url ? `\nurl: ${result.url}` : ""
            }`,
          );
        }
        return 0;
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`glacier: ${error.message}\n\n${error.help}`);
      return 2;
    }
    console.error(
      `glacier: ${error instanceof GlacierError ? error.message : (error as Error)?.stack ?? error}`,
    );
    return 1;
  }
}

// `glacier clean`: what it removed, one line (or JSON).
async function clean(
  target: string | undefined,
  extra: string[],
  values: { "older-than"?: string; cache?: boolean; checkpoints?: boolean; logs?: boolean; json?: boolean },
  help: string,
): Promise<number> {
  if (extra.length) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`, help);
  const dir = await projectGlacier(target, help);
  let olderThanMs: number | undefined;
  if (values["older-than"] !== undefined) {
    try {
      olderThanMs = parseAge(values["older-than"]);
    } catch (error) {
      throw new UsageError(`--older-than: ${(error as Error).message}`, help);
    }
  }
  const removed = await cleanGlacier(dir, {
    olderThanMs,
    cache: values.cache,
    checkpoints: values.checkpoints,
    logs: values.logs,
  });
  if (values.json) console.log(JSON.stringify({ glacierDir: dir, ...removed }, null, 2));
  else {
    console.log(
      `removed ${removed.cacheEntries} cache ${
        removed.cacheEntries === 1 ? "entry" : "entries"
      }, ${removed.checkpoints} ${
        removed.checkpoints === 1 ? "checkpoint" : "checkpoints"
      } (${removed.checkpointRuns} ${
        removed.checkpointRuns === 1 ? "run" : "runs"
      }) and ${removed.logFiles} log ${removed.logFiles === 1 ? "file" : "files"}, ${
        formatBytes(removed.bytes)
      } freed, from ${dir}`,
    );
  }
  return 0;
}

// The .glacier/ folder of the project holding a file or folder (default: the working directory).
async function projectGlacier(target: string | undefined, help: string): Promise<string> {
  const path = resolve(target ?? ".");
  const info = await Deno.stat(path).catch(() => undefined);
  if (!info) {
    throw new UsageError(
      `No such file or folder ${JSON.stringify(target)}: give a pipeline file or a project folder`,
      help,
    );
  }
  return join(projectRoot(info.isDirectory ? join(path, "_") : path), ".glacier");
}

// `glacier logs`: a run's calls and their log files, or one call's log.
async function logs(
  target: string | undefined,
  extra: string[],
  options: { run?: string; task?: string; json?: boolean },
  help: string,
): Promise<number> {
  // glacier logs [project] [run] [call]: a first word that is no file or folder is a run id.
  const words = [target, ...extra].filter((w): w is string => w !== undefined);
  const project = words.length && await Deno.stat(words[0]).then(() => true, () => false)
    ? words.shift()
    : undefined;
  if (words.length > 2) throw new UsageError(`Unexpected argument ${JSON.stringify(words[2])}`, help);
  const values = { ...options, run: options.run ?? words[0], task: options.task ?? words[1] };
  const dir = await projectGlacier(project, help);
  const runs = join(dir, "runs");
  const report = values.run === undefined ? (await listReports(runs))[0] : await readReport(values.run, runs);
  if (!report) {
    throw new GlacierError(
      "USER:NO_RUN",
      values.run === undefined
        ? `No run in ${runs}: run a pipeline of this project first`
        : `No run ${JSON.stringify(values.run)} in ${runs}: give the name of a report there, without .json`,
    );
  }
  const tasks = values.task === undefined ? report.tasks : report.tasks.filter((t) => t.id === values.task);
  if (tasks.length === 0) {
    throw new GlacierError(
      "USER:NO_CALL",
      `Run ${report.runId} has no call ${JSON.stringify(values.task)}; its calls: ${
        report.tasks.map((t) => t.id).join(", ")
      }`,
    );
  }
  const read = (file: string) => Deno.readTextFile(join(dir, file)).catch(() => "");
  if (values.json) {
    const out = [];
    for (const t of tasks) {
      const files = [];
      for (const file of t.logs ?? []) files.push({ file, text: await read(file) });
      out.push({ id: t.id, status: t.status, attempts: t.attempts, logs: files });
    }
    console.log(
      JSON.stringify(
        { runId: report.runId, pipeline: report.pipeline, status: report.status, tasks: out },
        null,
        2,
      ),
    );
    return 0;
  }
  if (values.task !== undefined) {
    const files = tasks[0].logs ?? [];
    if (files.length === 0) console.error(`"${values.task}" printed nothing in run ${report.runId}`);
    for (const file of files) {
      if (files.length > 1) console.log(`── ${file}`);
      await Deno.stdout.write(new TextEncoder().encode(await read(file)));
    }
    return 0;
  }
  console.log(`run ${report.runId} of "${report.pipeline}": ${report.status}`);
  for (const t of tasks) {
    const files = t.logs?.length ? t.logs.map((f) => join(dir, f)).join(", ") : "printed nothing";
    console.log(`  ${t.id.padEnd(28)} ${t.status.padEnd(11)} ${files}`);
  }
  return 0;
}

// `glacier ui`: serves the project's run state until SIGINT or SIGTERM.
async function ui(
  target: string | undefined,
  extra: string[],
  values: { port?: string },
  help: string,
): Promise<number> {
  if (extra.length) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`, help);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? "0") || port > 65535) {
    throw new UsageError(
      `--port ${JSON.stringify(values.port)} is not a port: give 1 to 65535, or 0 for a free one`,
      help,
    );
  }
  const dir = await projectGlacier(target, help);
  const file = target !== undefined && (await Deno.stat(target)).isFile ? resolve(target) : undefined;
  const { startUi } = await import("./src/ui/server.ts");
  const server = await startUi({
    glacier: dir,
    port,
    file,
    cli: import.meta.url,
    analyze: (path) => uiAnalysis(path, help),
  });
  console.log(`glacier ui: ${server.url}  (runs of ${join(dir, "..")}; Ctrl-C to stop)`);
  // Like a run, the server stops on the first signal, then the process exits 130 or 143.
  let release: (() => void) | undefined;
  await new Promise<void>((stopped) => {
    release = onStopSignals({ stop: () => stopped() });
  });
  await server.shutdown();
  console.error("glacier ui: stopped");
  release?.();
  return 0;
}

// What `glacier analyze --json` says of each pipeline of a file, with its DAG, for the UI's pipeline pages.
async function uiAnalysis(file: string, help: string) {
  const out = [];
  for (const p of await readPipelines(file, help)) {
    const analysis = await analyzeWith(p, file, {}, false);
    const cost = await analysis.estimateCost({});
    out.push({
      dag: analysis.dag,
      summary: { ...toJson(analysis, cost), method: analysis.method, undecided: analysis.undecided },
    });
  }
  return out;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

async function checkFile(file: string, help: string): Promise<string> {
  const path = resolve(file);
  try {
    if (!(await Deno.stat(path)).isFile) throw new Error("not a file");
  } catch {
    throw new UsageError(
      `No such file ${JSON.stringify(file)}: give the path of a module that exports a pipeline`,
      help,
    );
  }
  return path;
}

// Every command but `run` finds pipelines by reading the source: nothing the
// user wrote runs. The pipeline function of such a Pipeline is never called
// here; `--trace` runs the module in a sandboxed subprocess instead.
async function readPipelines(file: string, help: string): Promise<Pipeline[]> {
  const path = await checkFile(file, help);
  const found = await exportedPipelines(pathToFileURL(path).href);
  if (found.length === 0) throw noPipelineExported(file, help);
  return found.map((p) =>
    new Pipeline(
      // Read, not imported: Glacier's wiring, as mod.ts's pipeline() would give it (deploy --apply needs its applier).
      { name: p.name, description: p.description, config: p.config, wiring: GLACIER_WIRING },
      () => {
        throw new GlacierError(
          "SYSTEM:PIPELINE_NOT_IMPORTED",
          `Pipeline "${p.name}" was read from ${file}, not imported, so its function cannot run here`,
        );
      },
      p.module,
    )
  );
}

function analyzeWith(
  p: Pipeline,
  file: string,
  params: Record<string, unknown>,
  trace: boolean | undefined,
): Promise<PipelineAnalysis> {
  if (!trace) return p.analyze();
  const timeout = Number(Deno.env.get("GLACIER_TRACE_TIMEOUT_MS") ?? 60_000);
  console.error(
    `glacier: tracing "${p.name}" runs ${file} in a subprocess that may only read the project (no network, environment, writes or subprocesses; stopped after ${
      timeout / 1000
    } s)`,
  );
  return traceIsolated(file, p.name, { params, timeoutMs: timeout, schedule: p.config.schedule });
}

function noPipelineExported(file: string, help: string): UsageError {
  return new UsageError(
    `${
      JSON.stringify(file)
    } exports no pipeline: add "export const etl = pipeline({ name: \\"etl\\" }, ...)"`,
    help,
  );
}

async function importPipelines(file: string, help: string): Promise<Pipeline[]> {
  const path = await checkFile(file, help);
  // Importing must not run the pipeline: a top-level `await p.run()` is a no-op
  // while the module loads; `glacier run` then runs the one chosen.
  suppressRuns();
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new GlacierError(
      "USER:IMPORT_FAILED",
      `Cannot import ${JSON.stringify(file)}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  } finally {
    allowRuns();
  }
  const pipelines = [...new Set(Object.values(module).filter((v): v is Pipeline => v instanceof Pipeline))];
  if (pipelines.length === 0) throw noPipelineExported(file, help);
  return pipelines;
}

function choose(
  pipelines: Pipeline[],
  file: string,
  name: string | undefined,
  many: boolean,
  help: string,
): Pipeline[] {
  const names = pipelines.map((p) => `"${p.name}"`).join(", ");
  if (name !== undefined) {
    const found = pipelines.filter((p) => p.name === name);
    if (found.length === 0) {
      throw new UsageError(`${JSON.stringify(file)} has no pipeline "${name}"; it has ${names}`, help);
    }
    if (found.length > 1) {
      throw new UsageError(
        `--pipeline "${name}" is ambiguous: ${
          JSON.stringify(file)
        } exports ${found.length} pipelines named "${name}"; give them distinct names`,
        help,
      );
    }
    return found;
  }
  if (pipelines.length > 1 && !many) {
    throw new UsageError(
      `${
        JSON.stringify(file)
      } exports ${pipelines.length} pipelines (${names}): choose one with --pipeline <name>`,
      help,
    );
  }
  return pipelines;
}

function parseParams(pairs: string[], help: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new UsageError(`--params ${JSON.stringify(pair)} is not key=value`, help);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch { /* a plain string */ }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

function warnUndecided(analysis: PipelineAnalysis): void {
  if (analysis.undecided.length === 0) return;
  console.error(
    `glacier: pipeline "${analysis.name}": static analysis could not decide ${analysis.undecided.length} thing(s); --trace follows one run's choices:\n${
      analysis.undecided.map((u) => `  ${u}`).join("\n")
    }`,
  );
}

function toJson(analysis: PipelineAnalysis, cost: CostEstimate) {
  const requirements = new Map(analysis.requirements.map((r) => [r.executor, r]));
  return {
    name: analysis.name,
    nodes: analysis.dag.nodes.map((n) => ({
      id: n.id,
      task: n.task.name,
      executor: n.executor.name,
      kind: n.executor.kind,
      service: n.executor.service,
      inputs: n.inputs.map((i) => i.id),
      outputs: n.outputs.map((o) => o.id),
      reads: n.reads,
      writes: n.writes,
      dynamic: n.dynamic,
      ...(n.condition === undefined ? {} : { condition: n.condition }),
    })),
    edges: analysis.dag.edges.map(([from, to]) => ({ from: from.id, to: to.id })),
    executors: analysis.executorUses.map((e) => {
      const { executor: _, kind: _k, service: _s, reads: _r, writes: _w, ...req } = requirements.get(e.name)!;
      return { ...e, ...req };
    }),
    dataSources: analysis.dataSources,
    dataSinks: analysis.dataSinks,
    cost,
    undecided: analysis.undecided,
    warnings: [...analysis.warnings, ...cost.warnings],
  };
}

function money(n: number): string {
  return n === 0 ? "$0" : n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;
}

function summary(analysis: PipelineAnalysis, cost: CostEstimate, file: string): string {
  const dag = analysis.dag;
  const out: string[] = [];
  const how = analysis.method === "static" ? "read from the source" : "traced";
  out.push(`Pipeline "${analysis.name}" (${file}, ${how})`);
  const stages = dag.stages();
  out.push(`\nDAG: ${dag.nodes.length} tasks, ${dag.edges.length} edges, ${stages.length} stages`);
  for (const [i, stage] of stages.entries()) {
    out.push(`  stage ${i + 1}`);
    for (const n of stage) {
      const marks = [
        n.inputs.length ? `← ${n.inputs.map((i) => i.id).join(", ")}` : "",
        n.dynamic ? "(dynamic: count known at run time)" : "",
        n.condition ? `(if ${n.condition})` : "",
      ].filter(Boolean).join(" ");
      out.push(`    ${n.id} [${n.executor.name}]${marks ? " " + marks : ""}`);
    }
  }
  out.push("\nExecutors:");
  for (const r of analysis.requirements) {
    const size = [
      r.memoryMb !== undefined ? `${r.memoryMb} MB` : "",
      r.timeoutSeconds !== undefined ? `timeout ${r.timeoutSeconds} s` : "",
      r.machine ?? "",
      r.nodeCount !== undefined ? `${r.nodeCount} nodes` : "",
    ].filter(Boolean).join(", ");
    const nodes = analysis.executorUses.find((e) => e.name === r.executor)!.nodes;
    out.push(`  ${r.executor} (${r.kind}, ${r.service}${size ? `, ${size}` : ""}): ${nodes.join(", ")}`);
    out.push(`    runtime: ${r.runtime}`);
    for (const p of r.storagePermissions) out.push(`    needs ${p}`);
  }
  out.push("\nData sources:");
  if (analysis.dataSources.length === 0) out.push("  (none)");
  for (const s of analysis.dataSources) out.push(`  ${s.uri} → ${s.nodes.join(", ")}`);
  out.push("Data sinks:");
  if (analysis.dataSinks.length === 0) out.push("  (none)");
  for (const s of analysis.dataSinks) out.push(`  ${s.nodes.join(", ")} → ${s.uri}`);
  const warnings = [...analysis.warnings, ...cost.warnings];
  if (warnings.length) {
    out.push("\nWarnings:");
    for (const w of warnings) out.push(`  ${w}`);
  }
  if (analysis.undecided.length) {
    out.push("\nNot decided statically (glacier analyze --trace follows one run's choices):");
    for (const u of analysis.undecided) out.push(`  ${u}`);
  }
  out.push(
    `\nCost: ${money(cost.perRun)} per run, ${money(cost.perMonth)} per month (${
      Math.round(cost.runsPerMonth * 100) / 100
    } runs)`,
  );
  for (const l of cost.lines) {
    out.push(
      `  ${l.item.padEnd(30)} ${l.executor.padEnd(14)} ${l.quantity.padEnd(28)} ${money(l.perRun)}/run`,
    );
  }
  out.push("  Assumptions:");
  for (const a of cost.assumptions) out.push(`    - ${a}`);
  return out.join("\n") + "\n";
}

if (import.meta.main) Deno.exit(await main(Deno.args));
