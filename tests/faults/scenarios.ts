// The fault scenarios: each injects one fault into a real run and measures
// what happened. tests/faults/faults_test.ts asserts on the figures;
// `deno task faults` writes them to tests/faults/RESULTS.md.
import { join } from "node:path";
import * as durable from "../support/durable_run.ts";
import { readJournal } from "../../src/run/journal.ts";
import { listReports } from "../../src/run/report.ts";
import type { GlacierError, Pipeline, RunReport } from "../../mod.ts";
import * as fx from "../fixtures/fault_tasks.ts";
import { startS3rver, useS3rverEnv } from "../support/s3rver.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { tableFromArrays } from "apache-arrow";
import { TaskError } from "../../mod.ts";
import { buildLambdaArtifacts } from "../../executors/lambda/build.ts";
import {
  type CloudFixture,
  createFunction,
  freePort,
  spawnEmulator,
  STAGING_BUCKET,
  startCloudFixture,
  waitForFile,
} from "../executors/lambda/_cloud_fixture.ts";
import { echo, lambdaFanOut, lambdaPipeline } from "../executors/lambda/fixtures/lambda_pipeline.ts";
import { type Sshd, startSshd } from "../support/sshd.ts";
import { startDatabricksEmulator } from "../support/databricks_emulator.ts";
import { closeS3Stores } from "../../stores/s3.ts";

/** What one fault did to a run. */
export interface Figures {
  /** The fault, in words. */
  fault: string;
  /** The failure was seen (an error with the expected code, or a retry). */
  detected: boolean;
  /** Attempts of the faulty call, against what its options allow. */
  attempts: string;
  /** Retries stayed within the task's `retries`. */
  retriedAsConfigured: boolean;
  /** The independent branch finished in the faulty run. */
  independentFinished: boolean;
  /** Finished calls were checkpointed (or nothing needed resuming). */
  checkpointsKept: boolean;
  /** `resume` (or the retry) completed the run with the right value. */
  completed: boolean;
  /** Objects half-written or left behind (temp files, partial outputs). */
  partialOutputs: number;
  /** Other figures: time to detect, requests refused, peak memory. */
  notes: string;
}

const quiet = { quiet: true, workers: 2 } as const;

function task(report: RunReport, name: string) {
  return report.tasks.find((t) => t.task === name);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function tempLeftovers(dir: string): Promise<number> {
  if (!(await exists(dir))) return 0;
  let n = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) n += await tempLeftovers(join(dir, entry.name));
    else if (entry.name.includes(".tmp-")) n++;
  }
  return n;
}

// A fault that fails the call for good: the run fails, the sibling finishes,
// and `resume` completes it (the fixtures misbehave only once).
async function failThenResume(
  fault: string,
  p: Pipeline,
  faulty: string,
  code: string,
  expected: string,
): Promise<Figures> {
  const dir = await Deno.makeTempDir();
  const started = performance.now();
  let error: GlacierError | undefined;
  try {
    await p.run({ ...quiet, params: { dir } });
  } catch (e) {
    error = e as GlacierError;
  }
  const detectMs = performance.now() - started;
  const first = p.lastRun!;
  // Checked before resuming: a resumed run that succeeds removes the chain's checkpoints.
  const kept = (await readJournal(join(".glacier", "runs"), first.runId)).get("independent")?.checkpoint ===
    first.runId;
  const value = await p.run({ ...quiet, resume: true }).catch((e) => `resume failed: ${e.message}`);
  const second = p.lastRun!;
  const calls = task(first, faulty)!;
  return {
    fault,
    detected: error?.code === code,
    attempts: `${calls.attempts} of 1 allowed`,
    retriedAsConfigured: calls.attempts === 1,
    independentFinished: task(first, "independent")?.status === "done",
    checkpointsKept: kept && task(second, "independent")?.ranOn === "checkpoint",
    completed: value === expected && second.resumedFrom === first.runId,
    partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
    notes: `${code} after ${Math.round(detectMs)} ms`,
  };
}

// A run of tests/fixtures/durable_tasks.ts in its own process, stopped by a
// real signal while `slow` runs (after `first` is checkpointed), then resumed
// in another process.
async function signalThenResume(signal: Deno.Signal, exitCode: number | undefined): Promise<Figures> {
  await using p = await durable.project();
  const started = performance.now();
  const stopped = await durable.stopMidRun(p, signal);
  const stopMs = performance.now() - started;
  const [first] = await durable.reports(p);
  const leftover = await processesIn(p.cwd);
  const resumed = await durable.resume(p);
  const [, second] = await durable.reports(p);
  const restored = second?.tasks.find((t) => t.id === "first")?.restoredFrom === first.runId;
  return {
    fault: `${signal} while a task runs (after another finished)`,
    detected: exitCode === undefined
      ? first.status === "running"
      : stopped.code === exitCode && first.status === "interrupted",
    attempts: exitCode === undefined
      ? `killed; exit ${stopped.code}`
      : `exit ${stopped.code} (${exitCode} expected)`,
    retriedAsConfigured: true,
    // A killed run's report is the one written while it ran: its journal says what finished.
    independentFinished: (await readJournal(p.runs, first.runId)).get("first")?.status === "done",
    checkpointsKept: restored && await durable.firstRuns(p) === 1,
    completed: resumed.code === 0 && JSON.parse(resumed.stdout) === 42 && second.status === "succeeded",
    partialOutputs: await tempLeftovers(join(p.cwd, ".glacier")) + leftover,
    notes: `report ${first.status}; ${
      exitCode === undefined
        ? "the journal named the finished call"
        : `stopped ${Math.round(stopMs)} ms after start`
    }; resume restored it and ran only the rest; ${leftover} processes left`,
  };
}

// A temp project whose pipeline `p` runs `first` (which counts its runs in
// files under the `dir` param) and then the fault's own task; `p.ts <dir>
// [resume]` runs it (or resumes it) and prints its value.
async function faultProject(name: string, task: string, runOptions = "") {
  const cwd = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(cwd, "deno.json"), "{}");
  await Deno.writeTextFile(
    join(cwd, "p.ts"),
    `import { pipeline, Provider } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
const local = new Provider().local();
export const first = local.task(async function first(dir: string): Promise<number> {
  await Deno.writeTextFile(dir + "/first-" + crypto.randomUUID(), "");
  return 21;
});
export const second = local.task(${task});
export const p = pipeline({ name: ${
      JSON.stringify(name)
    } }, (params: { dir: string }) => second(params.dir, first(params.dir)));
if (import.meta.main) {
  const resume = Deno.args[1] === "resume";
  console.log(JSON.stringify(await p.run({ params: { dir: Deno.args[0] }, quiet: true, resume, ${runOptions} })));
}`,
  );
  return {
    cwd,
    dir,
    /** How many times `first` ran. */
    firstRuns: async () =>
      (await Array.fromAsync(Deno.readDir(dir))).filter((e) => e.name.startsWith("first-")).length,
    async [Symbol.asyncDispose]() {
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// `deno run -A [flags] p.ts [args]` in a fault project, with Glacier's config.
function projectCommand(cwd: string, args: string[], flags: string[] = []): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...flags,
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "p.ts",
      ...args,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
}

// A task on the pool that runs out of JS heap (the process runs with a 96 MiB
// heap limit): Deno 2.9 cannot contain a worker's OOM, the whole process
// aborts; what finished before is in the journal, and resume completes the
// run once the task is fixed.
async function workerOom(): Promise<Figures> {
  await using project = await faultProject(
    "oom",
    `async function hog(dir: string, n: number): Promise<number> {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const fixed = await Deno.stat(dir + "/fixed").then(() => true, () => false);
      const kept: number[][] = [];
      while (!fixed) kept.push(new Array(1_000_000).fill(Math.random()));
      return n * 2;
    }`,
  );
  const { cwd, dir } = project;
  const run = (...args: string[]) =>
    projectCommand(cwd, args, ["--v8-flags=--max-old-space-size=96"]).output();
  const started = performance.now();
  const died = await run(dir);
  const diedMs = performance.now() - started;
  const runs = join(cwd, ".glacier", "runs");
  const [killed] = await listReports(runs);
  const journal = await readJournal(runs, killed.runId);
  const leftover = await processesIn(cwd);
  await Deno.writeTextFile(join(dir, "fixed"), "");
  const resumed = await run(dir, "resume");
  const [second] = await listReports(runs);
  return {
    fault: "a task on the pool fills the JS heap (a 96 MiB limit) while another call has finished",
    detected: !died.success && killed.status === "running",
    attempts: `process exit ${died.code}`,
    retriedAsConfigured: true,
    independentFinished: journal.get("first")?.status === "done",
    checkpointsKept: second.tasks.find((t) => t.id === "first")?.restoredFrom === killed.runId &&
      await project.firstRuns() === 1,
    completed: resumed.success && JSON.parse(new TextDecoder().decode(resumed.stdout)) === 42,
    partialOutputs: await tempLeftovers(join(cwd, ".glacier")) + leftover,
    notes:
      `the whole process aborted after ${
        Math.round(diedMs)
      } ms (Deno 2.9 cannot contain a worker's OOM; a task with permissions runs in a process of its own, ` +
      `whose OOM fails only that call); the journal kept the finished call, resume restored it; ${leftover} processes left`,
  };
}

// A task with no timeout that never settles: the run warns after its
// hangWarningMs (300 ms here, 10 minutes by default), the user stops it with
// SIGTERM, fixes the task and resumes; the finished call is restored.
async function hungTask(): Promise<Figures> {
  await using project = await faultProject(
    "hung",
    `async function stuck(dir: string, n: number): Promise<number> {
      if (!(await Deno.stat(dir + "/fixed").then(() => true, () => false))) await new Promise(() => {});
      return n * 2;
    }`,
    "hangWarningMs: 300",
  );
  const { cwd, dir } = project;
  const start = (...args: string[]) => projectCommand(cwd, args).spawn();
  const started = performance.now();
  const child = start(dir);
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!stderr.includes("has no timeout")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  const warnedMs = performance.now() - started;
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  const status = await child.status;
  await child.stdout.cancel();
  const runs = join(cwd, ".glacier", "runs");
  const [stopped] = await listReports(runs);
  const leftover = await processesIn(cwd);
  await Deno.writeTextFile(join(dir, "fixed"), "");
  const resumed = await start(dir, "resume").output();
  const [second] = await listReports(runs);
  return {
    fault: "a task with no timeout never settles (hangWarningMs 300 ms; the default is 10 minutes)",
    detected: /call "stuck" of pipeline "hung" has run \d+ s and task "stuck" has no timeout/.test(stderr),
    attempts: `warned, then SIGTERM: exit ${status.code}`,
    retriedAsConfigured: status.code === 143,
    independentFinished: stopped.tasks.find((t) => t.id === "first")?.status === "done",
    checkpointsKept: second.tasks.find((t) => t.id === "first")?.restoredFrom === stopped.runId &&
      await project.firstRuns() === 1,
    completed: resumed.success && JSON.parse(new TextDecoder().decode(resumed.stdout)) === 42,
    partialOutputs: await tempLeftovers(join(cwd, ".glacier")) + leftover,
    notes: `warned ${
      Math.round(warnedMs)
    } ms after start; report ${stopped.status}; resume restored the finished call; ${leftover} processes left`,
  };
}

// A cache: true task whose imported helper changes between runs, or whose
// cache entry gets one byte flipped: each second run must miss and compute
// the right value (a stale or corrupt entry returned as data is the fault).
async function staleCache(kind: "helper" | "corrupt"): Promise<Figures> {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(cwd, "deno.json"), "{}");
    await Deno.writeTextFile(join(cwd, "rate.ts"), "export const RATE = 0.9;\n");
    await Deno.writeTextFile(
      join(cwd, "p.ts"),
      `import { pipeline, Provider } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
import { RATE } from "./rate.ts";
const local = new Provider().local();
export const price = local.task({ cache: true }, function price(amount: number): number { return amount * RATE; });
export const p = pipeline({ name: "stale" }, () => price(350));
if (import.meta.main) console.log(JSON.stringify(await p.run({ quiet: true })));`,
    );
    const run = async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", new URL("../../deno.json", import.meta.url).pathname, "p.ts"],
        cwd,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const [report] = await listReports(join(cwd, ".glacier", "runs"));
      return {
        value: JSON.parse(new TextDecoder().decode(out.stdout)),
        report,
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    const first = await run();
    const cache = join(cwd, ".glacier", "cache");
    if (kind === "helper") await Deno.writeTextFile(join(cwd, "rate.ts"), "export const RATE = 0.8;\n");
    else {
      for await (const entry of Deno.readDir(cache)) {
        const path = join(cache, entry.name);
        const bytes = await Deno.readFile(path);
        bytes[bytes.length - 1] ^= 0xff;
        await Deno.writeFile(path, bytes);
      }
    }
    const second = await run();
    const expected = kind === "helper" ? 280 : 315;
    const missed = second.report.tasks[0].status === "done";
    return {
      fault: kind === "helper"
        ? "a cache: true task's imported module constant changes between two runs"
        : "one byte of a cache: true task's entry is flipped between two runs",
      detected: first.report.tasks[0].status === "done" && missed &&
        (kind === "helper" || /ignoring|corrupt|checksum/i.test(second.stderr)),
      attempts: "n/a",
      retriedAsConfigured: true,
      independentFinished: true,
      checkpointsKept: true,
      completed: first.value === 315 && second.value === expected,
      partialOutputs: await tempLeftovers(join(cwd, ".glacier")),
      notes: `first run ${first.value} (computed), second ${second.value} (${
        missed ? "cache missed, computed" : "served from the cache"
      }; ${expected} right)`,
    };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

// Processes still running the stopped run's code: none may outlive it.
async function processesIn(folder: string): Promise<number> {
  let n = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(folder)) n++;
  }
  return n;
}

export const scenarios: Record<string, () => Promise<Figures>> = {
  "SIGINT mid-run": () => signalThenResume("SIGINT", 130),
  "SIGTERM mid-run": () => signalThenResume("SIGTERM", 143),
  "SIGKILL mid-run": () => signalThenResume("SIGKILL", undefined),
  "worker OOM": workerOom,
  "hung task with no timeout": hungTask,
  "cache: an imported helper changes": () => staleCache("helper"),
  "cache: a flipped byte in an entry": () => staleCache("corrupt"),
  async "worker death"() {
    const dir = await Deno.makeTempDir();
    const value = await fx.workerDeath.run({ ...quiet, params: { dir } });
    const report = fx.workerDeath.lastRun!;
    const calls = task(report, "dies")!;
    return {
      fault: "a task calls Deno.exit in its worker (retries: 2)",
      detected: calls.attempts === 2,
      attempts: `${calls.attempts} of 3 allowed`,
      retriedAsConfigured: calls.attempts <= 3,
      independentFinished: task(report, "independent")?.status === "done",
      checkpointsKept: true,
      completed: value === "survived a worker death + independent done",
      partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
      notes: "the worker was replaced; no resume needed",
    };
  },

  "timeout"() {
    return failThenResume(
      "a CPU-bound loop passes its 400 ms timeout (retries: 0)",
      fx.timeout,
      "hangs",
      "USER:TASK_TIMEOUT",
      "finished on resume + independent done",
    );
  },

  "task throw"() {
    return failThenResume(
      "a task throws (retries: 0)",
      fx.taskThrow,
      "throws",
      "USER:TASK_FAILED",
      "finished on resume + independent done",
    );
  },

  async "S3 endpoint down and back"() {
    const dir = await Deno.makeTempDir();
    const data = await Deno.makeTempDir();
    let s3 = await startS3rver({ buckets: ["fault-lake"], directory: data, keep: true });
    const port = Number(new URL(s3.endpoint).port);
    const restore = useS3rverEnv(s3.endpoint);
    Deno.env.set("AWS_MAX_ATTEMPTS", "2");
    try {
      await fx.rawOrders.put("id,amount\n1,10.5\n2,20\n3,30\n");
      await s3.stop(); // down before the run reads
      const started = performance.now();
      let error: GlacierError | undefined;
      try {
        await fx.s3Pipeline.run({ ...quiet, params: { dir } });
      } catch (e) {
        error = e as GlacierError;
      }
      const detectMs = performance.now() - started;
      const first = fx.s3Pipeline.lastRun!;
      s3 = await startS3rver({ buckets: ["fault-lake"], directory: data, keep: true, port }); // back
      const written = await fx.totals.exists();
      const value = await fx.s3Pipeline.run({ ...quiet, resume: true });
      const total = (await fx.totals.scanArrow()).getChild("total")!.get(0);
      return {
        fault: "the S3 endpoint is down for the read, then comes back on the same port",
        detected: /Cannot reach|endpoint|ECONNREFUSED/i.test(error?.message ?? "") &&
          (error?.message ?? "").includes(`127.0.0.1:${port}`),
        attempts: `${task(first, "readOrders")!.attempts} run attempt, 2 SDK attempts`,
        retriedAsConfigured: task(first, "readOrders")!.attempts === 1,
        independentFinished: task(first, "independent")?.status === "done",
        checkpointsKept: task(fx.s3Pipeline.lastRun!, "independent")?.ranOn === "checkpoint",
        completed: value === `${fx.totals.uri} + independent done` && total === 60.5,
        partialOutputs: (written ? 1 : 0) + await tempLeftovers(".glacier"),
        notes: `failed after ${
          Math.round(detectMs)
        } ms naming 127.0.0.1:${port}; no totals object before resume`,
      };
    } finally {
      Deno.env.delete("AWS_MAX_ATTEMPTS");
      restore();
      await s3.stop();
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },

  async "S3 throttling"() {
    const dir = await Deno.makeTempDir();
    const s3 = await startS3rver({ buckets: ["fault-lake"] });
    const proxy = startFaultProxy(s3.endpoint, 2);
    const restore = useS3rverEnv(proxy.endpoint);
    try {
      const table = tableFromArrays({ id: Int32Array.of(1, 2), amount: Float64Array.of(5, 7) });
      const csv = "id,amount\n" + [...table].map((r) => `${r.id},${r.amount}`).join("\n") + "\n";
      await fx.rawOrders.put(csv); // the first two requests are refused with 503 SlowDown
      const value = await fx.s3Pipeline.run({ ...quiet, params: { dir } });
      return {
        fault: "S3 answers 503 SlowDown to the first two requests",
        detected: proxy.refused === 2,
        attempts: `${proxy.refused} refused, ${proxy.forwarded} passed`,
        retriedAsConfigured: proxy.forwarded > 0,
        independentFinished: task(fx.s3Pipeline.lastRun!, "independent")?.status === "done",
        checkpointsKept: true,
        completed: value === `${fx.totals.uri} + independent done`,
        partialOutputs: await tempLeftovers(".glacier"),
        notes: "the SDK's own retry with backoff absorbed the throttling",
      };
    } finally {
      restore();
      await proxy.stop();
      await s3.stop();
    }
  },

  async "load: 10,000-task dynamic fan-out"() {
    const n = 10_000;
    let peak = Deno.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 25);
    const started = performance.now();
    try {
      const value = await fx.fanOut.run({ ...quiet, params: { n } });
      const expected = ((n - 1) * n * (2 * n - 1)) / 6;
      const report = fx.fanOut.lastRun!;
      return {
        fault: `${n.toLocaleString("en")} calls from one runtime list on the pool`,
        detected: true,
        attempts: "n/a",
        retriedAsConfigured: true,
        independentFinished: report.tasks.filter((t) => t.status === "done").length === n + 2,
        checkpointsKept: true,
        completed: value === expected,
        partialOutputs: await tempLeftovers(".glacier"),
        notes: `${Math.round(performance.now() - started)} ms, peak RSS of this process ${
          Math.round(peak / 2 ** 20)
        } MiB`,
      };
    } finally {
      clearInterval(sampler);
    }
  },
};

// The Lambda rows share one s3rver, one emulator and one built artifact (the
// slow part); they run after the others, since the fixture wires its own S3
// store and Lambda executor into this process.
let shared: Promise<CloudFixture> | undefined;

function cloud(): Promise<CloudFixture> {
  return shared ??= (async () => {
    const fx = await startCloudFixture();
    // The fan-out pipeline's own function, from its own artifact.
    const built = (await buildLambdaArtifacts(lambdaFanOut)).find((a) => a.resource === echo.resource.name)!;
    const key = `code/${built.functionName}.zip`;
    await fx.store.put(STAGING_BUCKET, key, await Deno.readFile(built.path));
    await createFunction(fx.client, built.functionName, { S3Bucket: STAGING_BUCKET, S3Key: key }, {
      timeout: 60,
      memory: 256,
    });
    return fx;
  })();
}

/** Stops what the Lambda, SSH and Databricks rows started. */
export async function stopShared(): Promise<void> {
  if (shared) await (await shared).stop();
  shared = undefined;
  if (sshServer) {
    await (await sshServer).stop();
    Deno.env.delete("GLACIER_TEST_SSH");
  }
  sshServer = undefined;
}

const cloudRun = { mode: "cloud", quiet: true } as const;

export const lambdaScenarios: Record<string, () => Promise<Figures>> = {
  async "Lambda throttling"() {
    const fx = await cloud();
    fx.emulator.throttle(fx.built.functionName, 2);
    const value = await lambdaPipeline.run({ ...cloudRun, wiring: fx.wiring, params: { rows: 4 } });
    const report = lambdaPipeline.lastRun!;
    const scale = task(report, "scale")!;
    return {
      fault: "Invoke answers 429 TooManyRequestsException twice (retries: 2)",
      detected: scale.attempts === 3,
      attempts: `${scale.attempts} of 3 allowed`,
      retriedAsConfigured: scale.attempts <= 3,
      independentFinished: task(report, "make")?.status === "done",
      checkpointsKept: true,
      completed: value === 12,
      partialOutputs: await tempLeftovers(".glacier"),
      notes: "retried with backoff and jitter within the task's retries",
    };
  },

  async "Lambda FunctionError"() {
    const fx = await cloud();
    const started = performance.now();
    const error = await lambdaPipeline.run({ ...cloudRun, wiring: fx.wiring, params: { fail: true } }).then(
      () => undefined,
      (e) => e,
    );
    const report = lambdaPipeline.lastRun!;
    const first = report.runId;
    const value = await lambdaPipeline.run({ ...cloudRun, wiring: fx.wiring, params: { rows: 10 } });
    return {
      fault: "the task throws on Lambda every time (retries: 2)",
      detected: error instanceof TaskError && /Remote stack/.test(error.stack ?? "") && error.attempt === 3,
      attempts: `${(error as TaskError).attempt} of 3 allowed`,
      retriedAsConfigured: (error as TaskError).attempt === 3,
      independentFinished: task(report, "make")?.status === "done",
      checkpointsKept: (await readJournal(join(".glacier", "runs"), first)).get("make")?.checkpoint === first,
      completed: value === 90,
      partialOutputs: await tempLeftovers(".glacier"),
      notes: `remote RangeError with its stack and log tail after ${
        Math.round(performance.now() - started)
      } ms`,
    };
  },

  async "Lambda emulator killed mid-invoke"() {
    const fx = await cloud();
    const port = freePort();
    const gate = join(await Deno.makeTempDir(), "gate");
    let emulator = await spawnEmulator(port, fx);
    fx.useLambdaEndpoint(`http://127.0.0.1:${port}`);
    try {
      const run = lambdaPipeline.run({ ...cloudRun, wiring: fx.wiring, params: { gate } }).then(
        () => undefined,
        (e) => e,
      );
      await waitForFile(`${gate}.started`);
      emulator.kill("SIGKILL");
      await emulator.status;
      const error = await run;
      await Deno.writeTextFile(gate, "");
      const first = lambdaPipeline.lastRun!;
      emulator = await spawnEmulator(port, fx);
      const value = await lambdaPipeline.run({ ...cloudRun, wiring: fx.wiring, resume: true });
      const second = lambdaPipeline.lastRun!;
      return {
        fault: "the Lambda service process is killed while a task runs, then restarted",
        detected: (error as TaskError)?.code === "SYSTEM:LAMBDA_UNREACHABLE" &&
          (error as Error).message.includes(`127.0.0.1:${port}`),
        attempts: `${task(first, "scale")!.attempts} of 3 allowed`,
        retriedAsConfigured: task(first, "scale")!.attempts <= 3,
        independentFinished: task(first, "make")?.status === "done",
        checkpointsKept: task(second, "make")?.ranOn === "checkpoint",
        completed: value === 90 && second.resumedFrom === first.runId,
        partialOutputs: await tempLeftovers(".glacier"),
        notes: "resume re-ran only scale and total",
      };
    } finally {
      try {
        emulator.kill("SIGTERM");
      } catch { /* already gone */ }
      await emulator.status;
      fx.useLambdaEndpoint(fx.emulator.endpoint);
    }
  },

  async "load: 500 concurrent Lambda invocations"() {
    const fx = await cloud();
    const n = 500;
    let peak = Deno.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 25);
    const started = performance.now();
    try {
      const value = await lambdaFanOut.run({ ...cloudRun, wiring: fx.wiring, params: { n } });
      const report = lambdaFanOut.lastRun!;
      return {
        fault: `${n} Lambda calls in flight at once (LambdaConfig concurrency 500; 4 sandboxes)`,
        detected: true,
        attempts: "n/a",
        retriedAsConfigured: true,
        independentFinished: report.tasks.filter((t) =>
          t.status === "done" && t.ranOn === "lambda"
        ).length === n,
        checkpointsKept: true,
        completed: value === (n * (n - 1)) / 2,
        partialOutputs: await tempLeftovers(".glacier"),
        notes: `${Math.round(performance.now() - started)} ms, peak RSS of this process ${
          Math.round(peak / 2 ** 20)
        } MiB`,
      };
    } finally {
      clearInterval(sampler);
    }
  },
};

// The SSH and Databricks rows: a real OpenSSH server per row, and one s3rver
// and one Databricks Jobs API emulator (running the real cluster launcher)
// for the Databricks row, all started and stopped here.
const DATABRICKS_TOKEN = `dapi-faults-${crypto.randomUUID()}`;

async function waitForCount(dir: string, prefix: string, n: number): Promise<void> {
  for (;;) {
    let count = 0;
    for await (const entry of Deno.readDir(dir)) if (entry.name.startsWith(prefix)) count++;
    if (count >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// One OpenSSH server for both SSH rows: the fixture reads its port at import.
let sshServer: Promise<Sshd> | undefined;

function sshd(): Promise<Sshd> {
  return sshServer ??= startSshd().then((server) => {
    Deno.env.set(
      "GLACIER_TEST_SSH",
      JSON.stringify({
        host: server.host,
        port: server.port,
        user: server.user,
        keyFile: server.keyFile,
        knownHostsFile: server.knownHostsFile,
        deno: Deno.execPath(),
      }),
    );
    return server;
  });
}

// Imported on first use, once GLACIER_TEST_SSH is set: the VM config is read at import.
function remote() {
  return import("../fixtures/fault_remote_tasks.ts");
}

export const remoteScenarios: Record<string, () => Promise<Figures>> = {
  async "SSH connection drop"() {
    const server = await sshd();
    const { sshPipeline } = await remote();
    const dir = await Deno.makeTempDir();
    const run = sshPipeline.run({ ...cloudRun, params: { dir } });
    await waitForCount(dir, "started-", 1);
    const dropped = await server.dropSessions(); // the connection and its remote process die
    await waitForCount(dir, "started-", 2); // the retry connected again
    await Deno.writeTextFile(join(dir, "open"), "");
    const value = await run.catch((e) => `failed: ${e.message}`);
    const report = sshPipeline.lastRun!;
    const gated = task(report, "gated")!;
    return {
      fault: "the SSH session (and the task under it) is killed while the task runs (retries: 1)",
      detected: gated.attempts === 2 && dropped > 0,
      attempts: `${gated.attempts} of 2 allowed`,
      retriedAsConfigured: gated.attempts === 2,
      independentFinished: task(report, "independent")?.status === "done",
      checkpointsKept: true,
      completed: value === "ran on the VM + independent done",
      partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
      notes: `${dropped} session processes killed; the retry opened a new connection; no resume needed`,
    };
  },

  async "VM down and back"() {
    const server = await sshd();
    const { sshPipeline } = await remote();
    const dir = await Deno.makeTempDir();
    const started = performance.now();
    const run = sshPipeline.run({ ...cloudRun, params: { dir } }).then(() => undefined, (e) => e);
    await waitForCount(dir, "started-", 1);
    await server.kill(); // the server and every session: the retry finds nothing listening
    const error = await run as GlacierError | undefined;
    const detectMs = performance.now() - started;
    const first = sshPipeline.lastRun!;
    await server.restart();
    await Deno.writeTextFile(join(dir, "open"), "");
    const value = await sshPipeline.run({ ...cloudRun, resume: true }).catch((e) => `failed: ${e.message}`);
    const second = sshPipeline.lastRun!;
    const gated = task(first, "gated")!;
    return {
      fault: "the VM's SSH server dies with the task's session, and comes back on the same port",
      detected: error?.code === "SYSTEM:SSH_CONNECT" && error.message.includes(`${server.port}`),
      attempts: `${gated.attempts} of 2 allowed`,
      retriedAsConfigured: gated.attempts === 2,
      independentFinished: task(first, "independent")?.status === "done",
      checkpointsKept: task(second, "independent")?.ranOn === "checkpoint",
      completed: value === "ran on the VM + independent done" && second.resumedFrom === first.runId,
      partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
      notes: `SYSTEM:SSH_CONNECT naming port ${server.port} after ${
        Math.round(detectMs)
      } ms; resume re-ran gated only`,
    };
  },

  async "Databricks run failure"() {
    const s3 = await startS3rver({ buckets: ["glacier-staging"] });
    const restoreS3 = useS3rverEnv(s3.endpoint);
    const emulator = await startDatabricksEmulator({ token: DATABRICKS_TOKEN });
    const old = { host: Deno.env.get("DATABRICKS_HOST"), token: Deno.env.get("DATABRICKS_TOKEN") };
    Deno.env.set("DATABRICKS_HOST", emulator.host);
    Deno.env.set("DATABRICKS_TOKEN", DATABRICKS_TOKEN);
    try {
      const { databricksPipeline } = await remote();
      const dir = await Deno.makeTempDir();
      const started = performance.now();
      const error = await databricksPipeline.run({ ...cloudRun, params: { dir, failures: 2 } }).then(
        () => undefined,
        (e) => e as TaskError,
      );
      const detectMs = performance.now() - started;
      const first = databricksPipeline.lastRun!;
      const value = await databricksPipeline.run({ ...cloudRun, resume: true }).catch((e) =>
        `failed: ${e.message}`
      );
      const second = databricksPipeline.lastRun!;
      const score = task(first, "scoreOnCluster")!;
      const failedRuns = [...emulator.runs.values()].filter((r) => r.resultState === "FAILED").length;
      const leaked = [JSON.stringify(first), JSON.stringify(second), error?.stack ?? ""].some((s) =>
        s.includes(DATABRICKS_TOKEN)
      );
      return {
        fault: "the task's Databricks run fails on the cluster twice (retries: 1), then succeeds",
        detected: error instanceof TaskError && /model input has 3 NaN rows/.test(error.message) &&
          /Remote stack/.test(error.stack ?? "") && failedRuns === 2 && !leaked,
        attempts: `${score.attempts} of 2 allowed`,
        retriedAsConfigured: score.attempts === 2,
        independentFinished: task(first, "independent")?.status === "done",
        checkpointsKept: task(second, "independent")?.ranOn === "checkpoint",
        completed: value === "scored on the cluster + independent done" && second.resumedFrom === first.runId,
        partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
        notes: `${failedRuns} FAILED runs; remote RangeError with its stack after ${
          Math.round(detectMs)
        } ms; the token in no report or error`,
      };
    } finally {
      old.host === undefined ? Deno.env.delete("DATABRICKS_HOST") : Deno.env.set("DATABRICKS_HOST", old.host);
      old.token === undefined
        ? Deno.env.delete("DATABRICKS_TOKEN")
        : Deno.env.set("DATABRICKS_TOKEN", old.token);
      await emulator.stop();
      closeS3Stores();
      restoreS3();
      await s3.stop();
    }
  },
};
