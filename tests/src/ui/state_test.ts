// RunState over the .glacier/ folder real runs leave: which runs changed
// between scans, and a call's log read from its end, then from an offset as
// it grows.
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOG_CHUNK_BYTES, RunState } from "../../../src/ui/state.ts";
import { runIds, runPipeline, uiProject } from "./_project.ts";

Deno.test("RunState.refresh() names each run that appeared, changed or went, once", async () => {
  await using p = await uiProject();
  const changes: string[][] = [];
  const state = new RunState(join(p.cwd, ".glacier"), { onChange: (ids) => changes.push([...ids]) });
  await state.refresh();
  assert.deepEqual(state.runs(), []);
  assert.deepEqual(changes, [], "an empty project is no change");
  assert.equal((await runPipeline(p, "broken")).code, 1);
  const [runId] = await runIds(p, "broken");
  await state.refresh();
  await state.refresh();
  assert.deepEqual(changes, [[runId]]);
  assert.deepEqual(state.runs().map((r) => [r.runId, r.status, r.counts]), [
    [runId, "failed", { failed: 1, skipped: 1 }],
  ]);
  await Deno.remove(join(p.runs, `${runId}.json`));
  await state.refresh();
  assert.deepEqual(changes, [[runId], [runId]]);
  assert.deepEqual(state.runs(), []);
});

Deno.test("RunState.log() gives a long log's last part from a line start, then what is appended from an offset", async () => {
  await using p = await uiProject();
  assert.equal((await runPipeline(p, "broken")).code, 1);
  const [runId] = await runIds(p, "broken");
  const state = new RunState(join(p.cwd, ".glacier"));
  await state.refresh();
  const [call] = (await state.view(runId))!.calls;
  assert.deepEqual(call.logs, ["parse.1.log"]);
  const file = join(p.cwd, ".glacier", "logs", runId, "parse.1.log");
  const line = "x".repeat(99) + "\n";
  await Deno.writeTextFile(file, line.repeat(Math.ceil(LOG_CHUNK_BYTES / line.length) + 50), {
    append: true,
  });
  const printed = 74; // what parse printed: four lines
  assert.equal(
    (await state.log(runId, "parse.1.log", 0))?.text.slice(0, printed).endsWith("header row\n"),
    true,
  );
  const size = (await Deno.stat(file)).size;
  const tail = (await state.log(runId, "parse.1.log"))!;
  assert.equal(tail.end, size);
  assert.ok(tail.start > 0 && (tail.start - printed) % line.length === 0, `starts at a line: ${tail.start}`);
  assert.ok(tail.text.startsWith("x") && tail.text.length <= LOG_CHUNK_BYTES);
  await Deno.writeTextFile(file, "one more line\n", { append: true });
  assert.deepEqual(await state.log(runId, "parse.1.log", tail.end), {
    text: "one more line\n",
    start: size,
    end: size + 14,
    size: size + 14,
  });
  assert.equal(await state.log(runId, "../../runs/x.1.log"), undefined);
  assert.equal(await state.log("other-run", "parse.1.log"), undefined);
});
