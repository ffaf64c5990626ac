/**
 * The task payload codec: how values cross a boundary — to a worker thread,
 * to a remote executor, into the cache. Arrow tables travel as their Arrow
 * buffers; everything else as structured-clone data. Three table encodings:
 *
 * - `transfer`: the table's own buffers, moved (zero copy); the sender's
 *   table is detached until the buffers come back ({@linkcode reattach}).
 * - `share`: the buffers copied once into a `SharedArrayBuffer` and the
 *   sender's table rewired onto it, so any number of receivers read the same
 *   memory and later hand-offs are free. String bytes are the exception: a
 *   receiver copies them once into its own memory, because decoding text
 *   from shared memory copies on every read.
 * - `ipc`: Arrow IPC stream bytes, for executors with no shared memory
 *   (Lambda, clusters, VMs) and for the cache.
 *
 * polars DataFrames, Series and LazyFrames cross too, in every encoding, as
 * `polars_codec.ts` describes: Arrow IPC bytes written once and transferred,
 * and a LazyFrame as its plan within this machine, collected beyond it.
 *
 * A value that cannot cross (a function, a class instance with methods, a
 * symbol) is refused before anything is sent, naming where it was found.
 *
 * apache-arrow is loaded only when a value holds a table, and nodejs-polars
 * only when it holds polars data to decode: await {@linkcode loadLibraries}
 * before {@linkcode encodeValue} or {@linkcode decodeValue} when
 * {@linkcode needsLibraries} says so. Both stay synchronous, so a call
 * without tables or frames costs no extra turn.
 *
 * @module
 */
import type { Data, DataType, Schema, Struct, Table, Vector } from "apache-arrow";
import { type ArrowModule, ipcWritable, loadArrow, loadedArrow } from "./_arrow.ts";
import { loadedPolars, loadPolars } from "./_polars.ts";
import {
  decodePolars,
  type EncodedPolars,
  encodePolars,
  isCrossingPolars,
  isEncodedPolars,
  polarsRefusal,
  readRouted,
  RoutedFrame,
  routedFrame,
} from "./polars_codec.ts";
import type { StorageWiring } from "../resources/object_store.ts";
import { Bucket, type BucketData } from "../resources/storage.ts";
import { GlacierError, TaskError } from "../errors.ts";
import type { TaskInvocation } from "../run/executor.ts";

/**
 * How tables are encoded: `transfer` and `share` for another thread (their
 * buffers moved or shared), `ipc` for another process or machine and the
 * cache (Arrow IPC bytes; a LazyFrame collected), `machine` for a file this
 * machine reads back, a checkpoint (as `ipc`, but a LazyFrame keeps its plan and a frame its shared bytes).
 */
export type TableEncoding = "transfer" | "share" | "ipc" | "machine";

/** A typed-array view on a buffer, as data. */
interface View {
  buffer: ArrayBufferLike;
  byteOffset: number;
  length: number;
  kind: string;
}

/** One Arrow `Data` node, as data. */
interface EncodedData {
  offset: number;
  length: number;
  nullCount: number;
  buffers: (View | null)[];
  /** `null` where the node has no child: apache-arrow reads a stream without batches as one empty batch so. */
  children: (EncodedData | null)[];
  dictionary?: EncodedData[];
  /** The data buffers of view types (Utf8View, BinaryView), copied: they are few and small beside the views. */
  variadic?: Uint8Array[];
}

/** A table in the `transfer` or `share` encoding. */
interface EncodedTable {
  $table: { schema: Uint8Array; batches: EncodedData[] };
}

/** A table in the `ipc` encoding. */
interface EncodedIpc {
  $arrow: Uint8Array;
}

/** A bucket, as the data to rebuild it. */
interface EncodedBucket {
  $bucket: BucketData;
}

/** What encoding produced: the data and the buffers to transfer with it. */
export interface Encoded {
  /** Structured-clone-able data. */
  readonly value: unknown;
  /** `ArrayBuffer`s to list as transferables (each once). */
  readonly transfer: ArrayBuffer[];
  /** For `transfer`: how to rewire the sender's tables when the buffers come back. */
  readonly lent: Lent[];
}

/** A sender-side typed array lent out with `transfer`, to rewire when its buffer returns. */
export interface Lent {
  readonly data: Data;
  readonly slot: "valueOffsets" | "values" | "nullBitmap" | "typeIds";
  readonly bufferIndex: number;
  readonly byteOffset: number;
  readonly length: number;
  readonly kind: string;
}

const SLOTS = ["valueOffsets", "values", "nullBitmap", "typeIds"] as const;
/** The typed-array constructors by name: how a view is rebuilt on the far side of a boundary. */
export const TYPED_ARRAYS: Record<
  string,
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => ArrayBufferView
> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/**
 * Whether a value is an Arrow table, told without loading apache-arrow: an
 * `instanceof` once it is loaded, else the class's `Symbol.toStringTag`
 * (apache-arrow sets it to `"Table"` on the class) and the table's shape.
 * This also knows a table from another copy of the library.
 *
 * @param value Any value.
 * @returns `true` for an Arrow `Table`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { isTable } from "./payload.ts";
 * assert.ok(isTable(tableFromArrays({ a: [1] })) && !isTable({ batches: [] }));
 * ```
 */
export function isTable(value: unknown): value is Table {
  if (typeof value !== "object" || value === null) return false;
  const arrow = loadedArrow();
  if (arrow && value instanceof arrow.Table) return true;
  const ctor = (value as { constructor?: { [Symbol.toStringTag]?: unknown } }).constructor;
  return typeof ctor === "function" && ctor[Symbol.toStringTag] === "Table" &&
    Array.isArray((value as Table).batches) && typeof (value as Table).schema === "object";
}

/**
 * Whether encoding or decoding a value needs a library loaded first:
 * apache-arrow for a table or encoded table data, nodejs-polars for encoded
 * polars data. `false` once those are loaded.
 *
 * @param value A value to encode, or encoded data to decode.
 * @returns `true` when {@linkcode loadLibraries} must be awaited first.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needsLibraries } from "./payload.ts";
 * assert.ok(!needsLibraries([1, "two", { three: new Uint8Array(3) }]));
 * ```
 */
export function needsLibraries(value: unknown): boolean {
  const holds = holdsData(value);
  return (holds.arrow && loadedArrow() === undefined) || (holds.polars && loadedPolars() === undefined);
}

/**
 * Loads what {@linkcode needsLibraries} says a value needs, once per process.
 *
 * @param value A value to encode, or encoded data to decode.
 * @returns When they are loaded.
 * @throws {GlacierError} `SYSTEM:ARROW_UNAVAILABLE` or `SYSTEM:POLARS_UNAVAILABLE` when an npm package cannot be loaded.
 */
export async function loadLibraries(value: unknown): Promise<void> {
  const holds = holdsData(value);
  await Promise.all([holds.arrow ? loadArrow() : undefined, holds.polars ? loadPolars() : undefined]);
}

/**
 * Whether a value holds Arrow tables (or their encoded data): buffers a
 * call may lend away by transfer, so what must read them reads them first.
 *
 * @param value A value.
 * @returns `true` when it holds any.
 */
export function holdsTables(value: unknown): boolean {
  return holdsData(value).arrow;
}

// Whether a value holds Arrow tables (or their encoded data) and encoded polars data.
function holdsData(value: unknown): { arrow: boolean; polars: boolean } {
  const holds = { arrow: false, polars: false };
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== "object" || (holds.arrow && holds.polars)) return;
    if (isTable(v)) {
      holds.arrow = true;
      return;
    }
    if (isCrossingPolars(v)) return; // encoding a frame needs nothing: it writes itself
    if ("$arrow" in v || "$table" in v) holds.arrow = true;
    else if ("$polars" in v) holds.polars = true;
    else eachInside(v, visit);
  };
  visit(value);
  return holds;
}

/**
 * A value for the pipeline's own code (what `await ref` gives): every
 * {@linkcode RoutedFrame} in it read into polars, a frame of its own, so what
 * the code changes in place reaches neither the bytes nor the other tasks
 * they go to. Containers are rebuilt only around such frames.
 *
 * @param value A call's value, as the worker pool resolved it.
 * @returns The value, with polars frames.
 */
export function readRoutedFrames(value: unknown): unknown {
  let routed = false;
  const find = (v: unknown): void => {
    if (routed || v === null || typeof v !== "object" || isTable(v) || isCrossingPolars(v)) {
      routed ||= v instanceof RoutedFrame;
      return;
    }
    eachInside(v, find);
  };
  find(value);
  if (!routed) return value;
  const pl = polarsFor();
  const walk = (v: unknown): unknown => {
    if (v instanceof RoutedFrame) return readRouted(pl, v);
    if (v === null || typeof v !== "object" || isTable(v) || isCrossingPolars(v)) return v;
    return mapContainer(v, walk);
  };
  return walk(value);
}

/**
 * The routed frames in a value (in arrays, plain objects, Maps and Sets).
 *
 * @param value A call's value or arguments.
 * @returns Each {@linkcode RoutedFrame} found.
 */
export function routedFramesIn(value: unknown): RoutedFrame[] {
  const found: RoutedFrame[] = [];
  const find = (v: unknown): void => {
    if (v instanceof RoutedFrame) return void found.push(v);
    if (v === null || typeof v !== "object" || isTable(v) || isCrossingPolars(v)) return;
    eachInside(v, find);
  };
  find(value);
  return found;
}

// Calls `visit` on what an array, a plain object, a Map or a Set holds.
function eachInside(v: object, visit: (item: unknown) => void): void {
  if (Array.isArray(v)) return v.forEach((item) => visit(item));
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    for (const key in v) visit((v as Record<string, unknown>)[key]);
  } else if (v instanceof Map) {
    for (const [k, item] of v) visit(k), visit(item);
  } else if (v instanceof Set) {
    for (const item of v) visit(item);
  }
}

/**
 * Loads apache-arrow, once, for {@linkcode encodeValue} and
 * {@linkcode decodeValue} of values with tables ({@linkcode loadLibraries}
 * loads it when a value needs it).
 *
 * @returns When it is loaded.
 * @throws {GlacierError} `SYSTEM:ARROW_UNAVAILABLE` when the npm package cannot be loaded.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { decodeValue, encodeValue, loadLibraries, needsLibraries } from "./payload.ts";
 * import { CORE_STORAGE } from "../resources/object_store.ts";
 * const value = { t: tableFromArrays({ a: [1, 2] }) };
 * if (needsLibraries(value)) await loadLibraries(value);
 * const encoded = encodeValue(value, "ipc").value;
 * const back = decodeValue(encoded, CORE_STORAGE) as typeof value;
 * assert.equal(back.t.numRows, 2);
 * ```
 */
export async function ensureArrow(): Promise<void> {
  await loadArrow();
}

// The loaded namespace, or a loud error for a call site that skipped ensureArrow().
function arrowFor(what: string): ArrowModule {
  const arrow = loadedArrow();
  if (arrow) return arrow;
  throw new GlacierError(
    "SYSTEM:ARROW_NOT_LOADED",
    `Cannot ${what} before apache-arrow is loaded: await loadLibraries(value) from src/data/payload.ts first when needsLibraries(value) is true`,
  );
}

// The loaded nodejs-polars, or a loud error for a call site that skipped loadLibraries().
function polarsFor() {
  const pl = loadedPolars();
  if (pl) return pl;
  throw new GlacierError(
    "SYSTEM:POLARS_NOT_LOADED",
    "Cannot decode a polars DataFrame before nodejs-polars is loaded: await loadLibraries(value) from src/data/payload.ts first when needsLibraries(value) is true",
  );
}

/**
 * Checks that a value can cross to another thread or machine.
 *
 * @param value The value.
 * @param where What it is, for the message: `argument 2 of task "clean"`.
 * @throws {TypeError} Naming the path to the offending part and what to do.
 */
export function assertCrossable(value: unknown, where: string): void {
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return;
    const t = typeof v;
    if (t === "function") {
      throw new TypeError(
        `Cannot send ${where}${path}: it is a function (${
          (v as { name?: string }).name || "anonymous"
        }); functions cannot cross to a worker or executor — make it a task, or pass plain data`,
      );
    }
    if (t === "symbol") {
      throw new TypeError(`Cannot send ${where}${path}: symbols cannot cross to a worker or executor`);
    }
    if (t !== "object" || seen.has(v)) return;
    seen.add(v);
    if (isCrossingPolars(v)) return;
    const refusal = polarsRefusal(v);
    if (refusal) throw new TypeError(`Cannot send ${where}${path}: it is ${refusal}`);
    if (isTable(v) || v instanceof Bucket || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
    if (v instanceof Date || v instanceof RegExp || v instanceof Error || v instanceof Blob) return;
    if (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) return;
    if (v instanceof Map) {
      for (const [k, item] of v) {
        visit(k, `${path} (a Map key)`);
        visit(item, `${path}.get(${JSON.stringify(k)})`);
      }
      return;
    }
    if (v instanceof Set) {
      for (const item of v) visit(item, `${path} (a Set item)`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${path}[${i}]`));
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = proto?.constructor?.name ?? "an object";
      throw new TypeError(
        `Cannot send ${where}${path}: it is a ${name} instance, and class instances lose their methods when they cross to a worker or executor; pass plain data (an object, an array, an Arrow table or a polars DataFrame: a query result, for one) and rebuild the ${name} inside the task`,
      );
    }
    for (const key of Object.keys(v)) visit((v as Record<string, unknown>)[key], `${path}.${key}`);
  };
  visit(value, "");
}

/**
 * Checks every argument of a call before it is sent anywhere: the one check
 * every executor that leaves this process runs.
 *
 * @param invocation The call.
 * @throws {TaskError} `USER:NOT_CROSSABLE` (never retried) naming the pipeline, task, argument and path.
 */
export function assertArgsCrossable(invocation: TaskInvocation): void {
  const { task, nodeId, pipeline, attempt } = invocation;
  invocation.args.forEach((arg, i) => {
    try {
      assertCrossable(
        arg,
        `argument ${i + 1} of task "${task.name}" (call ${nodeId}) in pipeline "${pipeline}"`,
      );
    } catch (error) {
      throw new TaskError((error as Error).message, {
        pipeline,
        task: task.name,
        nodeId,
        attempt,
        code: "USER:NOT_CROSSABLE",
        cause: error,
      });
    }
  });
}

/**
 * Encodes a value for crossing a boundary.
 *
 * @param value The value (checked with {@linkcode assertCrossable} first).
 * @param tables How tables travel.
 * @param options `keepFrames`: a polars frame going to another thread is also kept in this one a while
 *   (a pool worker's results: see `encodePolars`).
 * @returns The data, its transferables and, for `transfer`, what was lent.
 */
export function encodeValue(
  value: unknown,
  tables: TableEncoding,
  options: { keepFrames?: boolean } = {},
): Encoded {
  const transfer: ArrayBuffer[] = [];
  const index = new Map<ArrayBufferLike, number>();
  const lent: Lent[] = [];
  const shared = new Map<ArrayBufferLike, SharedArrayBuffer>();

  const view = (
    owner: Data,
    slot: (typeof SLOTS)[number],
    array: ArrayBufferView | undefined,
  ): View | null => {
    if (!array) return null;
    const kind = array.constructor.name;
    // An empty buffer (maybe detached, so not transferable) arrives as a fresh
    // empty one: apache-arrow reads `values` even of a column with no rows.
    if (array.byteLength === 0 && array.buffer.byteLength === 0) {
      return { buffer: new ArrayBuffer(0), byteOffset: 0, length: 0, kind };
    }
    const length = (array as unknown as { length: number }).length;
    if (tables === "share" && !(array.buffer instanceof SharedArrayBuffer)) {
      // Copy each distinct buffer once, then rewire the sender onto the copy.
      let sab = shared.get(array.buffer);
      if (!sab) {
        sab = new SharedArrayBuffer(array.buffer.byteLength);
        new Uint8Array(sab).set(new Uint8Array(array.buffer));
        shared.set(array.buffer, sab);
      }
      const rewired = new TYPED_ARRAYS[kind](sab, array.byteOffset, length);
      (owner as unknown as Record<string, unknown>)[slot] = rewired;
      return { buffer: sab, byteOffset: array.byteOffset, length, kind };
    }
    if (tables === "transfer" && array.buffer instanceof ArrayBuffer) {
      let i = index.get(array.buffer);
      if (i === undefined) {
        index.set(array.buffer, i = transfer.length);
        transfer.push(array.buffer);
      }
      lent.push({ data: owner, slot, bufferIndex: i, byteOffset: array.byteOffset, length, kind });
    }
    return { buffer: array.buffer, byteOffset: array.byteOffset, length, kind };
  };

  const data = (d: Data): EncodedData => ({
    offset: d.offset,
    length: d.length,
    nullCount: d.nullCount,
    buffers: SLOTS.map((slot) =>
      view(d, slot, (d as unknown as Record<string, ArrayBufferView | undefined>)[slot])
    ),
    children: d.children.map((c) => c ? data(c) : null),
    ...(d.dictionary ? { dictionary: (d.dictionary as Vector).data.map(data) } : {}),
    ...(d.variadicBuffers?.length ? { variadic: variadic(d) } : {}),
  });

  // View types' data buffers are copied. A lending sender keeps the copies:
  // its own may be views into a buffer it lends (a table read from IPC).
  const variadic = (d: Data): Uint8Array[] => {
    const copies = d.variadicBuffers.map((b) => b.slice());
    if (tables === "transfer") (d as unknown as { variadicBuffers: Uint8Array[] }).variadicBuffers = copies;
    return copies;
  };

  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (isTable(v)) {
      const arrow = arrowFor("encode an Arrow table");
      if (tables === "ipc" || tables === "machine") {
        const bytes = arrow.tableToIPC(ipcWritable(arrow, v), "stream");
        transfer.push(bytes.buffer as ArrayBuffer);
        return { $arrow: bytes } satisfies EncodedIpc;
      }
      const schema = arrow.tableToIPC(new arrow.Table(v.schema), "stream");
      return { $table: { schema, batches: v.batches.map((b) => data(b.data)) } } satisfies EncodedTable;
    }
    if (isCrossingPolars(v)) {
      const encoded = encodePolars(
        v,
        tables === "ipc" ? "remote" : tables === "machine" ? "machine" : "thread",
        options.keepFrames === true,
      );
      transfer.push(...encoded.transfer);
      return encoded.value;
    }
    if (v instanceof Bucket) {
      const data = v.toData();
      return { $bucket: { ...data, config: { ...(data.config as object) } } } satisfies EncodedBucket;
    }
    return mapContainer(v, walk);
  };
  return { value: walk(value), transfer, lent };
}

/**
 * Decodes a value encoded by {@linkcode encodeValue}.
 *
 * @param value The encoded data.
 * @param storage The stores and formats its buckets are rebuilt with (the task's provider's).
 * @param options `route: true` where results are routed on to other tasks (the worker pool's side): a polars
 *   DataFrame or Series on shared bytes stays them, unread, a `RoutedFrame` (see {@linkcode readRoutedFrames}).
 * @returns The value, tables rebuilt over the received buffers (no copy).
 */
export function decodeValue(
  value: unknown,
  storage: StorageWiring,
  options: { route?: boolean } = {},
): unknown {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if ("$arrow" in v && (v as EncodedIpc).$arrow instanceof Uint8Array) {
      return arrowFor("decode an Arrow table").tableFromIPC((v as EncodedIpc).$arrow);
    }
    if ("$table" in v) return decodeTable(arrowFor("decode an Arrow table"), (v as EncodedTable).$table);
    if ("$polars" in v && isEncodedPolars(v)) {
      const encoded = v as EncodedPolars;
      return (options.route ? routedFrame(encoded) : undefined) ?? decodePolars(polarsFor(), encoded);
    }
    if ("$bucket" in v) return Bucket.fromData((v as EncodedBucket).$bucket, storage);
    return mapContainer(v, walk);
  };
  return walk(value);
}

// Rebuilds arrays, plain objects, Maps and Sets with `walk` applied inside;
// any other object is returned as it is.
function mapContainer(v: object, walk: (item: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map(walk);
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) out[key] = walk((v as Record<string, unknown>)[key]);
    return out;
  }
  if (v instanceof Map) return new Map([...v].map(([k, item]) => [walk(k), walk(item)]));
  if (v instanceof Set) return new Set([...v].map(walk));
  return v;
}

function decodeTable(arrow: ArrowModule, encoded: EncodedTable["$table"]): Table {
  const { Data, RecordBatch, Struct, Table, Type, Vector } = arrow;
  const strings = [Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary];
  const schema: Schema = arrow.tableFromIPC(encoded.schema).schema;
  const build = (e: EncodedData, type: DataType): Data => {
    const buffers = e.buffers.map((
      b,
    ) => (b ? new TYPED_ARRAYS[b.kind](b.buffer, b.byteOffset, b.length) : undefined));
    // TextDecoder copies shared memory on every call (3x slower row-wise
    // string access), so string bytes get one private copy on arrival.
    if (strings.includes(type.typeId) && buffers[1] && buffers[1].buffer instanceof SharedArrayBuffer) {
      buffers[1] = new Uint8Array(buffers[1] as Uint8Array);
    }
    const children = e.children.map((c, i) => c ? build(c, type.children[i].type) : undefined) as Data[];
    const dictionary = e.dictionary
      // deno-lint-ignore no-explicit-any
      ? new Vector(e.dictionary.map((d) => build(d, (type as any).dictionary)))
      : undefined;
    return new Data(
      type,
      e.offset,
      e.length,
      e.nullCount,
      // deno-lint-ignore no-explicit-any
      buffers as any,
      children,
      // deno-lint-ignore no-explicit-any
      dictionary as any,
      e.variadic,
    );
  };
  const struct = new Struct(schema.fields);
  // A batch without rows carries nothing, and apache-arrow's placeholder for a
  // stream without batches has no child nodes, which its IPC writer trips on.
  const batches = encoded.batches.filter((b) => b.length > 0)
    .map((b) => new RecordBatch(schema, build(b, struct) as Data<Struct>));
  return new Table(schema, batches);
}

/**
 * Rewires lent tables onto buffers that came back from the receiver.
 *
 * @param lent What {@linkcode encodeValue} lent.
 * @param buffers The returned buffers, in the order of the transfer list.
 */
export function reattach(lent: readonly Lent[], buffers: readonly ArrayBuffer[]): void {
  for (const l of lent) {
    const buffer = buffers[l.bufferIndex];
    if (!buffer) continue;
    (l.data as unknown as Record<string, unknown>)[l.slot] = new TYPED_ARRAYS[l.kind](
      buffer,
      l.byteOffset,
      l.length,
    );
  }
}
