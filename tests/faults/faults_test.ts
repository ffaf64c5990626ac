import assert from "node:assert/strict";
import { scenarios } from "./scenarios.ts";

for (const [name, scenario] of Object.entries(scenarios)) {
  Deno.test(`fault: ${name} is detected, retried as configured, and loses nothing`, async () => {
    const figures = await scenario();
    assert.equal(figures.detected, true, `not detected: ${JSON.stringify(figures)}`);
    assert.equal(figures.retriedAsConfigured, true, JSON.stringify(figures));
    assert.equal(figures.independentFinished, true, JSON.stringify(figures));
    assert.equal(figures.checkpointsKept, true, JSON.stringify(figures));
    assert.equal(figures.completed, true, JSON.stringify(figures));
    assert.equal(figures.partialOutputs, 0, JSON.stringify(figures));
  });
}
