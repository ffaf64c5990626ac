// Sealed files: how cache entries and checkpoints lie on disk.
//
//   "GLC4" | CRC-32 of all that follows (uint32) | written at (float64 ms) |
//   structure length (uint32) | segment count (uint32) | each segment's length (float64) |
//   the structure (v8-serialized, every typed array in it replaced by a segment's number) |
//   the segments, each starting on an 8-byte boundary.
//
// A value's byte buffers (a frame's Arrow IPC, a table's) are written where
// they lie, shared memory included: never copied into a serialization, never
// joined into one buffer, checksummed in place. Reading takes one file
// buffer; the typed arrays come back as views of it.
//
// The checksum finds corruption (a flipped bit, a torn or mixed-up file),
// not tampering: what is in `.glacier/` is as trusted as the code that runs.
// CRC-32 (zlib's, native) reads ~25 GB/s where SHA-256 read ~1.5 GB/s: a
// demo checkpoint of 33 MB was 18-22 ms of hashing, now ~1 ms. Files of the
// older "GLC3" layout (a SHA-256 in place of the CRC) are still read.
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { DefaultDeserializer, DefaultSerializer } from "node:v8";
import { crc32 } from "node:zlib";

const MAGIC = new TextEncoder().encode("GLC4");
const SUM_AT = MAGIC.byteLength;
const FIXED = SUM_AT + 4 + 8 + 4 + 4; // magic, sum, time, structure length, segment count
/** The older layout: the same, with a SHA-256 (32 bytes) where the CRC is. */
const LEGACY_MAGIC = new TextEncoder().encode("GLC3");
const LEGACY_SUM = 32;
const SEGMENT = 0x53; // the tag of a typed array stored as a segment

// The typed arrays (and DataView) a structure may hold, by the number written for each.
const VIEWS = [
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigUint64Array,
  BigInt64Array,
  DataView,
] as const;
type ViewClass = (typeof VIEWS)[number];

function kindOf(view: ArrayBufferView): number {
  // A Node Buffer is stored as the Uint8Array it is.
  const kind = VIEWS.findIndex((c) => view instanceof c);
  if (kind < 0) throw new TypeError(`Cannot store a ${view.constructor.name}: it is not a typed array`);
  return kind;
}

class SegmentWriter extends DefaultSerializer {
  readonly segments: Uint8Array[] = [];
  _writeHostObject(view: ArrayBufferView): void {
    this.writeUint32(SEGMENT);
    this.writeUint32(kindOf(view));
    this.writeUint32(this.segments.length);
    this.segments.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
}

class SegmentReader extends DefaultDeserializer {
  readonly #segments: readonly Uint8Array[];
  constructor(structure: Uint8Array, segments: readonly Uint8Array[]) {
    super(Buffer.from(structure.buffer, structure.byteOffset, structure.byteLength));
    this.#segments = segments;
  }
  _readHostObject(): ArrayBufferView {
    if (this.readUint32() !== SEGMENT) throw new RangeError("not a segment");
    const View: ViewClass | undefined = VIEWS[this.readUint32()];
    let bytes = this.#segments[this.readUint32()];
    if (!View || !bytes) throw new RangeError("a segment is missing");
    const size = View === DataView ? 1 : (View as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (bytes.byteOffset % size) bytes = bytes.slice(); // misaligned (a journal's inline copy): aligned anew
    return View === DataView
      ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : new (View as Uint8ArrayConstructor)(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
  }
}

const pad = (n: number) => (8 - (n % 8)) % 8;
const ZEROS = new Uint8Array(8);

/**
 * The parts of a sealed file holding a value (plain data and typed arrays),
 * to write in order; its typed arrays' bytes are among them uncopied.
 *
 * @param value The value.
 * @param writtenAt When it was written (ms since the epoch).
 * @returns The parts.
 */
export function sealParts(value: unknown, writtenAt: number): Uint8Array[] {
  const writer = new SegmentWriter();
  writer.writeHeader();
  writer.writeValue(value);
  const structure = new Uint8Array(writer.releaseBuffer());
  const { segments } = writer;
  const head = new Uint8Array(FIXED + 8 * segments.length);
  const view = new DataView(head.buffer);
  head.set(MAGIC, 0);
  view.setFloat64(SUM_AT + 4, writtenAt, true);
  view.setUint32(SUM_AT + 12, structure.byteLength, true);
  view.setUint32(SUM_AT + 16, segments.length, true);
  segments.forEach((s, i) => view.setFloat64(FIXED + 8 * i, s.byteLength, true));
  const parts: Uint8Array[] = [head, structure];
  let at = head.byteLength + structure.byteLength;
  for (const segment of segments) {
    if (pad(at)) parts.push(ZEROS.subarray(0, pad(at)));
    at += pad(at);
    parts.push(segment);
    at += segment.byteLength;
  }
  let sum = crc32(head.subarray(SUM_AT + 4));
  for (const part of parts.slice(1)) sum = crc32(part, sum);
  view.setUint32(SUM_AT, sum, true);
  return parts;
}

/** The size of a sealed file's parts. */
export function sealedSize(parts: readonly Uint8Array[]): number {
  return parts.reduce((n, p) => n + p.byteLength, 0);
}

/** The parts joined into one buffer (for a small entry kept as text). */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(sealedSize(parts));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * The value and write time of a sealed file's bytes, or undefined when they
 * are not intact (a flipped byte, a truncation, another format).
 *
 * @param bytes The file's bytes.
 * @returns The value (its typed arrays views of `bytes`) and when it was written.
 */
export function unseal(bytes: Uint8Array): { value: unknown; writtenAt: number } | undefined {
  const is = (magic: Uint8Array) =>
    bytes.byteLength >= magic.byteLength && magic.every((b, i) => bytes[i] === b);
  const legacy = is(LEGACY_MAGIC);
  if (!legacy && !is(MAGIC)) return undefined;
  const sumLength = legacy ? LEGACY_SUM : 4;
  const fixed = SUM_AT + sumLength + 8 + 4 + 4;
  if (bytes.byteLength < fixed) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (legacy) {
    const sum = createHash("sha256").update(bytes.subarray(SUM_AT + LEGACY_SUM)).digest();
    if (sum.some((b, i) => bytes[SUM_AT + i] !== b)) return undefined;
  } else if (crc32(bytes.subarray(SUM_AT + 4)) !== view.getUint32(SUM_AT, true)) return undefined;
  const fields = SUM_AT + sumLength; // written at, structure length, segment count
  const structureLength = view.getUint32(fields + 8, true);
  const count = view.getUint32(fields + 12, true);
  if (bytes.byteLength < fixed + 8 * count) return undefined;
  let at = fixed + 8 * count;
  const structure = bytes.subarray(at, at + structureLength);
  at += structureLength;
  const segments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    at += pad(at);
    const length = view.getFloat64(fixed + 8 * i, true);
    segments.push(bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.byteLength) return undefined;
  const reader = new SegmentReader(structure, segments);
  reader.readHeader();
  return { value: reader.readValue(), writtenAt: view.getFloat64(fields, true) };
}
