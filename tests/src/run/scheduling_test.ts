// Honest timing and priority: the report keeps the time a call waited for a
// worker apart from the time it ran, and a ready call that heads the longest
// chain goes before calls recorded earlier.
import assert from "node:assert/strict";
import * as fx from "../../fixtures/scheduling_tasks.ts";

type Started = { name: string; startedAt: number };

Deno.test("a call that waits for a worker reports that wait as queuedMs, not as run time", async () => {
  await fx.threeAtOnce.run({ workers: 1, quiet: true });
  const tasks = fx.threeAtOnce.lastRun!.tasks;
  assert.equal(tasks.length, 3);
  const byQueue = [...tasks].sort((a, b) => a.queuedMs! - b.queuedMs!);
  // One worker: the last call waited for both others to run their 300 ms.
  assert.ok(byQueue[2].queuedMs! >= 2 * 300 - 20, `queued ${byQueue[2].queuedMs} ms`);
  // Its own run is the nap, not the wait: less than the wait before it.
  assert.ok(byQueue[2].durationMs! < byQueue[2].queuedMs!, JSON.stringify(byQueue[2]));
  for (const t of tasks) assert.ok(t.durationMs! >= 300 - 20, `ran ${t.durationMs} ms`);
});

Deno.test("ready calls go longest chain first, not first recorded first", async () => {
  const result = await fx.chainFirst.run({ workers: 1, quiet: true }) as {
    shorts: Started[];
    chain: Started[];
  };
  const c1 = result.chain[0].startedAt;
  for (const s of result.shorts) assert.ok(c1 < s.startedAt, `c1 at ${c1}, ${s.name} at ${s.startedAt}`);
  // workers: 0 runs the same pipeline to the same values.
  const inProcess = await fx.chainFirst.run({ workers: 0, quiet: true }) as {
    shorts: Started[];
    chain: Started[];
  };
  assert.deepEqual(inProcess.chain.map((c) => c.name), ["c1", "c2", "c3"]);
});
