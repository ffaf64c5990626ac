/**
 * Executes a generated Step Functions state machine with
 * `aws-local-stepfunctions` (an ASL interpreter from npm), every
 * `arn:aws:states:::lambda:invoke` Task state sent over the Lambda Invoke API
 * to a real endpoint (the Lambda emulator running Glacier's built artifact).
 *
 * The interpreter calls a Task's `Resource` as a Lambda ARN and knows neither
 * the `lambda:invoke` integration nor Distributed Map's `ItemReader`, so each
 * Task state gets a local handler that does what the integration does: it
 * invokes `Parameters.FunctionName` with `Parameters.Payload` and answers
 * `{ ExecutedVersion, Payload, StatusCode }`, or, when the function fails,
 * throws the function's `errorType` as the state's error with the error
 * payload as its cause (as Step Functions reports a failed `lambda:invoke`).
 *
 * @module
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { StateMachine } from "aws-local-stepfunctions";

// deno-lint-ignore no-explicit-any -- ASL is navigated by path
type Json = any;

/** One event of the interpreter's log (the package does not export its types). */
export interface EventLog {
  type: string;
  state?: { name: string; type: string; input?: Json };
  Error?: string;
  Cause?: unknown;
  [field: string]: Json;
}

/** One execution's outcome and its event log. */
export interface SfnExecution {
  /** The execution's output, when it succeeded. */
  output?: Json;
  /** The error the execution failed with (the interpreter's `ExecutionError` cause). */
  error?: { name: string; message: string };
  /** Every event, nested Map and Parallel states' included. */
  events: EventLog[];
  /** Every Lambda invocation the Task states made, in order. */
  invocations: { state: string; functionName: string; payload: Json; functionError?: string }[];
}

/** The names of every Task state, those inside Map and Parallel states included. */
export function taskStates(machine: Json, out: Map<string, Json> = new Map()): Map<string, Json> {
  for (const [name, state] of Object.entries<Json>(machine.States)) {
    if (state.Type === "Task") out.set(name, state);
    for (const branch of state.Branches ?? []) taskStates(branch, out);
    if (state.ItemProcessor ?? state.Iterator) taskStates(state.ItemProcessor ?? state.Iterator, out);
  }
  return out;
}

/**
 * Runs one execution of `definition` named `name` (`$$.Execution.Name`).
 *
 * @param definition The ASL definition.
 * @param input The execution input.
 * @param client The Lambda client every `lambda:invoke` Task state calls.
 * @param name The execution's name.
 * @returns Its output or error, its events and its invocations.
 */
export async function executeStateMachine(
  definition: Json,
  input: Json,
  client: LambdaClient,
  name: string,
): Promise<SfnExecution> {
  const invocations: SfnExecution["invocations"] = [];
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [state, task] of taskStates(definition)) {
    if (task.Resource !== "arn:aws:states:::lambda:invoke") {
      throw new Error(`Task state "${state}" uses ${task.Resource}, which this helper does not run`);
    }
    handlers[state] = async (parameters: Json) => {
      const out = await client.send(
        new InvokeCommand({
          FunctionName: parameters.FunctionName,
          Payload: new TextEncoder().encode(JSON.stringify(parameters.Payload)),
        }),
      );
      const text = new TextDecoder().decode(out.Payload);
      invocations.push({
        state,
        functionName: parameters.FunctionName,
        payload: parameters.Payload,
        functionError: out.FunctionError,
      });
      const body = text ? JSON.parse(text) : null;
      if (out.FunctionError) {
        const error = new Error(text);
        error.name = body?.errorType ?? "Lambda.Unknown";
        throw error;
      }
      return { ExecutedVersion: out.ExecutedVersion ?? "$LATEST", Payload: body, StatusCode: out.StatusCode };
    };
  }
  const machine = new StateMachine(definition);
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers },
    // The interpreter keeps no RetryCount; the generated payloads read it for the attempt number.
    context: { Execution: { Name: name }, State: { RetryCount: 0 } },
  });
  const events: EventLog[] = [];
  const logged = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  let output: Json, error: SfnExecution["error"];
  try {
    output = await execution.result;
  } catch (e) {
    const cause = (e as { cause?: Error }).cause ?? (e as Error);
    error = { name: cause.name, message: cause.message };
  }
  await logged;
  return { output, error, events, invocations };
}
