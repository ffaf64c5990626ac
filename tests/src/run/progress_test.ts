// deno-lint-ignore-file no-control-regex -- the live view is made of escape codes
import assert from "node:assert/strict";
import { createProgress } from "../../../src/run/progress.ts";
import { TaskError } from "../../../mod.ts";

function writer(terminal: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    writeSync(p: Uint8Array) {
      chunks.push(new TextDecoder().decode(p));
      return p.length;
    },
    isTerminal: () => terminal,
  };
}

const event = (type: "queued" | "start" | "done" | "failed" | "retry", id: string, attempt = 1) => ({
  type,
  id,
  task: id,
  executor: "local",
  attempt,
  ...(type === "failed" || type === "retry"
    ? { error: new TaskError("boom", { pipeline: "p", task: id, attempt }) }
    : {}),
});

Deno.test("progress prints one plain line per finished call when not on a terminal", () => {
  const out = writer(false);
  const progress = createProgress({ pipeline: "p", writer: out });
  progress.event(event("queued", "a"));
  progress.event(event("start", "a"));
  progress.event(event("done", "a"));
  progress.event(event("start", "b"));
  progress.event(event("retry", "b", 2));
  progress.event(event("failed", "b", 2));
  progress.finish("summary line");
  const text = out.chunks.join("");
  assert.match(text, /✓ done +a \(local, \d+ ms\)/);
  assert.match(text, /↻ retry +b — Task "b" of pipeline "p" failed on attempt 2: boom/);
  assert.match(text, /✗ failed +b/);
  assert.ok(text.trimEnd().endsWith("summary line"));
  assert.ok(!text.includes("\x1b["), "no escape codes off a terminal");
});

Deno.test("progress redraws a live table in place on a terminal", async () => {
  const out = writer(true);
  const progress = createProgress({ pipeline: "live", writer: out });
  progress.event(event("queued", "a"));
  progress.event(event("queued", "b"));
  progress.event(event("start", "a"));
  await new Promise((r) => setTimeout(r, 250));
  progress.event(event("done", "a"));
  progress.finish("done");
  const text = out.chunks.join("");
  assert.match(text, /\x1b\[1mlive\x1b\[0m/);
  assert.match(text, /▶ a +local +running/);
  assert.match(text, /\x1b\[\d+F\x1b\[J/); // moved up and cleared: redrawn in place
  assert.match(text, /✓ a +local +done/);
});

Deno.test("quiet progress writes nothing", () => {
  const out = writer(true);
  const progress = createProgress({ pipeline: "p", writer: out, quiet: true });
  progress.event(event("start", "a"));
  progress.finish("x");
  assert.deepEqual(out.chunks, []);
});

Deno.test("a call restored from a checkpoint shows as restored, one from the cache as cached; task output goes above the table", () => {
  const out = writer(false);
  const printed: string[] = [];
  const stream = { writeSync: (p: Uint8Array) => (printed.push(new TextDecoder().decode(p)), p.length) };
  const progress = createProgress({
    pipeline: "p",
    writer: out,
    streams: { stdout: stream, stderr: stream },
  });
  progress.event({ ...event("queued", "a"), type: "cached", from: "checkpoint" });
  progress.event({ ...event("queued", "b"), type: "cached", from: "cache" });
  progress.output("stdout", "a task says hi\n");
  const text = out.chunks.join("");
  assert.match(text, /↺ restored a/);
  assert.match(text, /⚡ cached +b/);
  assert.deepEqual(printed, ["a task says hi\n"]);

  const live = writer(true);
  const table = createProgress({ pipeline: "p", writer: live, streams: { stdout: stream, stderr: stream } });
  table.event(event("start", "c"));
  table.finish("done"); // draws the table once more
  const before = live.chunks.length;
  table.output("stderr", "late line\n");
  assert.ok(!live.chunks.slice(before).join("").includes("\x1b[J"), "the final table stays");
});
