import assert from "node:assert/strict";
import { parseCsv } from "../../../src/data/csv.ts";

const column = (text: string, name: string) => parseCsv(text, "mem://t.csv").getChild(name)!;

Deno.test("CSV: a whole number with a leading zero is a code and stays a string", () => {
  const ids = column("id,n\n00123,1\n00456,2\n", "id");
  assert.equal(String(ids.type), "Utf8");
  assert.deepEqual(ids.toArray(), ["00123", "00456"]);
  assert.equal(String(column("id,n\n00123,1\n00456,2\n", "n").type), "Int32");
  assert.equal(String(column("z\n0\n-0\n7\n", "z").type), "Int32", "a lone 0 is a number");
});

Deno.test("CSV: whole numbers beyond int32 are int64 and exact beyond 2^53", () => {
  const n = column("n\n9007199254740993\n1\n-9223372036854775808\n", "n");
  assert.equal(String(n.type), "Int64");
  assert.deepEqual([...n.toArray()], [9007199254740993n, 1n, -9223372036854775808n]);
  const huge = column("n\n123456789012345678901234567890\n", "n");
  assert.deepEqual(huge.toArray(), ["123456789012345678901234567890"], "beyond int64: kept as written");
});

Deno.test("CSV: NaN and infinities keep a float column a float column", () => {
  const x = column("x\n1.5\nNaN\ninf\n-Infinity\n", "x");
  assert.equal(String(x.type), "Float64");
  const values = [...x.toArray()];
  assert.equal(values[0], 1.5);
  assert.ok(Number.isNaN(values[1]));
  assert.deepEqual(values.slice(2), [Infinity, -Infinity]);
});

Deno.test("CSV: timestamps without an offset read as UTC on any machine's time zone", async () => {
  const script = `import { parseCsv } from ${
    JSON.stringify(new URL("../../../src/data/csv.ts", import.meta.url).href)
  };
const t = parseCsv("t\\n2024-01-01 10:00:00\\n2024-06-01T08:30:00+02:00\\n", "mem://t.csv");
console.log(JSON.stringify([...t.getChild("t").toArray()].map(Number)));`;
  for (const tz of ["UTC", "America/New_York", "Asia/Kolkata"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
      Date.UTC(2024, 0, 1, 10),
      Date.UTC(2024, 5, 1, 6, 30),
    ], tz);
  }
});
