// Sealed files (src/run/_sealed.ts), the layout of cache entries and
// checkpoints: values with typed arrays round-trip as views of the file's
// bytes, any flipped byte or truncation reads as not intact, and files of
// the older SHA-256 layout ("GLC3") still read.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { joinParts, sealParts, unseal } from "../../../src/run/_sealed.ts";

const shared = new Uint8Array(new SharedArrayBuffer(13)).fill(7);
const value = {
  name: "clean",
  n: 3,
  ints: Int32Array.from([1, -2, 3]),
  bytes: shared,
  nested: [new Float64Array([0.5])],
};

Deno.test("a sealed value round-trips, its typed arrays (shared memory too) read back as views of the file", () => {
  const file = joinParts(sealParts(value, 1234.5));
  const back = unseal(file)!;
  assert.equal(back.writtenAt, 1234.5);
  const v = back.value as typeof value;
  assert.deepEqual([...v.ints], [1, -2, 3]);
  assert.deepEqual([...v.bytes], Array(13).fill(7));
  assert.equal(v.nested[0][0], 0.5);
  assert.equal(v.ints.buffer, file.buffer, "a view of the file's bytes, not a copy");
});

Deno.test("a sealed file with any one byte flipped, or cut short, is not intact", () => {
  const file = joinParts(sealParts(value, 1));
  for (let i = 0; i < file.byteLength; i++) {
    const bad = file.slice();
    bad[i] ^= 0x10;
    assert.equal(unseal(bad), undefined, `byte ${i} of ${file.byteLength} flipped`);
  }
  for (const length of [0, 3, 8, 30, file.byteLength - 1]) {
    assert.equal(unseal(file.subarray(0, length)), undefined, `cut to ${length} bytes`);
  }
  assert.equal(unseal(new Uint8Array([...file, 0])), undefined, "a byte too many");
});

// The older layout, written as Glacier wrote it before CRC-32: magic, SHA-256 of what follows, then the same fields.
function legacySeal(structureOf: Uint8Array, segments: Uint8Array[], writtenAt: number): Uint8Array {
  const fixed = 4 + 32 + 8 + 4 + 4;
  const head = new Uint8Array(fixed + 8 * segments.length);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode("GLC3"), 0);
  view.setFloat64(36, writtenAt, true);
  view.setUint32(44, structureOf.byteLength, true);
  view.setUint32(48, segments.length, true);
  segments.forEach((s, i) => view.setFloat64(fixed + 8 * i, s.byteLength, true));
  const parts = [head, structureOf];
  let at = head.byteLength + structureOf.byteLength;
  for (const s of segments) {
    const pad = (8 - (at % 8)) % 8;
    parts.push(new Uint8Array(pad));
    parts.push(s);
    at += pad + s.byteLength;
  }
  const file = joinParts(parts);
  file.set(createHash("sha256").update(file.subarray(36)).digest(), 4);
  return file;
}

Deno.test("a sealed file of the older SHA-256 layout still reads, and is checked", () => {
  // Take the structure and segments of a new file and lay them out the old way.
  const parts = sealParts({ a: Int32Array.from([5, 6]), b: "x" }, 9);
  const head = new DataView(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength);
  const count = head.getUint32(20, true);
  const segments = parts.slice(2).filter((p) =>
    p.byteLength > 0 && !(p.every((b) => b === 0) && p.byteLength < 8)
  );
  assert.equal(segments.length, count);
  const old = legacySeal(parts[1], segments, 9);
  const back = unseal(old)!;
  assert.equal(back.writtenAt, 9);
  assert.deepEqual([...(back.value as { a: Int32Array }).a], [5, 6]);
  const bad = old.slice();
  bad[bad.length - 1] ^= 1;
  assert.equal(unseal(bad), undefined);
});
