// The framing of a piped task's result on stdout (a VM over SSH, a narrowed subprocess): a marker line, then the
// base64 of the v8-serialized result, then an end marker. Anything else the
// task prints to stdout (a stray console.log) is kept as log text, so it can
// never be mistaken for the result.
import { deserialize, serialize } from "node:v8";

const BEGIN = "\n--glacier-result-begin--\n";
const END = "\n--glacier-result-end--\n";

export function frame(value: unknown): Uint8Array {
  const body = new Uint8Array(serialize(value));
  return new TextEncoder().encode(`${BEGIN}${toBase64(body)}${END}`);
}

/** Finds the framed result in stdout; the rest is log text. */
export function unframe(stdout: Uint8Array): { value?: unknown; log: string } {
  const text = new TextDecoder().decode(stdout);
  const start = text.lastIndexOf(BEGIN);
  const end = start < 0 ? -1 : text.indexOf(END, start);
  if (start < 0 || end < 0) return { log: text };
  const body = fromBase64(text.slice(start + BEGIN.length, end));
  return { value: deserialize(body), log: text.slice(0, start) + text.slice(end + END.length) };
}

/**
 * The first complete framed result in a stream's text so far: the value, the
 * log text before it, and the text after it (`rest` is undefined while no
 * whole frame has arrived).
 */
export function takeFrame(text: string): { value?: unknown; log?: string; rest?: string } {
  const start = text.indexOf(BEGIN);
  const end = start < 0 ? -1 : text.indexOf(END, start);
  if (start < 0 || end < 0) return {};
  const body = fromBase64(text.slice(start + BEGIN.length, end));
  return { value: deserialize(body), log: text.slice(0, start), rest: text.slice(end + END.length) };
}

export function toBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(out);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
