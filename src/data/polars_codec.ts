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
 * Between threads the bytes are on a `SharedArrayBuffer`, and a frame read
 * from them where results are routed (the pool's side, `decodePolars(…,
 * true)`) keeps them: sent on to several tasks, it is shared with each, not
 * written again.
 *
 * Other polars values (an `Expr`, a group-by) cannot cross: they are refused
 * with what to pass instead. Telling polars values apart loads nothing;
 * decoding needs nodejs-polars loaded (`loadPolars()` in `_polars.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { DataFrame, LazyDataFrame, Series } from "nodejs-polars";
import type { PolarsModule } from "./_polars.ts";

/** A polars value as data: Arrow IPC stream bytes, or a serialized plan. */
export interface EncodedPolars {
  /** What it was. */
  readonly $polars: "DataFrame" | "Series" | "LazyFrame";
  /** Arrow IPC stream bytes of the data (a Series as a one-column frame). */
  readonly ipc?: Uint8Array;
  /** A LazyFrame's plan, in polars' bincode serialization. */
  readonly plan?: Uint8Array;
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

// Frames read from shared bytes, with those bytes, to send on unchanged.
const held = new WeakMap<object, Uint8Array>();

/**
 * Whether a frame keeps the bytes it was read from (see {@linkcode decodePolars}).
 *
 * @param value A polars value.
 * @returns `true` when it crosses again as those bytes.
 */
export function keepsBytes(value: DataFrame | LazyDataFrame | Series): boolean {
  return held.has(value);
}

/**
 * A frame of its own for code that may change it in place: read again from
 * the bytes `value` was read from and keeps (see {@linkcode decodePolars}),
 * so the change reaches neither those bytes nor the tasks they go to;
 * `value` itself when it keeps none.
 *
 * @param pl The loaded nodejs-polars namespace.
 * @param value A polars value.
 * @returns The copy, or `value`.
 */
export function unshared<T extends DataFrame | LazyDataFrame | Series>(pl: PolarsModule, value: T): T {
  const bytes = held.get(value);
  if (!bytes) return value;
  return decodePolars(pl, {
    $polars: polarsKind(value) === "Series" ? "Series" : "DataFrame",
    ipc: bytes,
  }) as T;
}

/** The polars kinds that cross a boundary. */
const CROSSING = new Set(["DataFrame", "LazyDataFrame", "Series"]);

/**
 * Whether a value is a polars value that can cross ({@linkcode polarsKind}
 * is a DataFrame, LazyFrame or Series).
 *
 * @param value Any value.
 * @returns `true` when {@linkcode encodePolars} takes it.
 */
export function isCrossingPolars(value: unknown): value is DataFrame | LazyDataFrame | Series {
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
 * @param thread `true` for another thread of this process: a LazyFrame travels as its plan and the bytes
 *   are on a `SharedArrayBuffer`; `false` for a process or machine (bytes on an `ArrayBuffer`, a LazyFrame
 *   collected).
 * @returns The encoded value and the buffers to transfer (polars wrote them for this crossing alone).
 */
export function encodePolars(
  value: DataFrame | LazyDataFrame | Series,
  thread: boolean,
): { value: EncodedPolars; transfer: ArrayBuffer[] } {
  const kind = polarsKind(value);
  if (kind === "LazyDataFrame") {
    const lazy = value as LazyDataFrame;
    if (thread) return own({ $polars: "LazyFrame" }, "plan", lazy.serialize("bincode"));
    return own({ $polars: "LazyFrame" }, "ipc", lazy.collectSync().writeIPCStream());
  }
  const $polars = kind === "Series" ? "Series" : "DataFrame";
  const kept = held.get(value);
  if (kept) return thread ? { value: { $polars, ipc: kept }, transfer: [] } : own({ $polars }, "ipc", kept);
  // A Series travels as a one-column frame, which keeps its name and type.
  const bytes = kind === "Series"
    ? (value as Series).toFrame().writeIPCStream()
    : (value as DataFrame).writeIPCStream();
  return thread ? { value: { $polars, ipc: shared(bytes) }, transfer: [] } : own({ $polars }, "ipc", bytes);
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

// The bytes copied once onto a SharedArrayBuffer, which every thread given it reads in place.
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

/**
 * Rebuilds a polars value from {@linkcode encodePolars}' data, reading the
 * received bytes without copying them first.
 *
 * @param pl The loaded nodejs-polars namespace.
 * @param encoded The data.
 * @param keep `true` where results are routed on: a DataFrame or Series read from shared bytes keeps them,
 *   to be sent on without writing it again (until {@linkcode forgetEncoded}).
 * @returns A DataFrame, Series or LazyFrame, as was sent.
 */
export function decodePolars(
  pl: PolarsModule,
  encoded: EncodedPolars,
  keep = false,
): DataFrame | LazyDataFrame | Series {
  const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (encoded.plan) return pl.LazyDataFrame.deserialize(bytes(encoded.plan), "bincode");
  const ipc = encoded.ipc!;
  const frame = pl.readIPCStream(bytes(ipc));
  if (encoded.$polars === "LazyFrame") return frame.lazy();
  const value = encoded.$polars === "Series" ? frame.toSeries(0) : frame;
  if (keep && ipc.buffer instanceof SharedArrayBuffer) held.set(value, ipc);
  return value;
}
