// The fault scenarios: each injects one fault into a real run and measures
// what happened. tests/faults/faults_test.ts asserts on the figures;
// `deno task faults` writes them to tests/faults/RESULTS.md.
import { join } from "node:path";
import type { GlacierError, Pipeline, RunReport } from "../../mod.ts";
import * as fx from "../fixtures/fault_tasks.ts";
import { startS3rver, useS3rverEnv } from "../support/s3rver.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { tableFromArrays } from "apache-arrow";

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
  const checkpoint = join(".glacier", "checkpoints", first.runId, "independent.bin");
  const value = await p.run({ ...quiet, resume: true }).catch((e) => `resume failed: ${e.message}`);
  const second = p.lastRun!;
  const calls = task(first, faulty)!;
  return {
    fault,
    detected: error?.code === code,
    attempts: `${calls.attempts} of 1 allowed`,
    retriedAsConfigured: calls.attempts === 1,
    independentFinished: task(first, "independent")?.status === "done",
    checkpointsKept: await exists(checkpoint) && task(second, "independent")?.ranOn === "checkpoint",
    completed: value === expected && second.resumedFrom === first.runId,
    partialOutputs: await tempLeftovers(".glacier") + await tempLeftovers(dir),
    notes: `${code} after ${Math.round(detectMs)} ms`,
  };
}

export const scenarios: Record<string, () => Promise<Figures>> = {
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
      const total = (await fx.totals.scan()).getChild("total")!.get(0);
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
