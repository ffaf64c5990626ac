/**
 * A Databricks Jobs API 2.1 emulator for tests, over real HTTP on 127.0.0.1:
 * `POST /api/2.1/jobs/runs/submit`, `GET /api/2.1/jobs/runs/get`,
 * `GET /api/2.1/jobs/runs/get-output` and `POST /api/2.1/jobs/runs/cancel`.
 * A submitted run's `spark_python_task` runs its real `python_file` with
 * `python3` when the workspace holds it (as a deployed pipeline's does: the
 * generated launcher and the built artifact); in a workspace without it, the
 * cluster launcher the Python file would reach (`deno run -A
 * executors/cluster/launcher.ts <payloadUri> <resultUri> <config>`, the last
 * three parameters). A failed run's `error` is the Python exception (the
 * last line of its stderr) or the launcher's first line, and `error_trace`
 * all of it.
 * Cancel kills the subprocess. Requests without the expected bearer token
 * get 401.
 *
 * Jobs: `POST /api/2.1/jobs/create`, `GET /api/2.1/jobs/list?name=` and
 * `POST /api/2.1/jobs/run-now` (a repeated `idempotency_token` gets the
 * run it started back), which substitutes the run's
 * `job_parameters` into `{{job.parameters.<name>}}` of the job's task
 * parameters and runs its `spark_python_task` for real: `python3
 * <python_file> <parameters>`, with workspace paths (`/Workspace/Shared/…`,
 * `/Shared/…`) mapped into `workspaceDir`. A failed job run's `error` is the
 * last line of its stderr (the Python exception, as Databricks reports it).
 *
 * @module
 */
import { existsSync } from "node:fs";

/** One run the emulator knows. */
export interface EmulatedRun {
  /** The run's id. */
  readonly runId: number;
  /** The id of its one task run (what `get-output` takes). */
  readonly taskRunId: number;
  /** The submitted body. */
  readonly body: Record<string, unknown>;
  /** `PENDING`, `RUNNING`, `TERMINATED`, `INTERNAL_ERROR`, … */
  lifeCycleState: string;
  /** `SUCCESS`, `FAILED`, `CANCELED`, … once terminated. */
  resultState?: string;
  /** The subprocess's id, once started. */
  pid?: number;
  /** Whether its subprocess has exited (and been reaped). */
  exited: boolean;
  /** The subprocess's stderr. */
  stderr: string;
  /** Whether the run's Python file ran (its error is the Python exception, the last stderr line). */
  python?: boolean;
  /** For a run of a job (run-now): the job's id. */
  readonly jobId?: number;
  /** For a run of a job: its job parameters, as given or defaulted. */
  readonly jobParameters?: Record<string, string>;
  /** When `runs/get` was called for it, in ms since the epoch. */
  readonly polls: number[];
}

/** A failure the emulator answers instead of the real thing. */
export interface DatabricksFault {
  /** The endpoint, such as `runs/submit`. */
  readonly endpoint: string;
  /** The HTTP status. */
  readonly status: number;
  /** How many requests it answers. @default {1} */
  times?: number;
}

/** A running emulator. */
export interface DatabricksEmulator {
  /** The workspace URL, such as `http://127.0.0.1:53211`. */
  readonly host: string;
  /** Every run, by id. */
  readonly runs: Map<number, EmulatedRun>;
  /** Every job `jobs/create` made, by id: its settings. */
  readonly jobs: Map<number, Record<string, unknown>>;
  /** The run ids `runs/cancel` was called for. */
  readonly cancels: number[];
  /** Every request line and header, as received, for leak checks. */
  readonly requests: string[];
  /** Answers the next requests to an endpoint with an error. */
  inject(fault: DatabricksFault): void;
  /** Stops the server and kills every run still going. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startDatabricksEmulator}. */
export interface DatabricksEmulatorOptions {
  /** The bearer token to accept. */
  readonly token: string;
  /** The environment of run subprocesses, without `DATABRICKS_*`. @default {this process's} */
  readonly env?: Record<string, string>;
  /** The launcher module. @default {executors/cluster/launcher.ts} */
  readonly launcher?: string;
  /** Runs stay `PENDING` this many polls before starting. @default {0} */
  readonly pendingPolls?: number;
  /** The local folder workspace paths map to: `/Workspace/Shared/x` and `/Shared/x` are `<workspaceDir>/Shared/x`. @default {a new temp folder} */
  readonly workspaceDir?: string;
}

/**
 * Starts the emulator on a free port.
 *
 * @param options The token and the runs' environment.
 * @returns The running emulator.
 */
export function startDatabricksEmulator(options: DatabricksEmulatorOptions): Promise<DatabricksEmulator> {
  const launcher = options.launcher ??
    new URL("../../executors/cluster/launcher.ts", import.meta.url).pathname;
  const runs = new Map<number, EmulatedRun>();
  const jobs = new Map<number, Record<string, unknown>>();
  const tokens = new Map<string, number>(); // run-now idempotency tokens → run ids
  const workspaceDir = options.workspaceDir ?? Deno.makeTempDirSync({ prefix: "glacier-workspace-" });
  const local = (path: string) =>
    path.startsWith("/") ? `${workspaceDir}${path.replace(/^\/Workspace\//, "/")}` : path;
  const children = new Map<number, Deno.ChildProcess>();
  const cancels: number[] = [];
  const requests: string[] = [];
  const faults: DatabricksFault[] = [];
  let nextId = 1000;

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

  const start = (run: EmulatedRun) => {
    const task = (run.body.tasks as
      | { spark_python_task?: { python_file?: string; parameters?: string[] } }[]
      | undefined)?.[0];
    const params = task?.spark_python_task?.parameters ?? [];
    // The real python_file when the workspace has it; else the Deno launcher it would run.
    const file = local(task?.spark_python_task?.python_file ?? "");
    const [command, args] = run.jobId !== undefined || existsSync(file)
      ? ["python3", [file, ...params.map(local)]]
      : [Deno.execPath(), ["run", "-A", launcher, ...params.slice(2)]];
    run.python = command === "python3";
    const child = new Deno.Command(command, {
      args,
      // A cluster never sees the caller's Databricks credentials.
      clearEnv: true,
      env: Object.fromEntries(
        Object.entries(options.env ?? Deno.env.toObject()).filter(([k]) => !k.startsWith("DATABRICKS_")),
      ),
      stdout: "null",
      stderr: "piped",
    }).spawn();
    run.lifeCycleState = "RUNNING";
    run.pid = child.pid;
    children.set(run.runId, child);
    (async () => {
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      run.stderr = stderr;
      run.exited = true;
      children.delete(run.runId);
      if (run.resultState === "CANCELED") return;
      run.lifeCycleState = "TERMINATED";
      run.resultState = status.success ? "SUCCESS" : "FAILED";
    })();
  };

  const addRun = (what: Pick<EmulatedRun, "body" | "jobId" | "jobParameters">): EmulatedRun => {
    const runId = ++nextId;
    const run: EmulatedRun = {
      ...what,
      runId,
      taskRunId: runId + 500_000,
      lifeCycleState: "PENDING",
      exited: false,
      stderr: "",
      polls: [],
    };
    runs.set(runId, run);
    if (!options.pendingPolls) start(run);
    return run;
  };

  const state = (run: EmulatedRun) => ({
    life_cycle_state: run.lifeCycleState,
    ...(run.resultState ? { result_state: run.resultState } : {}),
    state_message: run.resultState === "FAILED" ? "Workload failed, see run output for details" : "",
  });

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search} ${JSON.stringify([...request.headers])}`);
    if (request.headers.get("authorization") !== `Bearer ${options.token}`) {
      return json(401, { error_code: "UNAUTHENTICATED", message: "Invalid access token." });
    }
    const endpoint = url.pathname.replace("/api/2.1/jobs/", "");
    const fault = faults.find((f) => f.endpoint === endpoint);
    if (fault) {
      if (--fault.times! <= 0) faults.splice(faults.indexOf(fault), 1);
      await request.body?.cancel();
      return json(fault.status, { error_code: "TEMPORARILY_UNAVAILABLE", message: "Injected failure." });
    }
    const id = Number(url.searchParams.get("run_id"));
    switch (`${request.method} ${endpoint}`) {
      case "POST runs/submit": {
        const run = addRun({ body: await request.json() });
        return json(200, { run_id: run.runId });
      }
      case "POST create": {
        const settings = await request.json();
        const jobId = ++nextId;
        jobs.set(jobId, settings);
        return json(200, { job_id: jobId });
      }
      case "GET list": {
        const name = url.searchParams.get("name");
        const found = [...jobs].filter(([, settings]) => name === null || settings.name === name);
        return json(200, {
          ...(found.length ? { jobs: found.map(([job_id, settings]) => ({ job_id, settings })) } : {}),
          has_more: false,
        });
      }
      case "POST run-now": {
        const body = await request.json() as {
          job_id?: number;
          job_parameters?: Record<string, string>;
          idempotency_token?: string;
        };
        // A token already used answers with the run it started, as Databricks does.
        const again = body.idempotency_token ? tokens.get(body.idempotency_token) : undefined;
        if (again !== undefined) return json(200, { run_id: again, number_in_job: again });
        const settings = jobs.get(body.job_id ?? -1);
        if (!settings) {
          return json(400, {
            error_code: "INVALID_PARAMETER_VALUE",
            message: `Job ${body.job_id} does not exist.`,
          });
        }
        const defaults = (settings.parameters as { name: string; default: string }[] | undefined) ?? [];
        const values: Record<string, string> = {
          ...Object.fromEntries(defaults.map((p) => [p.name, p.default])),
          ...body.job_parameters,
        };
        // Databricks resolves dynamic value references before the task starts.
        const text = JSON.stringify(settings.tasks ?? []).replace(
          /\{\{job\.parameters\.([\w.-]+)\}\}/g,
          (_, name: string) => JSON.stringify(values[name] ?? "").slice(1, -1),
        );
        const run = addRun({
          body: { run_name: settings.name, tasks: JSON.parse(text) },
          jobId: body.job_id,
          jobParameters: values,
        });
        if (body.idempotency_token) tokens.set(body.idempotency_token, run.runId);
        return json(200, { run_id: run.runId, number_in_job: run.runId });
      }
      case "GET runs/get": {
        const run = runs.get(id);
        if (!run) {
          return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: `Run ${id} does not exist.` });
        }
        run.polls.push(Date.now());
        if (run.lifeCycleState === "PENDING" && run.polls.length > (options.pendingPolls ?? 0)) start(run);
        return json(200, {
          run_id: run.runId,
          ...(run.jobId !== undefined
            ? {
              job_id: run.jobId,
              run_name: run.body.run_name,
              job_parameters: Object.entries(run.jobParameters ?? {}).map(([name, value]) => ({
                name,
                value,
              })),
            }
            : {}),
          state: state(run),
          tasks: [{ run_id: run.taskRunId, task_key: "glacier", state: state(run) }],
        });
      }
      case "GET runs/get-output": {
        const run = [...runs.values()].find((r) => r.taskRunId === id);
        if (!run) {
          return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: `Run ${id} does not exist.` });
        }
        const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
        const error = (run.python ? lines.at(-1) : lines[0]) ?? "";
        return json(200, {
          metadata: { run_id: run.taskRunId, state: state(run) },
          ...(run.resultState === "FAILED" ? { error, error_trace: run.stderr } : {}),
        });
      }
      case "POST runs/cancel": {
        const { run_id } = await request.json();
        cancels.push(run_id);
        const run = runs.get(run_id);
        if (run && run.lifeCycleState !== "TERMINATED") {
          run.resultState = "CANCELED";
          run.lifeCycleState = "TERMINATING";
          const child = children.get(run_id);
          if (child) {
            try {
              child.kill("SIGKILL");
            } catch { /* already gone */ }
            await child.status;
          }
          run.lifeCycleState = "TERMINATED";
        }
        return json(200, {});
      }
    }
    return json(404, {
      error_code: "ENDPOINT_NOT_FOUND",
      message: `No API found for '${request.method} ${url.pathname}'`,
    });
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, handler);
    const { port } = server.addr as Deno.NetAddr;
    resolve({
      host: `http://127.0.0.1:${port}`,
      runs,
      jobs,
      cancels,
      requests,
      inject(fault) {
        faults.push({ ...fault, times: fault.times ?? 1 });
      },
      async stop() {
        for (const child of children.values()) {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
          await child.status.catch(() => {});
        }
        await server.shutdown();
      },
    });
  });
}
