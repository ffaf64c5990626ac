/**
 * The `glacier ui` server: a local web app over one project's `.glacier/`
 * run state, on Deno's own HTTP server, bound to 127.0.0.1. Pages (plain
 * HTML, CSS and a script, embedded in this package so an `https:` import
 * serves them too):
 *
 * - `/`: every pipeline's runs, newest first;
 * - `/runs/<runId>`: a run's DAG coloured by state, its calls, errors and logs;
 * - `/pipelines/<name>`: a pipeline's static analysis: DAG, executors, data, cost.
 *
 * The JSON they read is under `/api/` (`/api/runs?limit=N`: the newest N
 * runs, 200 unless given, 0 for all); `/api/events` streams server-sent
 * `change` events while runs go (the folder is scanned every `pollMs` while
 * a page listens), so pages update without reloading. `POST
 * /api/runs/<runId>/resume` and `/rerun` start `glacier run` in a subprocess
 * ({@linkcode RunActions}).
 *
 * Only this machine reaches it, and only through its own address: a request
 * whose `Host` is not `127.0.0.1:<port>` or `localhost:<port>` is refused
 * (DNS rebinding), and an action must come from the UI's own origin with a
 * JSON body (no other site can start a run through a user's browser).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DataLocation, PipelineDAG } from "../dag.ts";
import type { CostEstimate } from "../analyze/cost.ts";
import { toSvg } from "../analyze/svg.ts";
import { errorMessage, GlacierError } from "../errors.ts";
import { projectRoot } from "../_project.ts";
import { type ActionKind, availability, type ModuleFile, RunActions } from "./actions.ts";
import { RunState, type RunSummary } from "./state.ts";
import { statusSvg } from "./status_svg.ts";
import { errorPage, shellPage } from "./_page.ts";
import { SCRIPT } from "./_script.ts";
import { STYLE } from "./_style.ts";

/** One pipeline as `glacier analyze --json` prints it (the fields the UI shows). */
export interface PipelineSummary {
  /** The pipeline's name. */
  readonly name: string;
  /** `static` (read from the source) or `trace`. */
  readonly method?: string;
  /** What static analysis could not decide. */
  readonly undecided?: readonly string[];
  /** The tasks, each with its executor. */
  readonly nodes: readonly { readonly id: string; readonly task: string; readonly executor: string }[];
  /** Data dependencies. */
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  /** Each executor with the nodes it runs and what it needs. */
  readonly executors:
    readonly ({ readonly name: string; readonly nodes: readonly string[] } & Record<string, unknown>)[];
  /** Storage read. */
  readonly dataSources: readonly DataLocation[];
  /** Storage written. */
  readonly dataSinks: readonly DataLocation[];
  /** The cost estimate. */
  readonly cost: CostEstimate;
}

/** A pipeline of a file, analyzed without running it. */
export interface AnalyzedPipeline {
  /** Its DAG. */
  readonly dag: PipelineDAG;
  /** What analysis says of it. */
  readonly summary: PipelineSummary;
}

/**
 * Reads the pipelines a file exports without running it (what `glacier
 * analyze` does): the CLI passes its own.
 */
export type AnalyzeFile = (file: string) => Promise<readonly AnalyzedPipeline[]>;

/** Options for {@linkcode startUi}. */
export interface UiOptions {
  /** The project's `.glacier/` folder. */
  glacier: string;
  /** The port on 127.0.0.1. @default {0: a free one} */
  port?: number;
  /** A pipeline file the UI was started with: its pipelines get pages and actions even before they ran. @default {undefined} */
  file?: string;
  /** The `glacier` command's module, which actions run. @default {this package's cli.ts} */
  cli?: string;
  /** Static analysis for pipeline pages. @default {undefined: pipeline pages say it is not available} */
  analyze?: AnalyzeFile;
  /** How often the folder is scanned while a page listens for changes, in milliseconds. @default {250} */
  pollMs?: number;
}

/** A running UI server. */
export interface UiServer {
  /** Its address, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Closes open event streams, stops the actions still going (SIGTERM) and the server. */
  shutdown(): Promise<void>;
}

const ENCODER = new TextEncoder();
// How old a scan may be for an API read.
const FRESH_MS = 150;
// The newest runs the list shows until asked for all (`/api/runs?limit=0`).
const LIST_LIMIT = 200;
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1 15 14H1z" fill="#9ecbff" stroke="#1f6feb"/></svg>';

/**
 * Starts the UI server over a project's run state.
 *
 * @param options The project, port and helpers.
 * @returns The running server; call `shutdown()` to stop it.
 * @throws {GlacierError} `USER:PORT_IN_USE` when the port is taken.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startUi } from "./server.ts";
 * const glacier = await Deno.makeTempDir();
 * const ui = await startUi({ glacier });
 * const res = await fetch(new URL("api/runs", ui.url));
 * assert.deepEqual((await res.json()).runs, []);
 * const missing = await fetch(new URL("runs/nope", ui.url));
 * assert.equal(missing.status, 404);
 * assert.match(await missing.text(), /No run "nope"/);
 * await ui.shutdown();
 * await Deno.remove(glacier, { recursive: true });
 * ```
 */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const app = new App(options);
  await app.state.refresh();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      (request, info) => app.handle(request, info),
    );
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new GlacierError(
        "USER:PORT_IN_USE",
        `Port ${options.port} on 127.0.0.1 is in use: give another with --port, or --port 0 for a free one`,
        { cause: error },
      );
    }
    throw error;
  }
  const port = server.addr.port;
  app.port = port;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    shutdown() {
      return stopping ??= (async () => {
        await app.close();
        await server.shutdown();
      })();
    },
  };
}

type Json = Record<string, unknown>;

// The routes, the event streams and what the pages need to know.
class App {
  readonly state: RunState;
  readonly #options: UiOptions;
  readonly #actions: RunActions;
  readonly #project: string;
  readonly #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #analyses = new Map<string, { stamp: string; result: Promise<readonly AnalyzedPipeline[]> }>();
  #poll?: ReturnType<typeof setInterval>;
  #polling = false;
  port = 0;

  constructor(options: UiOptions) {
    this.#options = options;
    this.#project = dirname(resolve(options.glacier));
    this.state = new RunState(resolve(options.glacier), {
      onChange: (runs) => this.#broadcast({ runs }),
    });
    this.#actions = new RunActions({
      cli: options.cli ?? new URL("../../cli.ts", import.meta.url).href,
      cwd: this.#project,
      // Scanned first: a command that ended has written its run's report, which the action then names.
      onChange: () =>
        void this.state.refresh().catch(() => {}).finally(() => this.#broadcast({ actions: true })),
    });
  }

  async handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const url = new URL(request.url);
    const host = request.headers.get("host");
    if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`) {
      return text(
        421,
        `This Glacier UI answers at http://127.0.0.1:${this.port}/ only, not through host ${
          JSON.stringify(host)
        }`,
      );
    }
    const parts = url.pathname.split("/").slice(1).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return "\0";
      }
    });
    try {
      if (request.method === "POST") return await this.#post(request, parts);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return text(405, `${request.method} is not served here: the UI only reads, and starts runs by POST`);
      }
      return await this.#get(url, parts, info);
    } catch (error) {
      const message = error instanceof GlacierError ? error.message : errorMessage(error);
      return parts[0] === "api"
        ? json(500, { error: message })
        : html(500, errorPage("Glacier UI error", message));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    for (const stream of this.#streams) {
      try {
        stream.close();
      } catch { /* already closed */ }
    }
    this.#streams.clear();
    await this.#actions.close();
  }

  async #get(url: URL, parts: string[], info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const [first, second, third, fourth] = parts;
    if (first === "assets" && parts.length === 2) {
      if (second === "app.js") return asset(SCRIPT, "text/javascript; charset=utf-8");
      if (second === "app.css") return asset(STYLE, "text/css; charset=utf-8");
    }
    if (parts.length === 1 && first === "favicon.ico") return asset(FAVICON, "image/svg+xml");
    if (parts.length === 1 && first === "") {
      return html(200, shellPage({ view: "runs", title: "Runs", project: this.#project }));
    }
    if (first === "runs" && parts.length === 2) {
      await this.state.refresh();
      if (!this.state.report(second)) return html(404, errorPage("No such run", this.#noRun(second)));
      return html(200, shellPage({ view: "run", id: second, title: second, project: this.#project }));
    }
    if (first === "pipelines" && parts.length === 2) {
      await this.state.refresh();
      if (!(await this.#pipelineNames()).includes(second)) {
        return html(404, errorPage("No such pipeline", await this.#noPipeline(second)));
      }
      return html(200, shellPage({ view: "pipeline", id: second, title: second, project: this.#project }));
    }
    if (first !== "api") {
      return html(404, errorPage("Not found", `Nothing is served at ${url.pathname}: the runs are at /`));
    }
    if (second === "events" && parts.length === 2) return this.#events(info);
    // Pages read the API right after a change event, which a scan sent: one that recent is current enough.
    await this.state.refresh(FRESH_MS);
    if (second === "runs" && parts.length === 2) {
      const runs = this.state.runs();
      const limit = Number(url.searchParams.get("limit") ?? LIST_LIMIT);
      return json(200, {
        project: this.#project,
        glacier: this.state.glacier,
        total: runs.length,
        runs: Number.isInteger(limit) && limit > 0 ? runs.slice(0, limit) : runs,
        pipelines: await this.#pipelineNames(),
        actions: this.#actions.list(this.state.runs()),
      });
    }
    if (second === "runs" && third !== undefined) {
      const view = await this.state.view(third);
      if (!view) return json(404, { error: this.#noRun(third) });
      if (parts.length === 3) {
        return json(200, {
          project: this.#project,
          run: view,
          can: availability(view, await this.#moduleFor(view)),
          actions: this.#actions.list(this.state.runs()).filter((a) => a.runId === third),
        });
      }
      if (fourth === "graph.svg" && parts.length === 4) {
        return new Response(await statusSvg(view), { headers: noStore("image/svg+xml; charset=utf-8") });
      }
      if (fourth === "logs" && parts.length === 5) {
        const offset = url.searchParams.get("offset");
        const chunk = await this.state.log(
          third,
          parts[4],
          offset === null || !/^\d+$/.test(offset) ? undefined : Number(offset),
        );
        if (!chunk) {
          return json(404, {
            error: `Run ${third} has no log ${JSON.stringify(parts[4])}: the run page lists each call's logs`,
          });
        }
        return json(200, { ...chunk });
      }
    }
    if (second === "pipelines" && parts.length >= 3) {
      const name = third;
      if (!(await this.#pipelineNames()).includes(name)) {
        return json(404, { error: await this.#noPipeline(name) });
      }
      const found = await this.#pipeline(name);
      if (parts.length === 3) {
        return json(200, {
          project: this.#project,
          name,
          ...(found.file === undefined ? { fileReason: found.reason } : { file: found.file }),
          ...(found.summary ? { analysis: found.summary } : {}),
          ...(found.error ? { error: found.error } : {}),
          runs: this.state.runs(name),
        });
      }
      if (fourth === "graph.svg" && parts.length === 4) {
        if (!found.dag) return json(404, { error: found.error ?? found.reason });
        return new Response(await toSvg(found.dag), { headers: noStore("image/svg+xml; charset=utf-8") });
      }
    }
    if (second === "actions" && parts.length === 2) {
      return json(200, { actions: this.#actions.list(this.state.runs()) });
    }
    return json(404, { error: `Nothing is served at ${url.pathname}` });
  }

  async #post(request: Request, parts: string[]): Promise<Response> {
    const origin = request.headers.get("origin");
    if (
      (origin !== null && origin !== `http://127.0.0.1:${this.port}` &&
        origin !== `http://localhost:${this.port}`) ||
      !(request.headers.get("content-type") ?? "").startsWith("application/json")
    ) {
      return json(403, {
        error:
          "Runs are started from the UI's own page only (same origin, a JSON request): open it and use its buttons",
      });
    }
    const [api, runs, runId, verb] = parts;
    if (api !== "api" || runs !== "runs" || parts.length !== 4 || (verb !== "resume" && verb !== "rerun")) {
      return json(404, {
        error: `Nothing to do at /${parts.join("/")}: POST /api/runs/<runId>/resume or /rerun`,
      });
    }
    await this.state.refresh();
    const view = await this.state.view(runId);
    if (!view) return json(404, { error: this.#noRun(runId) });
    const module = await this.#moduleFor(view);
    const can = availability(view, module)[verb];
    if (!can.enabled) return json(409, { error: can.reason });
    const action = this.#actions.start(verb as ActionKind, view, module.file!);
    this.#startPolling();
    return json(202, { action });
  }

  #events(info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stop = () => {
      this.#streams.delete(controller);
      try {
        controller.close();
      } catch { /* closed */ }
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.#streams.add(c);
        c.enqueue(ENCODER.encode(": glacier ui\nretry: 1000\n\n"));
        this.#startPolling();
      },
      cancel: () => {
        this.#streams.delete(controller);
      },
    });
    // Ends when the page goes away (or the server stops).
    info.completed.then(stop, stop);
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  #broadcast(change: Json): void {
    const message = ENCODER.encode(`event: change\ndata: ${JSON.stringify(change)}\n\n`);
    for (const stream of this.#streams) {
      try {
        stream.enqueue(message);
      } catch {
        this.#streams.delete(stream);
      }
    }
  }

  // Scans while a page listens (or an action goes): one scan at a time.
  #startPolling(): void {
    if (this.#poll !== undefined) return;
    this.#poll = setInterval(() => {
      if (this.#streams.size === 0 && !this.#actions.list([]).some((a) => a.status === "running")) {
        clearInterval(this.#poll);
        this.#poll = undefined;
        return;
      }
      if (this.#polling) return;
      this.#polling = true;
      this.state.refresh().catch(() => {}).finally(() => this.#polling = false);
    }, this.#options.pollMs ?? 250);
  }

  #noRun(runId: string): string {
    return `No run ${JSON.stringify(runId)} in ${this.state.runsDir}: pick one from the runs list at /, ` +
      `or give the name of a report there without .json`;
  }

  async #noPipeline(name: string): Promise<string> {
    const names = await this.#pipelineNames();
    return `No pipeline ${JSON.stringify(name)} has run in this project${
      this.#options.file ? ` or is exported by ${this.#options.file}` : ""
    }: ${
      names.length ? `its pipelines are ${names.map((n) => JSON.stringify(n)).join(", ")}` : "run one first"
    }`;
  }

  async #pipelineNames(): Promise<string[]> {
    const names = new Set(this.state.runs().map((r) => r.pipeline));
    for (const p of (await this.#fileAnalysis())?.pipelines ?? []) names.add(p.summary.name);
    return [...names].sort();
  }

  // The pipelines of the file the UI was started with.
  async #fileAnalysis(): Promise<{ pipelines?: readonly AnalyzedPipeline[]; error?: string } | undefined> {
    if (this.#options.file === undefined || !this.#options.analyze) return undefined;
    try {
      return { pipelines: await this.#analyze(this.#options.file) };
    } catch (error) {
      return { error: error instanceof GlacierError ? error.message : errorMessage(error) };
    }
  }

  // Analysis of a file, again only once it changed.
  async #analyze(file: string): Promise<readonly AnalyzedPipeline[]> {
    const info = await Deno.stat(file);
    const stamp = `${info.mtime?.getTime()}:${info.size}`;
    let known = this.#analyses.get(file);
    if (known?.stamp !== stamp) {
      known = { stamp, result: this.#options.analyze!(file) };
      this.#analyses.set(file, known);
      known.result.catch(() => this.#analyses.delete(file));
    }
    return await known.result;
  }

  // The module that defines a run's pipeline: the one its report names, else the UI's file when it exports the pipeline.
  async #moduleFor(run: RunSummary): Promise<ModuleFile> {
    if (run.module !== undefined) return await this.#localModule(run.pipeline, run.module);
    const fromFile = await this.#fileAnalysis();
    if (fromFile?.pipelines?.some((p) => p.summary.name === run.pipeline)) {
      return { file: this.#options.file };
    }
    return {
      reason: `Run ${run.runId} does not name the module that defines pipeline "${run.pipeline}" ` +
        `(a Glacier before reports named it wrote it): start the UI with that file, glacier ui path/to/pipeline.ts`,
    };
  }

  async #localModule(pipeline: string, module: string): Promise<ModuleFile> {
    if (!module.startsWith("file:")) {
      return {
        reason:
          `Pipeline "${pipeline}" is defined by ${module}, not a file of this project: run it with glacier run`,
      };
    }
    const file = fileURLToPath(module);
    if (!(await Deno.stat(file).then((i) => i.isFile, () => false))) {
      return {
        reason:
          `The module that defines pipeline "${pipeline}", ${file}, is gone: restore it, or run the pipeline from where it is now`,
      };
    }
    if (resolve(projectRoot(file), ".glacier") !== this.state.glacier) {
      return {
        reason: `${file} belongs to the project in ${
          projectRoot(file)
        }, whose runs are not these: start glacier ui there`,
      };
    }
    return { file };
  }

  // A pipeline page's facts: the newest run's module, else the UI's file.
  async #pipeline(
    name: string,
  ): Promise<
    { file?: string; reason?: string; dag?: PipelineDAG; summary?: PipelineSummary; error?: string }
  > {
    let found: ModuleFile | undefined;
    for (const run of this.state.runs(name)) {
      if (run.module === undefined) continue;
      found = await this.#localModule(name, run.module);
      break;
    }
    if (!found?.file) {
      const fromFile = await this.#fileAnalysis();
      if (fromFile?.pipelines?.some((p) => p.summary.name === name)) found = { file: this.#options.file };
      else if (fromFile?.error && !found) return { reason: fromFile.error, error: fromFile.error };
    }
    if (!found?.file) {
      const reason = found?.reason ??
        `Glacier does not know which file defines pipeline "${name}": start the UI with it, glacier ui path/to/pipeline.ts`;
      return { reason, error: reason };
    }
    if (!this.#options.analyze) {
      return {
        file: found.file,
        error:
          `This UI was started without static analysis: start it with glacier ui to see the pipeline's analysis`,
      };
    }
    try {
      const pipelines = await this.#analyze(found.file);
      const pipeline = pipelines.find((p) => p.summary.name === name);
      if (!pipeline) {
        return {
          file: found.file,
          error: `${found.file} no longer exports pipeline "${name}": it exports ${
            pipelines.map((p) => `"${p.summary.name}"`).join(", ") || "none"
          }`,
        };
      }
      return { file: found.file, dag: pipeline.dag, summary: pipeline.summary };
    } catch (error) {
      return { file: found.file, error: error instanceof GlacierError ? error.message : errorMessage(error) };
    }
  }
}

function noStore(type: string): HeadersInit {
  return { "content-type": type, "cache-control": "no-store" };
}

function json(status: number, body: Json): Response {
  return new Response(JSON.stringify(body), { status, headers: noStore("application/json; charset=utf-8") });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: noStore("text/plain; charset=utf-8") });
}

function html(status: number, body: string): Response {
  return new Response(body, { status, headers: noStore("text/html; charset=utf-8") });
}

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": type, "cache-control": "no-cache" } });
}
