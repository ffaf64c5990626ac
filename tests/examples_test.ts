import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

// Each seed-pattern example runs as a user would run it, in its own process,
// from another folder: its data and its .glacier/ are in its project (this
// repository), never in the shell's working directory.
const PROJECT = fileURLToPath(new URL("../", import.meta.url));

function newReports(since: number): string[] {
  const dir = `${PROJECT}.glacier/runs`;
  return [...Deno.readDirSync(dir)].filter((e) => Deno.statSync(`${dir}/${e.name}`).mtime!.getTime() >= since)
    .map((e) => e.name);
}
const cases: [string, RegExp][] = [
  ["sequential.ts", /sum of squares: 385/],
  ["fan_out.ts", /min: 3, max: 19/],
  ["fan_in.ts", /Lovelace: 35, Babbage: 12/],
  ["conditional.ts", /first 10 of 100[\s\S]*all 100, mean 49.5/],
  ["dynamic_fan_out.ts", /total bytes: 155/],
  ["multi_output.ts", /train has 8 rows, test sums to 19/],
];

for (const [file, expected] of cases) {
  Deno.test(`examples/patterns/${file} runs and prints its result`, async () => {
    const cwd = await Deno.makeTempDir();
    const since = Date.now() - 1000;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`../examples/patterns/${file}`, import.meta.url).pathname],
      cwd,
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, expected);
    assert.ok(newReports(since).length >= 1, "a run report was written in the project's .glacier/runs");
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing was written in the working directory");
  });
}

Deno.test("the demo ETL runs end to end on a small sample and writes its outputs", async () => {
  // Its buckets go under a data root of the test's own, so the project's data/demo (the
  // million-order sample `deno task demo` and the bench reuse) is left as it is.
  const cwd = await Deno.makeTempDir();
  const data = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${PROJECT}cli.ts`,
        "run",
        `${PROJECT}examples/etl.ts`,
        "--data-root",
        data,
        "--params",
        "rows=20000",
        "--quiet",
      ],
      cwd,
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(
      [...Deno.readDirSync(cwd)],
      [],
      "the demo writes into its data root, not the working directory",
    );
    const report = JSON.parse(await Deno.readTextFile(`${data}/demo/output/report.json`));
    assert.equal(report.validation.passed, true);
    assert.equal(report.regions.length, 5);
    assert.ok(report.customers > 1000);
    assert.ok(Deno.statSync(`${data}/demo/output/customer_features.arrow`).size > 0);
    const lines = (await Deno.readTextFile(`${data}/demo/raw/orders.csv`)).trimEnd().split("\n");
    assert.equal(lines.length, 20_001, "the sample has the rows asked for, and a header");
  } finally {
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
