// A local emulator of the two AWS APIs `deploy({ apply: true })` calls: Step
// Functions' JSON 1.0 API (X-Amz-Target AWSStepFunctions.CreateStateMachine,
// UpdateStateMachine, ListStateMachines) and EventBridge Scheduler's REST API
// (GET, POST, PUT and DELETE /schedules/{Name}). It binds 127.0.0.1 on a free port and
// records every call, so tests can check what the AWS SDK sent.

/** A state machine as the emulator keeps it. */
export interface EmulatedStateMachine {
  name: string;
  arn: string;
  definition: string;
  roleArn: string;
  type: string;
  updates: number;
}

/** A schedule as the emulator keeps it. */
export interface EmulatedSchedule {
  Name: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  Target: { Arn: string; RoleArn: string; Input?: string };
  updates: number;
}

/** A running emulator. */
export interface SfnEmulator {
  /** The endpoint URL, such as `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly stateMachines: Map<string, EmulatedStateMachine>;
  readonly schedules: Map<string, EmulatedSchedule>;
  /** Every call: the X-Amz-Target operation or `METHOD /path`. */
  readonly calls: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

const ACCOUNT = "123456789012";

/** Starts the emulator. */
export function startSfnEmulator(region = "us-east-1"): SfnEmulator {
  const stateMachines = new Map<string, EmulatedStateMachine>();
  const schedules = new Map<string, EmulatedSchedule>();
  const calls: string[] = [];
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/x-amz-json-1.0", ...headers },
    });
  const sfnError = (type: string, message: string) => json(400, { __type: type, message });

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const target = request.headers.get("x-amz-target");
    const body = await request.text();
    if (target?.startsWith("AWSStepFunctions.")) {
      const op = target.slice("AWSStepFunctions.".length);
      calls.push(op);
      const input = JSON.parse(body || "{}");
      const now = Date.now() / 1000;
      if (op === "ListStateMachines") {
        return json(200, {
          stateMachines: [...stateMachines.values()].map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: m.type,
            creationDate: now,
          })),
        });
      }
      if (op === "CreateStateMachine") {
        if (stateMachines.has(input.name)) {
          return sfnError("StateMachineAlreadyExists", `${input.name} exists`);
        }
        try {
          JSON.parse(input.definition);
        } catch {
          return sfnError("InvalidDefinition", "The definition is not JSON");
        }
        const arn = `arn:aws:states:${region}:${ACCOUNT}:stateMachine:${input.name}`;
        stateMachines.set(input.name, {
          name: input.name,
          arn,
          definition: input.definition,
          roleArn: input.roleArn,
          type: input.type ?? "STANDARD",
          updates: 0,
        });
        return json(200, { stateMachineArn: arn, creationDate: now });
      }
      if (op === "UpdateStateMachine") {
        const m = [...stateMachines.values()].find((x) => x.arn === input.stateMachineArn);
        if (!m) return sfnError("StateMachineDoesNotExist", `${input.stateMachineArn} does not exist`);
        m.definition = input.definition ?? m.definition;
        m.roleArn = input.roleArn ?? m.roleArn;
        m.updates++;
        return json(200, { updateDate: now });
      }
      return sfnError("UnknownOperationException", op);
    }
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/schedules\/([^/]+)$/);
    calls.push(`${request.method} ${url.pathname}`);
    if (!match) {
      return json(404, { Message: "Not found" }, { "x-amzn-errortype": "ResourceNotFoundException" });
    }
    const name = decodeURIComponent(match[1]);
    const arn = `arn:aws:scheduler:${region}:${ACCOUNT}:schedule/default/${name}`;
    if (request.method === "GET") {
      const s = schedules.get(name);
      if (!s) {
        return json(404, { Message: `Schedule ${name} does not exist.` }, {
          "x-amzn-errortype": "ResourceNotFoundException",
        });
      }
      return json(200, { ...s, Arn: arn, GroupName: "default", State: "ENABLED" });
    }
    const input = JSON.parse(body || "{}");
    if (request.method === "POST") {
      if (schedules.has(name)) {
        return json(409, { Message: "exists" }, { "x-amzn-errortype": "ConflictException" });
      }
      schedules.set(name, { Name: name, ...input, updates: 0 });
      return json(200, { ScheduleArn: arn });
    }
    if (request.method === "PUT") {
      const s = schedules.get(name);
      if (!s) return json(404, { Message: "missing" }, { "x-amzn-errortype": "ResourceNotFoundException" });
      Object.assign(s, input);
      s.updates++;
      return json(200, { ScheduleArn: arn });
    }
    if (request.method === "DELETE") {
      if (!schedules.delete(name)) {
        return json(404, { Message: "missing" }, { "x-amzn-errortype": "ResourceNotFoundException" });
      }
      return json(200, {});
    }
    return json(405, { Message: "Method not allowed" });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    stateMachines,
    schedules,
    calls,
    close: async () => {
      await server.shutdown();
    },
  };
}
