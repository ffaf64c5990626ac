import assert from "node:assert/strict";
import { Table, tableFromArrays } from "apache-arrow";
import { formatJson, formatNdjson, parseJson, parseNdjson } from "../../../src/data/json.ts";
import { GlacierError } from "../../../src/errors.ts";
import { rowsOf, sampleTable, schemaOf } from "../../support/tables.ts";

Deno.test("parseJson() infers integer, decimal, boolean, date, timestamp and string columns", () => {
  const table = parseJson(
    JSON.stringify([
      { i: 1, f: 1, b: true, d: "2024-01-02", t: "2024-01-02T03:04:05Z", s: "x" },
      { i: 2, f: 2.5, b: false, d: "2024-02-03", t: "2024-01-02T03:04:05.250Z", s: "2024-01-01" },
    ]),
    "mem://x.json",
  );
  assert.deepEqual(schemaOf(table), [
    "i: Int32",
    "f: Float64",
    "b: Bool",
    "d: Date32<DAY>",
    "t: Timestamp<MILLISECOND>",
    "s: Utf8",
  ]);
  assert.equal(table.getChild("f")!.get(1), 2.5);
  assert.equal(Number(table.getChild("t")!.get(1)), Date.UTC(2024, 0, 2, 3, 4, 5, 250));
});

Deno.test("parseJson() makes a missing key or null a null, keeping first-seen column order", () => {
  const table = parseJson('[{"a": 1}, {"b": "x", "a": null}, {"b": null}]', "mem://x.json");
  assert.deepEqual(table.schema.fields.map((f) => f.name), ["a", "b"]);
  assert.deepEqual(rowsOf(table), [{ a: 1, b: null }, { a: null, b: "x" }, { a: null, b: null }]);
});

Deno.test("parseJson() reads nested objects as structs and mixed values as JSON text", () => {
  const table = parseJson(
    '[{"p": {"x": 1, "y": "a"}, "m": 1}, {"p": {"x": 2, "y": "b"}, "m": "two"}]',
    "mem://x.json",
  );
  assert.match(String(table.schema.fields[0].type), /^Struct/);
  assert.equal(table.getChild("p")!.get(1)!.toJSON().y, "b");
  assert.deepEqual([...table.getChild("m")!], ["1", "two"]);
});

Deno.test("parseJson() refuses text that is not an array of objects, naming the URI", () => {
  for (const text of ['{"a": 1}', "[1, 2]", "[{]", "null"]) {
    assert.throws(
      () => parseJson(text, "s3://lake/bad.json"),
      (error: unknown) =>
        error instanceof GlacierError && error.code === "USER:JSON_MALFORMED" &&
        error.message.includes("s3://lake/bad.json"),
      text,
    );
  }
});

Deno.test("parseNdjson() skips blank lines and names the line of a malformed row", () => {
  assert.equal(parseNdjson('{"a": 1}\n\n{"a": 2}\r\n', "mem://x.ndjson").numRows, 2);
  assert.throws(
    () => parseNdjson('{"a": 1}\n\n{"a": \n', "mem://x.ndjson"),
    (error: unknown) => error instanceof GlacierError && /mem:\/\/x\.ndjson: line 3/.test(error.message),
  );
  assert.throws(
    () => parseNdjson('{"a": 1}\n[1]\n', "mem://x.ndjson"),
    (error: unknown) => error instanceof GlacierError && /line 2 is an array/.test(error.message),
  );
});

Deno.test("formatJson() and parseJson() round-trip a table's values", () => {
  const table = sampleTable(12);
  const back = parseJson(formatJson(table), "mem://x.json");
  assert.deepEqual(rowsOf(back), rowsOf(table));
  assert.deepEqual(schemaOf(back), [
    "id: Int32",
    "score: Float64",
    "name: Utf8",
    "ok: Bool",
    "at: Timestamp<MILLISECOND>",
  ]);
});

Deno.test("formatNdjson() writes one object a line that parseNdjson() reads back", () => {
  const table = sampleTable(7);
  const text = formatNdjson(table);
  assert.equal(text.split("\n").length, 8);
  assert.deepEqual(rowsOf(parseNdjson(text, "mem://x.ndjson")), rowsOf(table));
});

Deno.test("formatJson() writes 64-bit integers as numbers when exact and as text when not", () => {
  const table = tableFromArrays({ big: BigInt64Array.from([1n, 9007199254740993n]) });
  assert.deepEqual(JSON.parse(formatJson(table)), [{ big: 1 }, { big: "9007199254740993" }]);
});

Deno.test("parseJson() reads an empty array as an empty table", () => {
  const table = parseJson("[]", "mem://x.json");
  assert.ok(table instanceof Table);
  assert.equal(table.numRows, 0);
});
