import assert from "node:assert/strict";
import { type Figures, lambdaScenarios, remoteScenarios, scenarios, stopShared } from "./scenarios.ts";
import { functionScenarios } from "./function_scenarios.ts";

function check(figures: Figures): void {
  assert.equal(figures.detected, true, `not detected: ${JSON.stringify(figures)}`);
  assert.equal(figures.retriedAsConfigured, true, JSON.stringify(figures));
  assert.equal(figures.independentFinished, true, JSON.stringify(figures));
  assert.equal(figures.checkpointsKept, true, JSON.stringify(figures));
  assert.equal(figures.completed, true, JSON.stringify(figures));
  assert.equal(figures.partialOutputs, 0, JSON.stringify(figures));
}

for (const [name, scenario] of Object.entries(scenarios)) {
  Deno.test(`fault: ${name} is detected, retried as configured, and loses nothing`, async () => {
    check(await scenario());
  });
}

Deno.test({
  name: "fault: SSH and Databricks faults are detected, retried as configured, and lose nothing",
  // The emulators' subprocesses and sshd's sessions are reaped in stopShared.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    try {
      for (const [name, scenario] of Object.entries(remoteScenarios)) {
        await t.step(name, async () => check(await scenario()));
      }
    } finally {
      await stopShared();
    }
  },
});

Deno.test({
  name: "fault: Lambda faults are detected, retried as configured, and lose nothing",
  // The SDK keeps pooled sockets between steps; the servers are stopped at the end.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    try {
      for (const [name, scenario] of Object.entries(lambdaScenarios)) {
        await t.step(name, async () => check(await scenario()));
      }
    } finally {
      await stopShared();
    }
  },
});

Deno.test({
  name:
    "fault: Cloud Run function and Azure function app faults are detected, retried as configured, and lose nothing",
  // The emulators' instance processes are reaped as each row stops its service.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    for (const [name, scenario] of Object.entries(functionScenarios)) {
      await t.step(name, async () => check(await scenario()));
    }
  },
});
