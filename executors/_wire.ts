// Glacier's JSON wire format for executors whose transport is JSON (Lambda's
// Invoke API): the payload codec's values with bytes as base64 and the
// structured-clone types JSON lacks (undefined, Map, Set, Date, bigint,
// non-finite numbers, typed arrays) as one-key tagged objects.

import { TYPED_ARRAYS } from "../src/data/payload.ts";

type Base64Array = Uint8Array & { toBase64(): string };
const fromBase64 = (Uint8Array as unknown as { fromBase64(text: string): Uint8Array }).fromBase64;

function bytesOf(view: ArrayBufferView): Base64Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength) as Base64Array;
}

function toWire(v: unknown): unknown {
  if (v === undefined) return { $u: 1 };
  if (typeof v === "number") {
    if (Number.isFinite(v) && !Object.is(v, -0)) return v;
    return { $num: Object.is(v, -0) ? "-0" : String(v) };
  }
  if (typeof v === "bigint") return { $big: v.toString() };
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return { $b64: bytesOf(v).toBase64() };
  if (ArrayBuffer.isView(v)) return { $ta: v.constructor.name, $b64: bytesOf(v).toBase64() };
  if (v instanceof ArrayBuffer) return { $ab: (new Uint8Array(v) as Base64Array).toBase64() };
  if (v instanceof Date) return { $date: v.getTime() };
  if (v instanceof Map) return { $map: [...v].map(([k, item]) => [toWire(k), toWire(item)]) };
  if (v instanceof Set) return { $set: [...v].map(toWire) };
  if (v instanceof RegExp) return { $re: [v.source, v.flags] };
  if (v instanceof Error) return { $err: [v.name, v.message, v.stack ?? ""] };
  if (Array.isArray(v)) return v.map(toWire);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) out[key] = toWire((v as Record<string, unknown>)[key]);
  return out;
}

function fromWire(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(fromWire);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 || (keys.length === 2 && "$ta" in o)) {
    if ("$u" in o) return undefined;
    if ("$num" in o) return o.$num === "-0" ? -0 : Number(o.$num);
    if ("$big" in o) return BigInt(o.$big as string);
    if ("$b64" in o && "$ta" in o) {
      const bytes = fromBase64(o.$b64 as string);
      const View = TYPED_ARRAYS[o.$ta as string];
      return View ? new View(bytes.buffer as ArrayBuffer) : bytes;
    }
    if ("$b64" in o) return fromBase64(o.$b64 as string);
    if ("$ab" in o) return fromBase64(o.$ab as string).buffer;
    if ("$date" in o) return new Date(o.$date as number);
    if ("$map" in o) {
      return new Map((o.$map as [unknown, unknown][]).map(([k, item]) => [fromWire(k), fromWire(item)]));
    }
    if ("$set" in o) return new Set((o.$set as unknown[]).map(fromWire));
    if ("$re" in o) return new RegExp(...(o.$re as [string, string]));
    if ("$err" in o) {
      const [name, message, stack] = o.$err as string[];
      const error = new Error(message);
      error.name = name;
      error.stack = stack;
      return error;
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromWire(o[key]);
  return out;
}

/** Encodes a payload-codec value as JSON text. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(toWire(value));
}

/** Decodes JSON text made by {@linkcode toWireJson}. */
export function fromWireJson(text: string): unknown {
  return fromWire(JSON.parse(text));
}
