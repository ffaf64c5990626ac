import assert from "node:assert/strict";
import { formatFor, hasFormat } from "../../../src/data/formats.ts";
import { GlacierError } from "../../../src/errors.ts";

Deno.test("formatFor() picks the format from the extension, in any case", () => {
  const cases: Record<string, string> = {
    "a/b.parquet": "parquet",
    "b.PQ": "parquet",
    "c.arrow": "arrow",
    "c.feather": "arrow",
    "d.csv": "csv",
    "e.json": "json",
    "f.ndjson": "ndjson",
    "f.JSONL": "ndjson",
  };
  for (const [path, name] of Object.entries(cases)) assert.equal(formatFor(path, path).name, name, path);
});

Deno.test("formatFor() names the URI and lists the known extensions for an unknown one", () => {
  assert.throws(
    () => formatFor("x.xlsx", "s3://lake/x.xlsx"),
    (error: unknown) =>
      error instanceof GlacierError && error.code === "USER:FORMAT_UNKNOWN" &&
      error.message.includes("s3://lake/x.xlsx") && error.message.includes(".parquet") &&
      error.message.includes(".ndjson"),
  );
});

Deno.test("hasFormat() tells table files from other objects", () => {
  assert.ok(hasFormat("x/part-0.parquet"));
  assert.ok(!hasFormat("x/_SUCCESS"));
  assert.ok(!hasFormat("x/readme.txt"));
});
