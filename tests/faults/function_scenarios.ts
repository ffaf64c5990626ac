// The fault rows of the HTTP function executors: a Cloud Run function (the
// local Cloud Run functions service running the real artifact under node and
// Deno) and an Azure function app (the local Functions host running the real
// custom handler), each with the fixture pipeline make (local) → scale
// (remote, retries: 2) → total (local).
import { join } from "node:path";
import { readJournal } from "../../src/run/journal.ts";
import { type Pipeline, TaskError } from "../../mod.ts";
import type { RunReport } from "../../mod.ts";
import { buildLambdaArtifacts } from "../../executors/lambda/build.ts";
import { startCloudFunctionsEmulator } from "../support/cloud_functions_emulator.ts";
import { startAzureFunctionsEmulator } from "../support/azure_functions_emulator.ts";
import { freePort } from "../support/_function_host.ts";
import { gcpPipeline } from "../executors/cloud_function/fixtures/gcp_pipeline.ts";
import { azurePipeline } from "../executors/azure_function/fixtures/azure_pipeline.ts";
import type { Figures } from "./scenarios.ts";

interface Host {
  endpoint: string;
  urlTemplate: string;
  deploy(name: string, zip: string): Promise<void>;
  throttle(name: string, n: number): void;
  failService(name: string, n: number): void;
  stop(): Promise<void>;
}

interface Service {
  label: string;
  pipeline: Pipeline;
  app: string;
  urlVar: string;
  code: string;
  start(options: { port?: number; dir?: string }): Promise<Host>;
  auth(host: Host): Record<string, string>;
}

const SERVICES: Service[] = [
  {
    label: "Cloud Run function",
    pipeline: gcpPipeline,
    app: "glacier-gcp-fixture-fn",
    urlVar: "GLACIER_CLOUD_FUNCTIONS_URL",
    code: "CLOUD_FUNCTION",
    start: ({ port, dir }) =>
      startCloudFunctionsEmulator({ port, functionsDir: dir, token: "faults-id-token" }),
    auth: () => ({ GOOGLE_ID_TOKEN: "faults-id-token" }),
  },
  {
    label: "Azure function app",
    pipeline: azurePipeline,
    app: "glacier-azure-fixture-fn",
    urlVar: "GLACIER_AZURE_FUNCTIONS_URL",
    code: "AZURE_FUNCTION",
    start: ({ port, dir }) => startAzureFunctionsEmulator({ port, appsDir: dir, functionKey: "faults-key" }),
    auth: () => ({ AZURE_FUNCTIONS_KEY: "faults-key", AZURE_ACCESS_TOKEN: "" }),
  },
];

const cloudRun = { mode: "cloud", quiet: true } as const;
const scaleOf = (r: RunReport) => r.tasks.find((t) => t.task === "scale")!;
const makeOf = (r: RunReport) => r.tasks.find((t) => t.task === "make");

function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) v === "" ? Deno.env.delete(k) : Deno.env.set(k, v);
}

function rows(s: Service): Record<string, () => Promise<Figures>> {
  let zip: Promise<string> | undefined;
  const artifact = () => zip ??= buildLambdaArtifacts(s.pipeline).then(([b]) => b.path);
  const withHost = async <T>(fn: (host: Host) => Promise<T>): Promise<T> => {
    const host = await s.start({});
    await host.deploy(s.app, await artifact());
    setEnv({ ...s.auth(host), [s.urlVar]: host.urlTemplate });
    try {
      return await fn(host);
    } finally {
      await host.stop();
    }
  };
  return {
    async [`${s.label}: throttling and 5xx`]() {
      return await withHost(async (host) => {
        host.throttle(s.app, 1);
        host.failService(s.app, 1);
        const value = await s.pipeline.run({ ...cloudRun, params: { rows: 4 } });
        const report = s.pipeline.lastRun!;
        return {
          fault: "the function answers 429 once, then 503 once (retries: 2)",
          detected: scaleOf(report).attempts === 3,
          attempts: `${scaleOf(report).attempts} of 3 allowed`,
          retriedAsConfigured: scaleOf(report).attempts === 3,
          independentFinished: makeOf(report)?.status === "done",
          checkpointsKept: true,
          completed: value === 12,
          partialOutputs: 0,
          notes: "retried with backoff and jitter within the task's retries",
        };
      });
    },
    async [`${s.label}: function error`]() {
      return await withHost(async () => {
        const started = performance.now();
        const error = await s.pipeline.run({ ...cloudRun, params: { fail: true } }).then(
          () => undefined,
          (e) => e,
        );
        const report = s.pipeline.lastRun!;
        const value = await s.pipeline.run({ ...cloudRun, params: { rows: 10 } });
        return {
          fault: "the task throws in the function every time (retries: 2)",
          detected: error instanceof TaskError && /Remote stack/.test(error.stack ?? "") &&
            /RangeError/.test(error.stack ?? ""),
          attempts: `${(error as TaskError).attempt} of 3 allowed`,
          retriedAsConfigured: (error as TaskError).attempt === 3,
          independentFinished: makeOf(report)?.status === "done",
          checkpointsKept:
            (await readJournal(join(".glacier", "runs"), report.runId)).get("make")?.checkpoint ===
              report.runId,
          completed: value === 90,
          partialOutputs: 0,
          notes: `remote RangeError with its stack after ${Math.round(performance.now() - started)} ms`,
        };
      });
    },
    async [`${s.label}: endpoint down and back, resume`]() {
      const port = freePort();
      const dir = await Deno.makeTempDir();
      const first = await s.start({ dir });
      await first.deploy(s.app, await artifact());
      await first.stop(); // deployed, then the service goes away
      setEnv({ ...s.auth(first), [s.urlVar]: `http://127.0.0.1:${port}/{name}` });
      const error = await s.pipeline.run({ ...cloudRun, params: { rows: 10 } }).then(
        () => undefined,
        (e) => e,
      );
      const failed = s.pipeline.lastRun!;
      const back = await s.start({ port, dir });
      try {
        const value = await s.pipeline.run({ ...cloudRun, resume: true });
        const second = s.pipeline.lastRun!;
        return {
          fault: "the service's endpoint is down for the whole run, then comes back on the same port",
          detected: (error as TaskError)?.code === `SYSTEM:${s.code}_UNREACHABLE` &&
            (error as Error).message.includes(`127.0.0.1:${port}`),
          attempts: `${scaleOf(failed).attempts} of 3 allowed`,
          retriedAsConfigured: scaleOf(failed).attempts === 3,
          independentFinished: makeOf(failed)?.status === "done",
          checkpointsKept: makeOf(second)?.ranOn === "checkpoint",
          completed: value === 90 && second.resumedFrom === failed.runId,
          partialOutputs: 0,
          notes: "unreachable named with its port; resume re-ran only scale and total",
        };
      } finally {
        await back.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** The Cloud Run function and Azure function app rows. */
export const functionScenarios: Record<string, () => Promise<Figures>> = Object.assign(
  {},
  ...SERVICES.map(rows),
);
