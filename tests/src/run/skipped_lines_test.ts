// The run report counts what Bucket.scan({ skipBadLines: true }) dropped: per
// call and per object, wherever the call ran (this process, a pool worker, a
// narrowed subprocess), for the call that scanned even when another collects.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { glacierDir } from "../../../src/_project.ts";
import * as fx from "../../fixtures/skipped_lines_tasks.ts";
import { currentSkippedLines, SkippedLineCounter, withSkippedLines } from "../../../src/run/skipped_lines.ts";

const GLACIER = glacierDir(new URL("../../fixtures/skipped_lines_tasks.ts", import.meta.url).href);

for (const workers of [0, 1]) {
  Deno.test(`workers: ${workers}: the run report counts the CSV rows skipBadLines dropped, per call and object`, async () => {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "glacier-skipped-" }));
    try {
      await fx.writeInputs(root);
      const value = await fx.skipping.run({ workers, quiet: true, dataRoot: root, durable: false });
      assert.deepEqual(value, { kept: 3, narrowed: 3, parts: 3, strict: 1 });
      const report = fx.skipping.lastRun!;
      const uri = (path: string) => pathToFileURL(join(root, "lake", path)).href;
      const of = (id: string) => report.tasks.find((t) => t.id === id)?.skippedLines;
      assert.deepEqual(of("kept"), { [uri("bad.csv")]: 2 });
      assert.deepEqual(of("narrowedKept"), { [uri("bad.csv")]: 2 });
      assert.deepEqual(of("extract"), { [uri("parts/a.csv")]: 1, [uri("parts/b.csv")]: 0 });
      assert.equal(of("height"), undefined, "the call that collects did not scan");
      assert.equal(of("strict"), undefined, "a scan without skipBadLines counts nothing");
      // The report on disk says the same.
      const written = JSON.parse(await Deno.readTextFile(join(GLACIER, "runs", `${report.runId}.json`)));
      assert.deepEqual(written.tasks.find((t: { id: string }) => t.id === "kept").skippedLines, {
        [uri("bad.csv")]: 2,
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("SkippedLineCounter keeps one count per object and leaves out a count that failed", async () => {
  const counter = new SkippedLineCounter();
  assert.equal(counter.empty, true);
  assert.equal(await counter.settle(), undefined);
  withSkippedLines(counter, () => {
    currentSkippedLines()!.note("file:///a.csv", Promise.resolve(1));
    currentSkippedLines()!.note("file:///a.csv", Promise.resolve(4));
    currentSkippedLines()!.note("file:///b.csv", Promise.reject(new Error("gone")));
  });
  assert.deepEqual(await counter.settle(), { "file:///a.csv": 4 });
});
