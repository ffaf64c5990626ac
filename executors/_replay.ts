// Runs one payload of a generated orchestrator (Step Functions, Airflow,
// Prefect, Dagster; see src/codegen/_flow.ts). Such a payload names a call
// site, not its arguments: the runner replays the pipeline function in trace
// mode with the run's params, takes the recorded call with the payload's
// nodeId, and replaces each ref to an upstream call with that call's output
// staged at `<staging><key>.out` (a mapped call's outputs at
// `<staging><key>/<index>.out`) and the ref to a mapped call's list element
// with the payload's item: its value, or, when the payload gives only the
// item's index (Airflow, whose mapped task instances render nothing but their
// map index), the element at that index of the list's staged output.
// Literals and buckets come from the user's code.
//
// Staged outputs are the payload codec's value with Arrow tables as IPC, as
// wire JSON (executors/_wire.ts): a list of plain values is a plain JSON
// array, which a Distributed Map's ItemReader reads as is.
import {
  assertCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../src/data/payload.ts";
import type { StorageWiring } from "../src/resources/object_store.ts";
import { ident } from "../src/codegen/_model.ts";
import { errorMessage, GlacierError } from "../src/errors.ts";
import { Bucket } from "../src/resources/storage.ts";
import type { RecordedCall } from "../src/trace/context.ts";
import { bindArgs, type ReplayedCall, type Traceable, traceCall } from "../src/trace/replay.ts";
import { fromWireJson, toWireJson } from "./_wire.ts";

/** The payload a generated orchestrator sends for one call. */
export interface OrchestratorPayload {
  /** The schema version (executors/runner.ts PAYLOAD_VERSION). */
  readonly version: number;
  /** The pipeline's name: the runner looks for an exported Pipeline of this name in `module`. */
  readonly pipeline: string;
  /** The run's id (the execution name). */
  readonly runId: string;
  /** The call-site id, such as `clean` or `processFile#2`. */
  readonly nodeId: string;
  /** The task's name. */
  readonly task: string;
  /** The module that defines the task: a URL or a path relative to the working directory. */
  readonly module: string;
  /** The module that exports the pipeline, when not `module`. @default {module} */
  readonly source?: string;
  /** The attempt, from 1. */
  readonly attempt: number;
  /** Informational: the upstream outputs the call reads (the replay finds them itself). */
  readonly args?: unknown;
  /** The run's staging prefix, a URI ending in `/`. */
  readonly staging: string;
  /** Where the output goes, relative to `staging` (`clean.out`, `processfile/3.out`). */
  readonly output: string;
  /** The largest output returned inline; past it the result is `{ $ref: <uri> }`. */
  readonly outputLimitBytes?: number;
  /** The run's params, given to the pipeline function. @default {{}} */
  readonly params?: Record<string, unknown>;
  /**
   * For a mapped call: the element's index in the list it maps over, and the element. Without
   * `value` the runner reads the list's staged output and takes the element at `index`.
   */
  readonly item?: { readonly value?: unknown; readonly index: number };
}

/** Whether a payload is an orchestrator's (has a staging prefix and an output name, no encoded args). */
export function isOrchestratorPayload(payload: unknown): payload is OrchestratorPayload {
  const p = payload as Partial<OrchestratorPayload> | null;
  return typeof p === "object" && p !== null && typeof p.staging === "string" && typeof p.output === "string";
}

/**
 * Runs an orchestrator payload by replay and stages its output.
 *
 * @param payload The payload.
 * @param module The URL of the module that exports the pipeline (the payload's `source`, else its `module`, resolved on this machine).
 * @param storage The stores staged outputs are read and written with. @default {the task's provider's}
 * @returns The output's encoded value when it fits `outputLimitBytes`, else `{ $ref: <staged uri> }`.
 * @throws {GlacierError} `USER:PIPELINE_NOT_FOUND` when the module exports no pipeline of that name.
 * @throws {GlacierError} `SYSTEM:STAGING_READ` naming the URI when an upstream output cannot be read.
 * @throws {GlacierError} `USER:REPLAY_ITEM_MISSING` when a mapped call's payload has no item.
 * @throws {GlacierError} `SYSTEM:REPLAY_ITEM_INDEX` when an item given by index is not in the staged list.
 * @throws {GlacierError} `SYSTEM:STAGING_WRITE` naming the URI when the output cannot be written.
 */
export async function runOrchestratorPayload(
  payload: OrchestratorPayload,
  module: string,
  storage?: StorageWiring,
): Promise<unknown> {
  const exports = await import(module) as Record<string, unknown>;
  const pipeline = Object.values(exports).find((v): v is Traceable<unknown> =>
    typeof v === "object" && v !== null && typeof (v as Traceable<unknown>).traceCalls === "function" &&
    (v as Traceable<unknown>).name === payload.pipeline
  );
  if (!pipeline) {
    throw new GlacierError(
      "USER:PIPELINE_NOT_FOUND",
      `Module ${module} exports no pipeline named "${payload.pipeline}": export it (export const p = pipeline({ name: "${payload.pipeline}" }, ...)) so runners can replay it`,
    );
  }
  const replayed = await traceCall(pipeline, payload.params ?? {}, payload.nodeId);
  if (replayed.call.task.name !== payload.task) {
    throw new GlacierError(
      "USER:REPLAY_NODE_MISSING",
      `Call "${payload.nodeId}" of pipeline "${payload.pipeline}" is task "${replayed.call.task.name}" here, not "${payload.task}": the deployed orchestrator is older than the code; redeploy it`,
    );
  }
  const store = storage ?? replayed.call.task.resource.storage;
  const keys = callKeys(replayed.calls);
  const staging = payload.staging.endsWith("/") ? payload.staging : `${payload.staging}/`;
  const values = new Map<string, unknown>();
  const gathered = new Map<string, unknown[]>();
  await Promise.all(replayed.call.deps.map(async (dep) => {
    if (dep === replayed.mapOver) return;
    const key = keys.get(dep)!;
    if (replayed.mapped.has(dep)) {
      gathered.set(dep, await readGathered(`${staging}${key}/`, dep, payload.nodeId, store));
    } else values.set(dep, await readStaged(`${staging}${key}.out`, dep, payload.nodeId, store));
  }));
  if (replayed.mapOver !== undefined && payload.item === undefined) {
    throw new GlacierError(
      "USER:REPLAY_ITEM_MISSING",
      `Call "${payload.nodeId}" maps over "${replayed.mapOver}" but the payload has no "item": send { "item": { "index": …, "value": … } } for each element (without "value" the runner reads it from the list's staged output)`,
    );
  }
  // Airflow's mapped task instances send only their map index (see itemAt).
  const byIndex = replayed.mapOver !== undefined && payload.item !== undefined && !("value" in payload.item);
  const item = !byIndex ? payload.item?.value : await itemAt(
    payload.item!.index,
    `${staging}${keys.get(replayed.mapOver!)}.out`,
    replayed,
    payload,
    store,
  );
  const args = bindArgs(replayed, {
    value: (id) => values.get(id),
    gathered: (id) => gathered.get(id) ?? [],
    item,
  });
  const value = await replayed.call.task.fn(...args);
  assertCrossable(value, `the value returned by task "${payload.task}" (call ${payload.nodeId})`);
  if (needsLibraries(value)) await loadLibraries(value);
  const text = toWireJson(encodeValue(value, "ipc").value);
  const uri = `${staging}${payload.output}`;
  try {
    await bucketAt(uri, store).put(text);
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:STAGING_WRITE",
      `Cannot write the output of "${payload.nodeId}" to ${JSON.stringify(uri)}: ${
        errorMessage(error)
      }; check the runner may write to the staging location`,
      { cause: error, retryable: true },
    );
  }
  const limit = payload.outputLimitBytes ?? Infinity;
  return new TextEncoder().encode(text).byteLength <= limit ? JSON.parse(text) : { $ref: uri };
}

// The element at `index` of the list a mapped call maps over, read from that list's staged output.
async function itemAt(
  index: number,
  uri: string,
  replayed: ReplayedCall,
  payload: OrchestratorPayload,
  storage: StorageWiring,
): Promise<unknown> {
  const list = await readStaged(uri, replayed.mapOver!, payload.nodeId, storage);
  if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
    throw new GlacierError(
      "SYSTEM:REPLAY_ITEM_INDEX",
      `Call "${payload.nodeId}" has no item ${
        JSON.stringify(index)
      } in the output of "${replayed.mapOver}" at ${JSON.stringify(uri)} (${
        Array.isArray(list) ? `a list of ${list.length}` : "not a list"
      }): that output changed after the orchestrator mapped the call; run "${replayed.mapOver}" and the calls that map over it again`,
    );
  }
  return list[index];
}

// The staging key of each call, as src/codegen/_flow.ts names them.
function callKeys(calls: readonly RecordedCall[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const c of calls) {
    let key = ident(c.nodeId);
    while (used.has(key)) key += "_";
    used.add(key);
    out.set(c.nodeId, key);
  }
  return out;
}

function bucketAt(uri: string, storage: StorageWiring): Bucket {
  const match = /^([a-z0-9]+):\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) {
    throw new RangeError(`Staging location ${JSON.stringify(uri)} is invalid: use "s3://bucket/prefix/"`);
  }
  return Bucket.fromData({ scheme: match[1], config: {}, bucket: match[2], path: match[3] }, storage);
}

async function readStaged(
  uri: string,
  upstream: string,
  nodeId: string,
  storage: StorageWiring,
): Promise<unknown> {
  try {
    const encoded = fromWireJson(new TextDecoder().decode(await bucketAt(uri, storage).read()));
    if (needsLibraries(encoded)) await loadLibraries(encoded);
    return decodeValue(encoded, storage);
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:STAGING_READ",
      `Cannot read the output of "${upstream}" for call "${nodeId}" from ${JSON.stringify(uri)}: ${
        errorMessage(error)
      }; run "${upstream}" first in the same run (same runId and staging prefix) and check the staging location is reachable from every executor`,
      { cause: error, retryable: true },
    );
  }
}

async function readGathered(
  prefix: string,
  upstream: string,
  nodeId: string,
  storage: StorageWiring,
): Promise<unknown[]> {
  let keys: string[];
  try {
    keys = await bucketAt(prefix, storage).list();
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:STAGING_READ",
      `Cannot list the outputs of "${upstream}" for call "${nodeId}" under ${JSON.stringify(prefix)}: ${
        errorMessage(error)
      }; check the staging location is reachable from every executor`,
      { cause: error, retryable: true },
    );
  }
  const indexed = keys
    .map((k) => ({ k, i: Number(/(\d+)\.out$/.exec(k)?.[1] ?? NaN) }))
    .filter((x) => Number.isInteger(x.i))
    .sort((a, b) => a.i - b.i);
  const scheme = prefix.slice(0, prefix.indexOf("://") + 3);
  const bucket = prefix.slice(scheme.length).split("/")[0];
  return await Promise.all(
    indexed.map((x) => readStaged(`${scheme}${bucket}/${x.k}`, upstream, nodeId, storage)),
  );
}
