/**
 * How polars values cross a boundary, for the payload codec
 * (`payload.ts`). A `DataFrame` and a `Series` travel as Arrow IPC stream
 * bytes that polars writes once; the bytes are transferred to a worker, not
 * copied again, and the far side reads them back into polars. A `LazyFrame`
 * travels as its plan to another thread or process of this machine (polars'
 * own serialization: file sources stay paths the receiver scans, in-memory
 * sources travel inside the plan), and as its collected result to another
 * machine or into the cache, where local paths mean nothing; it arrives as a
 * `LazyFrame` either way.
 *
 * Between threads the bytes are on a `SharedArrayBuffer`. Where results
 * are routed on (the worker pool's side) a frame is not read at all: it
 * stays those bytes, a {@linkcode RoutedFrame}, shared with every task it
 * goes to, and is read only when the pipeline's own code is given it.
 *
 * Other polars values (an `Expr`, a group-by) cannot cross: they are refused
 * with what to pass instead. Telling polars values apart loads nothing;
 * decoding needs nodejs-polars loaded (`loadPolars()` in `_polars.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Writable } from "node:stream";
import type { DataFrame, LazyDataFrame, Series } from "nodejs-polars";
import type { PolarsModule } from "./_polars.ts";

/** A polars value as data: Arrow IPC stream bytes, or a serialized plan. */
export interface EncodedPolars {
  /** What it was. */
  readonly $polars: "DataFrame" | "Series" | "LazyFrame";
  /**
   * Arrow IPC bytes of the data (a Series as a one-column frame): an IPC
   * stream, or an IPC file (a frame of many chunks to another thread of this
   * process or a checkpoint, which polars writes faster so); readers tell
   * them apart by the file's magic (`ARROW1`).
   */
  readonly ipc?: Uint8Array;
  /** A LazyFrame's plan, in polars' bincode serialization. */
  readonly plan?: Uint8Array;
  /**
   * The frame's name in the thread that wrote it, which keeps the frame
   * itself a while ({@linkcode keepFrame}): a task there reads it as a
   * clone of that frame, not from the bytes.
   */
  readonly token?: string;
}

// Frames this thread wrote for other threads, by token, newest last: a task
// given one back on this thread (the pool prefers the worker that made a
// call's input) takes a clone, which polars makes without copying data
// (columns are shared copy-on-write), instead of reading the bytes again.
const kept = new Map<string, DataFrame | Series>();
/** How many frames a thread keeps: the recent outputs its next calls are likely to read. */
export const KEPT_FRAMES = 4;

/**
 * Keeps a frame this thread encoded, under its token (a pool worker's
 * results; {@linkcode encodePolars} with `keep`).
 */
function keepFrame(token: string, frame: DataFrame | Series): void {
  kept.set(token, frame);
  for (const oldest of kept.keys()) {
    if (kept.size <= KEPT_FRAMES) break;
    kept.delete(oldest);
  }
}

// A kept frame for a token, as a clone of its own; it becomes the newest.
function keptClone(token: string | undefined): DataFrame | Series | undefined {
  const frame = token === undefined ? undefined : kept.get(token);
  if (!frame || token === undefined) return undefined;
  kept.delete(token);
  kept.set(token, frame);
  return frame.clone() as DataFrame | Series;
}

/**
 * The polars class a value is an instance of, told without loading polars:
 * nodejs-polars' objects are Proxies or plain objects whose prototype is
 * `Object.prototype`, named by their `Symbol.toStringTag`.
 *
 * @param value Any value.
 * @returns `"DataFrame"`, `"LazyDataFrame"`, `"Series"`, `"Expr"` or another polars tag, else undefined.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { polarsKind } from "./polars_codec.ts";
 * assert.equal(polarsKind(pl.DataFrame({ a: [1] })), "DataFrame");
 * assert.equal(polarsKind(pl.col("a")), "Expr");
 * assert.equal(polarsKind({ a: [1] }), undefined);
 * ```
 */
export function polarsKind(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object DataFrame]" || tag === "[object LazyDataFrame]") return tag.slice(8, -1);
  const own = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  if (typeof own !== "function") return undefined;
  try {
    const name = own.call(value);
    return typeof name === "string" && /^[A-Z]\w*$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A DataFrame or Series on its way between tasks, where results are routed
 * on: the shared bytes a worker wrote, not read into polars here. It
 * crosses again as the same bytes, to any number of tasks; code that uses
 * it reads it first ({@linkcode readRouted}).
 */
export class RoutedFrame {
  /** Where it was made (the pool's worker), so a call that reads it can go there. */
  home?: unknown;

  /**
   * @param $polars What it is.
   * @param ipc Arrow IPC stream bytes on a `SharedArrayBuffer`.
   * @param token Its name in the thread that wrote it ({@linkcode EncodedPolars.token}).
   */
  constructor(
    readonly $polars: "DataFrame" | "Series",
    readonly ipc: Uint8Array,
    readonly token?: string,
  ) {}
}

/**
 * The frame encoded data holds, to route on unread: a DataFrame or Series on
 * shared bytes; undefined for anything else (which is decoded).
 *
 * @param encoded Data from {@linkcode encodePolars}.
 * @returns The routed frame, or undefined.
 */
export function routedFrame(encoded: EncodedPolars): RoutedFrame | undefined {
  const { $polars, ipc, token } = encoded;
  if ($polars === "LazyFrame" || !ipc || !(ipc.buffer instanceof SharedArrayBuffer)) return undefined;
  return new RoutedFrame($polars, ipc, token);
}

/**
 * Reads a routed frame into polars: a frame of its own, so what code does
 * to it in place reaches neither the bytes nor the other tasks they go to.
 *
 * @param pl The loaded nodejs-polars namespace.
 * @param frame The routed frame.
 * @returns The DataFrame or Series.
 */
export function readRouted(pl: PolarsModule, frame: RoutedFrame): DataFrame | Series {
  return decodePolars(pl, { $polars: frame.$polars, ipc: frame.ipc }) as DataFrame | Series;
}

/** What {@linkcode encodePolars} takes. */
export type CrossingPolars = DataFrame | LazyDataFrame | Series | RoutedFrame;

/** The polars kinds that cross a boundary. */
const CROSSING = new Set(["DataFrame", "LazyDataFrame", "Series"]);

/**
 * Whether a value is a polars value that can cross ({@linkcode polarsKind}
 * is a DataFrame, LazyFrame or Series), or a {@linkcode RoutedFrame}.
 *
 * @param value Any value.
 * @returns `true` when {@linkcode encodePolars} takes it.
 */
export function isCrossingPolars(value: unknown): value is CrossingPolars {
  if (value instanceof RoutedFrame) return true;
  const kind = polarsKind(value);
  return kind !== undefined && CROSSING.has(kind);
}

/**
 * Why a polars value cannot cross, and what to pass instead; undefined for
 * values that can, or that are not polars values.
 *
 * @param value Any value.
 * @returns The advice, to follow "it is ".
 */
export function polarsRefusal(value: unknown): string | undefined {
  const kind = polarsKind(value);
  if (kind === undefined || CROSSING.has(kind)) return undefined;
  if (kind === "Expr") {
    return "a polars Expr, which is code bound to this process's polars, not data; pass what it is built from (a column name, a value) and build the Expr inside the task, or pass the DataFrame it selects from";
  }
  return `a polars ${kind}, which is not data; pass the DataFrame or LazyFrame it comes from, or its result`;
}

/**
 * Encodes a polars DataFrame, Series or LazyFrame.
 *
 * @param value The value ({@linkcode isCrossingPolars}).
 * @param where `thread` for another thread of this process (bytes on a `SharedArrayBuffer`, a LazyFrame as
 *   its plan); `machine` for a file read back on this machine, a checkpoint (a LazyFrame as its plan; a
 *   frame's bytes on an `ArrayBuffer`, or the shared ones of a {@linkcode RoutedFrame}, not to transfer); `remote` for another machine or the cache (bytes on an `ArrayBuffer`, a
 *   LazyFrame collected).
 * @param keep For `thread`: keep the frame in this thread a while, so a task here given it back takes a clone
 *   instead of reading the bytes (a pool worker's results).
 * @returns The encoded value and the buffers to transfer (polars wrote them for this crossing alone).
 */
export function encodePolars(
  value: CrossingPolars,
  where: "thread" | "machine" | "remote",
  keep = false,
): { value: EncodedPolars; transfer: ArrayBuffer[] } {
  const thread = where === "thread";
  if (value instanceof RoutedFrame) {
    const { $polars, ipc, token } = value;
    if (thread) return { value: { $polars, ipc, token }, transfer: [] };
    // A checkpoint writes the shared bytes where they lie; nothing reads them from another process.
    return where === "machine" ? { value: { $polars, ipc }, transfer: [] } : own({ $polars }, "ipc", ipc);
  }
  const kind = polarsKind(value);
  if (kind === "LazyDataFrame") {
    const lazy = value as LazyDataFrame;
    if (where !== "remote") return own({ $polars: "LazyFrame" }, "plan", lazy.serialize("bincode"));
    return own({ $polars: "LazyFrame" }, "ipc", lazy.collectSync().writeIPCStream());
  }
  const $polars = kind === "Series" ? "Series" : "DataFrame";
  // A Series travels as a one-column frame, which keeps its name and type.
  const frame = kind === "Series" ? (value as Series).toFrame() : value as DataFrame;
  // Another machine may run another polars: it gets the stream, the format every reader takes.
  if (where === "remote") return own({ $polars }, "ipc", frame.writeIPCStream());
  if (!thread) return own({ $polars }, "ipc", asFile(frame) ? frame.writeIPC() : frame.writeIPCStream());
  const ipc = sharedIpc(frame);
  if (!keep) return { value: { $polars, ipc }, transfer: [] };
  const token = crypto.randomUUID();
  keepFrame(token, value as DataFrame | Series);
  return { value: { $polars, ipc, token }, transfer: [] };
}

// The bytes as a plain Uint8Array over a buffer of their own (polars hands a
// Node Buffer; a pooled one would share its ArrayBuffer), to transfer.
function own(
  head: { $polars: EncodedPolars["$polars"] },
  field: "ipc" | "plan",
  bytes: Uint8Array,
): { value: EncodedPolars; transfer: ArrayBuffer[] } {
  const alone = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer;
  const plain = alone ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
  return { value: { ...head, [field]: plain }, transfer: [plain.buffer as ArrayBuffer] };
}

/** The address space a frame's shared bytes may grow into (reserved, not allocated). */
const SHARED_RESERVE = 2 ** 34;

// Whether a frame is written as an IPC file rather than a stream. polars'
// stream writer merges a frame's chunks into a few whole record batches
// before it hands them over (8.9 MB pieces for the demo's frame of 111
// chunks, each fresh memory), where its file writer hands over each chunk as
// it is, in pieces of at most ~300 KB, and the reader joins them: for a frame
// of many chunks the file is written in about half the time (the writer is
// the producing task's worker, the reader another worker). A frame of one
// chunk is the other way round (a 100 MB column: ~105 ms as a stream, ~180 ms
// as a file).
function asFile(frame: DataFrame): boolean {
  return frame.nChunks() > 1;
}

// A frame's Arrow IPC bytes on a SharedArrayBuffer, which every thread given
// them reads in place. polars hands them to a Writable piece by piece,
// synchronously; each piece is copied once into a growable SharedArrayBuffer.
// writeIPC() / writeIPCStream() would join the pieces into a new Buffer and
// that would be copied again: fresh memory is what costs here (touching a new
// page costs more than copying into it).
function sharedIpc(frame: DataFrame): Uint8Array {
  const file = asFile(frame);
  const plain = () => shared(file ? frame.writeIPC() : frame.writeIPCStream());
  const Sink = writableClass();
  if (!Sink) return plain();
  let sab: SharedArrayBuffer;
  try {
    sab = new SharedArrayBuffer(0, { maxByteLength: SHARED_RESERVE });
  } catch {
    return plain(); // no address space to reserve
  }
  let length = 0;
  let failed: unknown;
  const sink = new Sink({
    write(chunk: Uint8Array, _encoding, done) {
      try {
        const end = length + chunk.byteLength;
        if (end > sab.byteLength) sab.grow(end);
        new Uint8Array(sab, length, chunk.byteLength).set(chunk);
        length = end;
        done();
      } catch (error) {
        failed ??= error;
        done(error as Error);
      }
    },
  });
  if (file) frame.writeIPC(sink);
  else frame.writeIPCStream(sink);
  // polars writes synchronously (its own writeIPC() relies on it); a piece still buffered would mean it did not.
  if (failed !== undefined || sink.writableLength > 0) return plain();
  return new Uint8Array(sab, 0, length);
}

let writable: typeof Writable | undefined;

// node:stream's Writable, taken from the runtime when a frame is first
// written, not imported: loading node:stream costs ~20 ms in every process
// and worker, and one that never writes a frame never needs it (polars has
// loaded it by the time one is written).
function writableClass(): typeof Writable | undefined {
  const runtime = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  return writable ??=
    (runtime?.getBuiltinModule?.("node:stream") as { Writable?: typeof Writable } | undefined)
      ?.Writable;
}

// The bytes copied once onto a SharedArrayBuffer.
function shared(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}

/**
 * Whether a value is polars data encoded by {@linkcode encodePolars}.
 *
 * @param value Encoded data.
 * @returns `true` for `{ $polars: ... }` with its bytes.
 */
export function isEncodedPolars(value: object): value is EncodedPolars {
  const v = value as EncodedPolars;
  return typeof v.$polars === "string" && (v.ipc instanceof Uint8Array || v.plan instanceof Uint8Array);
}

const FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

// Whether IPC bytes are a file (they start with its magic) rather than a stream (a message length or 0xFFFFFFFF).
function isIpcFile(ipc: Uint8Array): boolean {
  return ipc.byteLength >= 8 && FILE_MAGIC.every((b, i) => ipc[i] === b);
}

/**
 * Rebuilds a polars value from {@linkcode encodePolars}' data, reading the
 * received bytes without copying them first.
 *
 * @param pl The loaded nodejs-polars namespace.
 * @param encoded The data.
 * @returns A DataFrame, Series or LazyFrame, as was sent.
 */
export function decodePolars(pl: PolarsModule, encoded: EncodedPolars): DataFrame | LazyDataFrame | Series {
  const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (encoded.plan) return pl.LazyDataFrame.deserialize(bytes(encoded.plan), "bincode");
  const clone = keptClone(encoded.token);
  if (clone) return encoded.$polars === "LazyFrame" ? (clone as DataFrame).lazy() : clone;
  const ipc = encoded.ipc!;
  const frame = isIpcFile(ipc) ? pl.readIPC(bytes(ipc)) : pl.readIPCStream(bytes(ipc));
  if (encoded.$polars === "Series") return frame.toSeries(0);
  return encoded.$polars === "LazyFrame" ? frame.lazy() : frame;
}
