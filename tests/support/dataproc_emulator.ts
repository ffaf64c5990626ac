/**
 * A Dataproc v1 jobs API emulator for tests, over real HTTP on 127.0.0.1:
 * `POST /v1/projects/<p>/regions/<r>/jobs:submit`, `GET …/jobs/<jobId>` and
 * `POST …/jobs/<jobId>:cancel`. A submitted `pysparkJob` runs for real, as
 * the primary node would run its driver: the main Python file is downloaded
 * from its `gs://` URI (through the Cloud Storage store, so
 * `STORAGE_EMULATOR_HOST` must point at a GCS emulator) and run as
 * `python3 <file> <args…>` in its own process group, with Deno on `PATH` —
 * Glacier's Python launcher then runs the real `deno run -A launcher.ts`.
 * A failed job's `status.details` is `Job failed with message [<first stderr
 * line>]…`, as Dataproc words it. Cancel kills the whole process group.
 * Requests without the expected bearer token get 401; a repeated `requestId`
 * returns the job it created.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { createGcsStore } from "../../stores/gcs.ts";

/** One job the emulator knows. */
export interface EmulatedJob {
  /** The job id. */
  readonly jobId: string;
  /** The submitted request body. */
  readonly body: Record<string, unknown>;
  /** `PENDING`, `SETUP_DONE`, `RUNNING`, `DONE`, `ERROR`, `CANCEL_PENDING`, `CANCELLED`. */
  state: string;
  /** `status.details`, once failed. */
  details?: string;
  /** The driver's process id (its process group), once started. */
  pid?: number;
  /** Whether the driver has exited and been reaped. */
  exited: boolean;
  /** The driver's stderr. */
  stderr: string;
  /** When `jobs.get` was called for it, in ms since the epoch. */
  readonly polls: number[];
}

/** A failure the emulator answers instead of the real thing. */
export interface DataprocFault {
  /** `jobs:submit`, `jobs.get` or `jobs:cancel`. */
  readonly endpoint: string;
  /** The HTTP status. */
  readonly status: number;
  /** How many requests it answers. @default {1} */
  times?: number;
}

/** A running emulator. */
export interface DataprocEmulator {
  /** The endpoint, such as `http://127.0.0.1:53211`. */
  readonly endpoint: string;
  /** Every job, by id. */
  readonly jobs: Map<string, EmulatedJob>;
  /** The job ids `jobs:cancel` was called for. */
  readonly cancels: string[];
  /** Every request line, header and body, as received, for leak checks. */
  readonly requests: string[];
  /** Answers the next requests to an endpoint with an error. */
  inject(fault: DataprocFault): void;
  /** Stops the server and kills every driver still going. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startDataprocEmulator}. */
export interface DataprocEmulatorOptions {
  /** The bearer token to accept. */
  readonly token: string;
  /** The project. */
  readonly project: string;
  /** The region. */
  readonly region: string;
  /** The clusters that exist. */
  readonly clusters: readonly string[];
  /** Jobs stay `PENDING` this many polls before starting. @default {0} */
  readonly pendingPolls?: number;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const apiError = (status: number, state: string, message: string) =>
  json(status, { error: { code: status, message, status: state } });

/**
 * The live (not zombie) processes of a process group, from /proc.
 *
 * @param pgid The group's id.
 * @returns Their ids.
 */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // pid (comm) state ppid pgrp …; comm may hold spaces, so read after the last ")".
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") out.push(Number(entry.name));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Starts the emulator on a free port.
 *
 * @param options The token, project, region and clusters.
 * @returns The running emulator.
 */
export function startDataprocEmulator(options: DataprocEmulatorOptions): Promise<DataprocEmulator> {
  const jobs = new Map<string, EmulatedJob>();
  const byRequest = new Map<string, EmulatedJob>();
  const children = new Map<string, Deno.ChildProcess>();
  const cancels: string[] = [];
  const requests: string[] = [];
  const faults: DataprocFault[] = [];
  const work: Promise<unknown>[] = [];
  const base = `/v1/projects/${options.project}/regions/${options.region}/jobs`;

  const launch = (job: EmulatedJob) =>
    work.push(
      start(job).catch((error) => {
        job.state = "ERROR";
        job.details = `Job failed with message [the emulator could not start it: ${error}]`;
      }),
    );

  const killGroup = async (job: EmulatedJob) => {
    const child = children.get(job.jobId);
    if (!child) return;
    try {
      Deno.kill(-child.pid, "SIGKILL"); // the driver and the Deno it started
    } catch { /* already gone */ }
    await child.status.catch(() => {});
    // SIGKILL lands asynchronously: wait until no live process is left in the group
    // and the driver's end is recorded (its stderr closes after the last holder dies).
    for (let i = 0; i < 500 && (groupMembers(child.pid).length > 0 || !job.exited); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  const start = async (job: EmulatedJob) => {
    job.state = "SETUP_DONE";
    const spec =
      (job.body.job as { pysparkJob?: { mainPythonFileUri?: string; args?: string[] } }).pysparkJob;
    const uri = /^gs:\/\/([^/]+)\/(.+)$/.exec(spec?.mainPythonFileUri ?? "");
    if (!uri) {
      job.state = "ERROR";
      job.details =
        `Job failed with message [mainPythonFileUri ${spec?.mainPythonFileUri} is not a gs:// URI]`;
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "glacier-dataproc-driver-" });
    const main = join(dir, uri[2].split("/").at(-1)!);
    try {
      await Deno.writeFile(main, await createGcsStore(undefined).get(uri[1], uri[2]));
    } catch (error) {
      job.state = "ERROR";
      job.details = `Job failed with message [Cannot read ${spec?.mainPythonFileUri}: ${error}]`;
      return;
    }
    if (job.state !== "SETUP_DONE") return; // cancelled meanwhile
    const env = Object.fromEntries(
      // A cluster never sees the caller's credentials or the API's endpoint.
      Object.entries(Deno.env.toObject()).filter(([k]) =>
        k !== "GOOGLE_OAUTH_ACCESS_TOKEN" && !k.startsWith("GLACIER_DATAPROC")
      ),
    );
    env.PATH = `${dirname(Deno.execPath())}:${env.PATH ?? "/usr/bin:/bin"}`;
    // setsid: the driver leads its own process group, so cancel can kill the whole tree.
    const child = new Deno.Command("setsid", {
      args: ["python3", main, ...(spec?.args ?? [])],
      clearEnv: true,
      env,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    job.state = "RUNNING";
    job.pid = child.pid;
    children.set(job.jobId, child);
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    job.stderr = stderr;
    job.exited = true;
    children.delete(job.jobId);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (job.state !== "RUNNING") return;
    if (status.success) {
      job.state = "DONE";
      return;
    }
    const first = stderr.split("\n").find((l) => l.trim() !== "") ?? `exit code ${status.code}`;
    job.state = "ERROR";
    job.details =
      `Job failed with message [${first}]. Additional details can be found at:\ngs://dataproc-staging/google-cloud-dataproc-metainfo/jobs/${job.jobId}/driveroutput`;
  };

  const view = (job: EmulatedJob) => {
    const request = job.body.job as Record<string, unknown>;
    return {
      ...request,
      reference: { projectId: options.project, jobId: job.jobId },
      status: { state: job.state, ...(job.details ? { details: job.details } : {}) },
      driverOutputResourceUri:
        `gs://dataproc-staging/google-cloud-dataproc-metainfo/jobs/${job.jobId}/driveroutput`,
      done: ["DONE", "ERROR", "CANCELLED"].includes(job.state),
    };
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const text = await request.text();
    requests.push(`${request.method} ${url.pathname} ${JSON.stringify([...request.headers])} ${text}`);
    if (request.headers.get("authorization") !== `Bearer ${options.token}`) {
      return apiError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
      );
    }
    if (!url.pathname.startsWith(base)) {
      return apiError(404, "NOT_FOUND", `Not found: ${url.pathname}`);
    }
    const rest = url.pathname.slice(base.length);
    const endpoint = rest === ":submit"
      ? "jobs:submit"
      : rest.endsWith(":cancel")
      ? "jobs:cancel"
      : "jobs.get";
    const fault = faults.find((f) => f.endpoint === endpoint);
    if (fault) {
      if (--fault.times! <= 0) faults.splice(faults.indexOf(fault), 1);
      return apiError(fault.status, "UNAVAILABLE", "Injected failure.");
    }
    if (request.method === "POST" && endpoint === "jobs:submit") {
      const body = JSON.parse(text);
      const again = byRequest.get(body.requestId);
      if (again) return json(200, view(again));
      const cluster = body.job?.placement?.clusterName;
      if (!options.clusters.includes(cluster)) {
        return apiError(
          404,
          "NOT_FOUND",
          `Not found: Cluster projects/${options.project}/regions/${options.region}/clusters/${cluster}`,
        );
      }
      const jobId = body.job?.reference?.jobId ?? crypto.randomUUID();
      if (jobs.has(jobId)) return apiError(409, "ALREADY_EXISTS", `Already exists: Job ${jobId}`);
      const job: EmulatedJob = { jobId, body, state: "PENDING", exited: false, stderr: "", polls: [] };
      jobs.set(jobId, job);
      if (body.requestId) byRequest.set(body.requestId, job);
      if (!options.pendingPolls) launch(job);
      return json(200, view(job));
    }
    const jobId = decodeURIComponent(rest.replace(/^\//, "").replace(/:cancel$/, ""));
    const job = jobs.get(jobId);
    if (!job) {
      return apiError(
        404,
        "NOT_FOUND",
        `Not found: Job projects/${options.project}/regions/${options.region}/jobs/${jobId}`,
      );
    }
    if (request.method === "GET" && endpoint === "jobs.get") {
      job.polls.push(Date.now());
      if (job.state === "PENDING" && job.polls.length > (options.pendingPolls ?? 0)) launch(job);
      return json(200, view(job));
    }
    if (request.method === "POST" && endpoint === "jobs:cancel") {
      cancels.push(jobId);
      if (!["DONE", "ERROR", "CANCELLED"].includes(job.state)) {
        job.state = "CANCEL_PENDING";
        await killGroup(job);
        job.state = "CANCELLED";
      }
      return json(200, view(job));
    }
    return apiError(405, "INVALID_ARGUMENT", `${request.method} ${url.pathname} is not supported`);
  };

  return new Promise((resolve) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    const { port } = server.addr as Deno.NetAddr;
    resolve({
      endpoint: `http://127.0.0.1:${port}`,
      jobs,
      cancels,
      requests,
      inject(fault) {
        faults.push({ ...fault, times: fault.times ?? 1 });
      },
      async stop() {
        for (const job of jobs.values()) {
          if (!job.exited) job.state = "CANCELLED";
          await killGroup(job);
        }
        await Promise.allSettled(work);
        await server.shutdown();
      },
    });
  });
}
