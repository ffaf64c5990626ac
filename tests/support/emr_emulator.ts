/**
 * An Amazon EMR emulator for tests: the JSON 1.1 API the SDK speaks over
 * real HTTP on 127.0.0.1 (`POST /` with `X-Amz-Target:
 * ElasticMapReduce.AddJobFlowSteps`, `DescribeStep`, `CancelSteps`). An added
 * `command-runner.jar` step runs its `Args` as a subprocess (`deno` is this
 * Deno); a failed step's `FailureDetails.Message` is the first line of its
 * stderr. `CancelSteps` kills the subprocess.
 *
 * @module
 */

/** One step the emulator knows. */
export interface EmulatedStep {
  /** The step's id, `s-…`. */
  readonly id: string;
  /** The cluster it was added to. */
  readonly clusterId: string;
  /** The command it runs. */
  readonly args: readonly string[];
  /** `PENDING`, `RUNNING`, `COMPLETED`, `CANCELLED`, `FAILED`. */
  state: string;
  /** The subprocess's id, once started. */
  pid?: number;
  /** Whether its subprocess has exited (and been reaped). */
  exited: boolean;
  /** The subprocess's stderr. */
  stderr: string;
  /** When `DescribeStep` was called for it, in ms since the epoch. */
  readonly polls: number[];
}

/** A running emulator. */
export interface EmrEmulator {
  /** The endpoint, such as `http://127.0.0.1:53211`. */
  readonly endpoint: string;
  /** Every step, by id. */
  readonly steps: Map<string, EmulatedStep>;
  /** The step ids `CancelSteps` was called for. */
  readonly cancels: string[];
  /** Stops the server and kills every step still going. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startEmrEmulator}. */
export interface EmrEmulatorOptions {
  /** The clusters that exist. */
  readonly clusters: readonly string[];
  /** Steps stay `PENDING` this many polls before starting. @default {0} */
  readonly pendingPolls?: number;
}

/**
 * Starts the emulator on a free port.
 *
 * @param options The clusters that exist.
 * @returns The running emulator.
 */
export function startEmrEmulator(options: EmrEmulatorOptions): Promise<EmrEmulator> {
  const steps = new Map<string, EmulatedStep>();
  const children = new Map<string, Deno.ChildProcess>();
  const cancels: string[] = [];
  let next = 0;

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/x-amz-json-1.1" } });
  const invalid = (message: string) => json(400, { __type: "InvalidRequestException", Message: message });

  const start = (step: EmulatedStep) => {
    const [command, ...args] = step.args;
    const child = new Deno.Command(command === "deno" ? Deno.execPath() : command, {
      args,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    step.state = "RUNNING";
    step.pid = child.pid;
    children.set(step.id, child);
    (async () => {
      const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      step.stderr = stderr;
      step.exited = true;
      children.delete(step.id);
      if (step.state === "CANCELLED") return;
      step.state = status.success ? "COMPLETED" : "FAILED";
    })();
  };

  const describe = (step: EmulatedStep) => {
    const first = step.stderr.split("\n").find((l) => l.trim() !== "");
    return {
      Id: step.id,
      Name: step.id,
      ActionOnFailure: "CONTINUE",
      Config: { Jar: "command-runner.jar", Args: step.args },
      Status: {
        State: step.state,
        StateChangeReason: {},
        ...(step.state === "FAILED"
          ? {
            FailureDetails: {
              Reason: "Unknown error.",
              Message: first ?? "",
              LogFile: `s3://emr-logs/${step.clusterId}/steps/${step.id}/stderr.gz`,
            },
          }
          : {}),
      },
    };
  };

  const handler = async (request: Request): Promise<Response> => {
    const target = request.headers.get("x-amz-target") ?? "";
    const body = await request.json().catch(() => ({}));
    if (!options.clusters.includes(body.ClusterId ?? body.JobFlowId)) {
      return invalid(`Cluster id '${body.ClusterId ?? body.JobFlowId}' is not valid.`);
    }
    switch (target) {
      case "ElasticMapReduce.AddJobFlowSteps": {
        const ids: string[] = [];
        for (const config of body.Steps ?? []) {
          if (config.HadoopJarStep?.Jar !== "command-runner.jar") {
            return invalid("Only command-runner.jar is emulated.");
          }
          const id = `s-GLACIER${String(++next).padStart(6, "0")}`;
          const step: EmulatedStep = {
            id,
            clusterId: body.JobFlowId,
            args: config.HadoopJarStep.Args ?? [],
            state: "PENDING",
            exited: false,
            stderr: "",
            polls: [],
          };
          steps.set(id, step);
          if (!options.pendingPolls) start(step);
          ids.push(id);
        }
        return json(200, { StepIds: ids });
      }
      case "ElasticMapReduce.DescribeStep": {
        const step = steps.get(body.StepId);
        if (!step) return invalid(`Step id '${body.StepId}' is not valid.`);
        step.polls.push(Date.now());
        if (step.state === "PENDING" && step.polls.length > (options.pendingPolls ?? 0)) start(step);
        return json(200, { Step: describe(step) });
      }
      case "ElasticMapReduce.CancelSteps": {
        const info = [];
        for (const id of body.StepIds ?? []) {
          cancels.push(id);
          const step = steps.get(id);
          if (step && (step.state === "PENDING" || step.state === "RUNNING")) {
            step.state = "CANCELLED";
            const child = children.get(id);
            if (child) {
              try {
                child.kill("SIGKILL");
              } catch { /* gone */ }
              await child.status;
            }
            info.push({ StepId: id, Status: "SUBMITTED" });
          } else info.push({ StepId: id, Status: "FAILED", Reason: "The step is not running." });
        }
        return json(200, { CancelStepsInfoList: info });
      }
    }
    return json(400, { __type: "UnknownOperationException", Message: `Unknown operation ${target}` });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const { port } = server.addr as Deno.NetAddr;
  return Promise.resolve({
    endpoint: `http://127.0.0.1:${port}`,
    steps,
    cancels,
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
}
