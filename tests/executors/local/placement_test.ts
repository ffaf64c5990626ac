import assert from "node:assert/strict";
import { openWorkerPool } from "../../../mod.ts";
import { placed } from "../../fixtures/placement_tasks.ts";

Deno.test("calls that read one frame run on the worker that made it while it frees soon, though another is free", async () => {
  const pool = openWorkerPool({ workers: 2 }); // both workers start now: the second is free when the calls come
  try {
    // 64 MB: reading it on the free worker would take ~130 ms; each call holds its worker 1 ms.
    const rows = 8_000_000;
    const { on, where } = await placed.run({ quiet: true, pool, params: { rows, holdMs: 1, calls: 3 } });
    assert.deepEqual(where, [`${rows}@${on}`, `${rows}@${on}`, `${rows}@${on}`]);
  } finally {
    await pool.close();
  }
});

Deno.test("a call whose frame's worker stays busy moves to another worker once waiting costs more than moving", async () => {
  // The run's own pool: the second worker starts only once the second call has waited.
  const { on, where } = await placed.run({
    quiet: true,
    workers: 2,
    params: { rows: 1000, holdMs: 1500, calls: 2 },
  });
  assert.equal(where[0], `1000@${on}`);
  assert.match(where[1], /^1000@/);
  assert.notEqual(where[1], where[0], "the second call ran on a second worker, not after the first");
});
