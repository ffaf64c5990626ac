// A temp project for the UI tests: the fixture pipelines (fixtures/shop.ts)
// with mod.ts imported by absolute URL, runs of them as a user starts them
// (`glacier run` in a subprocess), and `glacier ui` itself in a subprocess,
// stopped with SIGTERM.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { listReports } from "../../../src/run/report.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = new URL("./fixtures/shop.ts", import.meta.url);
const MOD = new URL("../../../mod.ts", import.meta.url).href;
const CONFIG = join(ROOT, "deno.json");
const CLI = join(ROOT, "cli.ts");

/** A temp project: a deno.json, the pipelines in shop.ts, a scratch folder for go files. */
export interface UiProject {
  readonly cwd: string;
  readonly file: string;
  readonly scratch: string;
  readonly runs: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function uiProject(): Promise<UiProject> {
  const cwd = await Deno.makeTempDir({ prefix: "glacier-ui-" });
  await Deno.writeTextFile(join(cwd, "deno.json"), "{}\n");
  const file = join(cwd, "shop.ts");
  await Deno.writeTextFile(
    file,
    (await Deno.readTextFile(FIXTURE)).replace('"../../../../mod.ts"', JSON.stringify(MOD)),
  );
  const scratch = join(cwd, "scratch");
  await Deno.mkdir(scratch);
  return {
    cwd,
    file,
    scratch,
    runs: join(cwd, ".glacier", "runs"),
    async [Symbol.asyncDispose]() {
      await Deno.remove(cwd, { recursive: true });
    },
  };
}

function glacierCommand(p: UiProject, args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, CLI, ...args],
    cwd: p.cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs a pipeline of the project to its end: `glacier run shop.ts --pipeline <name> [args]`. */
export async function runPipeline(
  p: UiProject,
  pipeline: string,
  args: string[] = [],
): Promise<{ code: number; stderr: string }> {
  const out = await glacierCommand(p, ["run", p.file, "--pipeline", pipeline, "--quiet", ...args]).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Starts a pipeline run and returns its process (the caller awaits `.output()`). */
export function startPipeline(p: UiProject, pipeline: string, args: string[] = []): Deno.ChildProcess {
  return glacierCommand(p, ["run", p.file, "--pipeline", pipeline, "--quiet", ...args]).spawn();
}

/** The ids of the project's runs of a pipeline, oldest first. */
export async function runIds(p: UiProject, pipeline: string): Promise<string[]> {
  // Oldest first by start time: two runs in one second have ids that sort at random.
  return (await listReports(p.runs, pipeline)).map((r) => r.runId).reverse();
}

/** A `glacier ui` process: its URL, and how it ended once stopped. */
export interface UiProcess {
  readonly url: string;
  readonly child: Deno.ChildProcess;
  /** Sends the signal and returns the exit code and what it printed. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stdout: string; stderr: string }>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `glacier ui [target] [args]` in the project and reads the URL it prints. */
export async function startUiProcess(p: UiProject, target?: string, args: string[] = []): Promise<UiProcess> {
  const child = glacierCommand(p, ["ui", ...(target === undefined ? [] : [target]), ...args]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await lines.read();
    if (done) break;
    stdout += value;
    url = /glacier ui: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return stdout;
      stdout += value;
    }
  })();
  const stderr = new Response(child.stderr).text();
  if (url === undefined) {
    const status = await child.status;
    assert.fail(`glacier ui exited ${status.code} before printing its URL:\n${stdout}\n${await stderr}`);
  }
  let ended: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    ended ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* exited already */ }
      const status = await child.status;
      return { code: status.code, stdout: await rest, stderr: await stderr };
    })();
  return {
    url,
    child,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Waits for `check` to hold, polling; fails with `what` after `limitMs`. */
export async function until(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
