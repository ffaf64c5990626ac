/**
 * Checks that every storage backend must pass, shared by the local bucket
 * tests and the S3 store tests so both prove the same behaviour.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Bucket } from "../../src/resources/storage.ts";
import { GlacierError } from "../../src/errors.ts";
import { rowsOf, sampleTable, schemaOf } from "./tables.ts";

/** Every table extension and whether it keeps exact Arrow types (text formats infer them). */
export const FORMAT_CASES: readonly { ext: string; exactTypes: boolean }[] = [
  { ext: "parquet", exactTypes: true },
  { ext: "arrow", exactTypes: true },
  { ext: "feather", exactTypes: true },
  { ext: "csv", exactTypes: false },
  { ext: "json", exactTypes: false },
  { ext: "ndjson", exactTypes: false },
  { ext: "jsonl", exactTypes: false },
];

/** Writes the sample table in every format under `dir` and scans each back. */
export async function assertFormatsRoundTrip(dir: Bucket): Promise<void> {
  const table = sampleTable(40);
  for (const { ext, exactTypes } of FORMAT_CASES) {
    const bucket = dir.at(`${dir.path}round/trip.${ext}`);
    await bucket.write(table);
    assert.ok(await bucket.exists(), ext);
    const back = await bucket.scanArrow();
    assert.deepEqual(rowsOf(back), rowsOf(table), ext);
    if (exactTypes) assert.deepEqual(schemaOf(back), schemaOf(table), ext);
  }
}

/** A GlacierError with this code whose message holds every given text. */
export function glacierError(code: string, ...texts: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof GlacierError, `expected a GlacierError, got ${error}`);
    assert.equal(error.code, code, error.message);
    for (const text of texts) {
      assert.ok(error.message.includes(text), `${JSON.stringify(text)} not in: ${error.message}`);
    }
    return true;
  };
}
