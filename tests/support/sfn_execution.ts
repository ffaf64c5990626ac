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
 * The interpreter also runs every Map inline over `ItemsPath`, ignoring
 * `ItemReader`, `ResultWriter` and `ProcessorConfig`. So a Distributed Map
 * (`ProcessorConfig.Mode` `DISTRIBUTED`) is handed to the interpreter as a
 * Task state of the same name, fields and transitions (Retry, Catch,
 * ResultPath, Next/End), whose Parameters the interpreter evaluates to the
 * Map's input and its `ItemReader` and `ResultWriter` Parameters (with
 * `$$.Execution.Name` and intrinsics), and whose local handler does what the
 * Map Run does, with the behaviour the Step Functions guide documents:
 * - reads the items with `s3:getObject` from the store given (s3rver):
 *   `ReaderConfig.InputType` `JSON` only, the object must be a JSON array;
 *   a missing or unparsable object fails the state with
 *   `States.ItemReaderFailed` (without ItemReader, the items at `ItemsPath`);
 * - evaluates `ItemSelector` per item with the interpreter itself (a Pass
 *   state, the parent's context plus `$$.Map.Item`);
 * - runs each item as a child execution of `ItemProcessor` (its own
 *   interpreter run, its own `$$.Execution.Name`, at most `MaxConcurrency` at
 *   once), recorded apart in `mapRuns`, as the service keeps a child's
 *   history apart from the parent's;
 * - with no tolerated failures (the default threshold, 0), a failed child
 *   stops the rest and fails the state with
 *   `States.ExceedToleratedFailureThreshold` (the task's own error stays in
 *   the child's history, as it does on AWS);
 * - with `ResultWriter`, writes `<Prefix>/<map run id>/manifest.json` and
 *   `SUCCEEDED_0.json` / `FAILED_0.json` (Transformation NONE) to the store
 *   and answers `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`; else
 *   the children's outputs (COMPACT).
 * Not emulated: ItemBatcher, tolerated failure thresholds, CSV/JSONL/manifest
 * readers, MaxItems, EXPRESS children, redrive, the Map Run's own events.
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
  /** Every event, nested inline Map and Parallel states' included (a Distributed Map's children are in `mapRuns`). */
  events: EventLog[];
  /** Every Lambda invocation the Task states made, in order, Distributed Map children's included. */
  invocations: { state: string; functionName: string; payload: Json; functionError?: string }[];
  /** The Distributed Map runs, in the order they started. */
  mapRuns: MapRun[];
}

/** One emulated Distributed Map run. */
export interface MapRun {
  /** The Map state's name. */
  state: string;
  /** The run's id, as in `<Prefix>/<id>/manifest.json`. */
  id: string;
  /** Where the items were read from, with ItemReader. */
  itemReader?: { bucket: string; key: string };
  /** How many items it read. */
  items: number;
  /** Where the manifest was written, with ResultWriter. */
  resultWriter?: { bucket: string; manifest: string };
  /** The child executions it started, in item order (one per item unless the run failed first). */
  children: (Omit<SfnExecution, "invocations" | "mapRuns"> & { name: string; input: Json })[];
}

/** The object store a Distributed Map reads its items from and writes its results to (s3rver's, in tests). */
export interface MapRunStore {
  get(bucket: string, key: string): Promise<Uint8Array>;
  put(bucket: string, key: string, data: Uint8Array): Promise<unknown>;
}

/** Options for {@linkcode executeStateMachine}. */
export interface ExecuteOptions {
  /** Where Distributed Maps read and write S3 objects; a machine with a Distributed Map needs it. */
  store?: MapRunStore;
}

// The Resource of the Task state a Distributed Map is handed to the interpreter as.
const MAP_RUN_RESOURCE = "arn:aws:states:::glacier-test:distributedMapRun";

class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
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
 * @param options Where Distributed Maps read and write.
 * @returns Its output or error, its events, its invocations and its Distributed Map runs.
 */
export async function executeStateMachine(
  definition: Json,
  input: Json,
  client: LambdaClient,
  name: string,
  options: ExecuteOptions = {},
): Promise<SfnExecution> {
  const invocations: SfnExecution["invocations"] = [];
  const mapRuns: MapRun[] = [];
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
  const maps = new Map<string, Json>();
  const machine = new StateMachine(handOverDistributedMaps(definition, maps));
  for (const [state, map] of maps) {
    handlers[state] = (parameters: Json) => runMap(state, map, parameters, handlers, mapRuns, options.store);
  }
  const run = await runExecution(machine, input, name, handlers);
  return { ...run, invocations, mapRuns };
}

async function runExecution(
  machine: StateMachine,
  input: Json,
  name: string,
  handlers: Record<string, (input: Json) => Promise<Json>>,
  started?: (abort: () => void) => void,
): Promise<Omit<SfnExecution, "invocations" | "mapRuns">> {
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers },
    // The interpreter keeps no RetryCount; the generated payloads read it for the attempt number.
    context: { Execution: { Name: name }, State: { RetryCount: 0 } },
  });
  started?.(execution.abort);
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
  return { output, error, events };
}

// A copy of the machine with each Distributed Map (at any depth) replaced by
// a Task state the handler `runMap` serves; `maps` gets each original by name.
function handOverDistributedMaps(machine: Json, maps: Map<string, Json>): Json {
  const states: Record<string, Json> = {};
  for (const [name, state] of Object.entries<Json>(machine.States)) {
    let copy = { ...state };
    if (copy.Branches) copy.Branches = copy.Branches.map((b: Json) => handOverDistributedMaps(b, maps));
    if (copy.ItemProcessor) copy.ItemProcessor = handOverDistributedMaps(copy.ItemProcessor, maps);
    if (copy.Type === "Map" && copy.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") {
      maps.set(name, copy);
      const {
        ItemReader,
        ItemsPath,
        ResultWriter,
        ItemSelector: _s,
        ItemProcessor: _p,
        MaxConcurrency: _c,
        ...rest
      } = copy;
      copy = {
        ...rest,
        Type: "Task",
        Resource: MAP_RUN_RESOURCE,
        Parameters: {
          "input.$": "$",
          "execution.$": "$$.Execution.Name",
          ...(ItemReader ? { reader: ItemReader.Parameters ?? {} } : { "items.$": ItemsPath ?? "$" }),
          ...(ResultWriter ? { writer: ResultWriter.Parameters ?? {} } : {}),
        },
        // A Map Run has no timeout of its own; the interpreter's Task default is 60 s, and
        // its timer takes at most 2^31 - 1 ms (a longer one fires at once).
        TimeoutSeconds: 2_000_000,
      };
    }
    states[name] = copy;
  }
  return { ...machine, States: states };
}

// What a Distributed Map's Map Run does (see the module doc).
async function runMap(
  state: string,
  map: Json,
  parameters: Json,
  handlers: Record<string, (input: Json) => Promise<Json>>,
  mapRuns: MapRun[],
  store: MapRunStore | undefined,
): Promise<Json> {
  const run: MapRun = { state, id: crypto.randomUUID(), items: 0, children: [] };
  mapRuns.push(run);
  let items: Json;
  if (map.ItemReader) {
    if (!store) {
      throw new Error(`Distributed Map "${state}" has an ItemReader: pass executeStateMachine a store`);
    }
    const { Bucket: bucket, Key: key } = parameters.reader;
    if (
      map.ItemReader.Resource !== "arn:aws:states:::s3:getObject" ||
      map.ItemReader.ReaderConfig?.InputType !== "JSON"
    ) {
      throw new Error(`Distributed Map "${state}": this helper reads only s3:getObject with InputType JSON`);
    }
    run.itemReader = { bucket, key };
    try {
      items = JSON.parse(new TextDecoder().decode(await store.get(bucket, key)));
    } catch (error) {
      throw new StatesError(
        "States.ItemReaderFailed",
        `Cannot read s3://${bucket}/${key}: ${(error as Error).message}`,
      );
    }
    if (!Array.isArray(items)) {
      throw new StatesError("States.ItemReaderFailed", `s3://${bucket}/${key} is not a JSON array`);
    }
  } else {
    items = parameters.items;
    if (!Array.isArray(items)) {
      throw new StatesError("States.Runtime", "ItemsPath does not point to an array");
    }
  }
  run.items = items.length;

  const selector = map.ItemSelector
    ? new StateMachine({
      StartAt: "select",
      States: { select: { Type: "Pass", Parameters: map.ItemSelector, End: true } },
    })
    : null;
  const processor = new StateMachine(map.ItemProcessor, { validationOptions: { noValidate: true } });
  const aborts: (() => void)[] = [];
  let failed = false;
  let next = 0;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      const childInput = selector
        ? await selector.run(parameters.input, {
          context: {
            Execution: { Name: parameters.execution },
            Map: { Item: { Index: index, Value: items[index] } },
          },
        }).result
        : items[index];
      const name = crypto.randomUUID();
      const child = await runExecution(processor, childInput, name, handlers, (abort) => aborts.push(abort));
      run.children[index] = { ...child, name, input: childInput };
      if (child.error && !failed) {
        failed = true;
        for (const abort of aborts) abort();
      }
    }
  };
  const concurrency = map.MaxConcurrency || items.length;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  run.children = run.children.filter(Boolean);

  let result: Json = run.children.map((c) => c.output);
  if (map.ResultWriter) {
    if (!store) {
      throw new Error(`Distributed Map "${state}" has a ResultWriter: pass executeStateMachine a store`);
    }
    const { Bucket: bucket, Prefix: prefix = "" } = parameters.writer;
    const arn = `arn:aws:states:us-east-1:123456789012:mapRun:glacier/${state}:${run.id}`;
    const folder = `${prefix}${prefix ? "/" : ""}${run.id}/`;
    const files: Record<string, Json[]> = { SUCCEEDED: [], FAILED: [] };
    // Children stopped because the run failed are ABORTED, which the files leave out.
    for (const c of run.children.filter((c) => c.error?.name !== "ExecutionAbortedError")) {
      files[c.error ? "FAILED" : "SUCCEEDED"].push({
        ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:glacier/${state}:${c.name}`,
        Input: JSON.stringify(c.input),
        InputDetails: { Included: true },
        Name: c.name,
        Status: c.error ? "FAILED" : "SUCCEEDED",
        ...(c.error ? { Error: c.error.name, Cause: c.error.message } : { Output: JSON.stringify(c.output) }),
        OutputDetails: { Included: true },
      });
    }
    const encode = (v: Json) => new TextEncoder().encode(JSON.stringify(v));
    const written: { Key: string; Size: number }[] = [];
    for (const [status, entries] of Object.entries(files)) {
      if (!entries.length) continue;
      await store.put(bucket, `${folder}${status}_0.json`, encode(entries));
      written.push({ Key: `${folder}${status}_0.json`, Size: encode(entries).byteLength });
    }
    const manifest = `${folder}manifest.json`;
    await store.put(
      bucket,
      manifest,
      encode({
        DestinationBucket: bucket,
        MapRunArn: arn,
        ResultFiles: Object.fromEntries(
          Object.keys(files).map((status) => [status, written.filter((w) => w.Key.includes(`/${status}_`))]),
        ),
      }),
    );
    run.resultWriter = { bucket, manifest };
    result = { MapRunArn: arn, ResultWriterDetails: { Bucket: bucket, Key: manifest } };
  }
  if (failed) {
    throw new StatesError(
      "States.ExceedToleratedFailureThreshold",
      "The specified tolerated failure threshold was exceeded",
    );
  }
  return result;
}
