// Property tests across the parts: the pool against in-process, a crash and
// resume against an undisturbed run, static analysis against tracing, and the
// static analyzer on arbitrary source.
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { GlacierError, type Pipeline } from "../mod.ts";
import { analyzeStatic } from "../src/analyze/static.ts";
import * as fx from "./fixtures/pool_tasks.ts";

const dags = fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 20 }).map((raw) =>
  raw.map((deps, i) => (i === 0 ? [] : [...new Set(deps.map((d) => d % i))]))
);

Deno.test("a random DAG whose worker crashes mid-run gives the undisturbed values after resume", async () => {
  await fc.assert(
    fc.asyncProperty(dags, fc.nat(), async (deps, pick) => {
      const crashAt = pick % deps.length;
      const expected = await fx.randomDag.run({ quiet: true, workers: 0, params: { deps } });
      const dir = await Deno.makeTempDir();
      await assert.rejects(
        () => fx.crashyDag.run({ quiet: true, workers: 2, params: { deps, crashAt, dir } }),
        (e: Error) => (e as GlacierError).code === "SYSTEM:WORKER_DIED",
      );
      const resumed = await fx.crashyDag.run({ quiet: true, workers: 2, resume: true });
      assert.deepEqual(resumed, expected);
      // Only the crashed call and what depends on it ran again.
      const rerun = fx.crashyDag.lastRun!.tasks.filter((t) => t.status === "done").map((t) => t.id);
      const ids = deps.map((_, i) => (i === 0 ? "crashy" : `crashy#${i + 1}`));
      const downstream = new Set([crashAt]);
      deps.forEach((d, i) => d.some((x) => downstream.has(x)) && downstream.add(i));
      assert.deepEqual(rerun.sort(), [...downstream].map((i) => ids[i]).sort());
    }),
    { numRuns: 6 },
  );
});

// Random pipeline sources: N tasks, each call taking earlier results (alone,
// in an array, or in an object), sometimes destructured.
const programs = fc.array(
  fc.record({
    task: fc.nat({ max: 3 }),
    inputs: fc.array(fc.nat(), { maxLength: 3 }),
    shape: fc.constantFrom("plain", "array", "object"),
  }),
  { minLength: 1, maxLength: 15 },
);

function source(steps: { task: number; inputs: number[]; shape: string }[]): string {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const lines = [
    `import { pipeline, Provider } from ${JSON.stringify(mod)};`,
    "const local = new Provider().local();",
    ...[0, 1, 2, 3].map((t) =>
      `export const t${t} = local.task(function t${t}(...xs: unknown[]) { return xs.length; });`
    ),
    `export const generated = pipeline({ name: "generated" }, () => {`,
  ];
  steps.forEach((step, i) => {
    const refs = [...new Set(step.inputs.filter(() => i > 0).map((x) => `v${x % i}`))];
    const args = step.shape === "array"
      ? `[${refs.join(", ")}]`
      : step.shape === "object"
      ? `{ ${refs.map((r, k) => `k${k}: ${r}`).join(", ")} }`
      : refs.join(", ");
    lines.push(`  const v${i} = t${step.task}(${args});`);
  });
  lines.push(`  return v${steps.length - 1};`, "});", "");
  return lines.join("\n");
}

Deno.test("static analysis and tracing agree on random generated pipelines", async () => {
  const dir = await Deno.makeTempDir();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(programs, async (steps) => {
      const file = join(dir, `generated_${n++}.ts`);
      await Deno.writeTextFile(file, source(steps));
      const url = `file://${file}`;
      const { generated } = await import(url) as { generated: Pipeline };
      const traced = await generated.trace();
      const { dag } = await analyzeStatic({ name: "generated", module: url });
      const shape = (d: typeof traced) =>
        d.nodes.map((node) => [node.id, node.task.name, node.inputs.map((i) => i.id)]);
      assert.deepEqual(shape(dag), shape(traced));
      assert.deepEqual(dag.toJSON().edges, traced.toJSON().edges);
    }),
    { numRuns: 25 },
  );
});

Deno.test("the static analyzer never crashes on arbitrary source: it answers or gives a GlacierError", async () => {
  const dir = await Deno.makeTempDir();
  const valid = source([{ task: 0, inputs: [], shape: "plain" }, { task: 1, inputs: [0], shape: "array" }]);
  const mutated = fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.string({ maxLength: 12 })).map(
    ([at, cut, insert]) => {
      const i = at % valid.length;
      return valid.slice(0, i) + insert + valid.slice(i + cut);
    },
  );
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutated, fc.string({ maxLength: 200 })), async (text) => {
      const file = join(dir, `fuzz_${n++}.ts`);
      await Deno.writeTextFile(file, text);
      try {
        await analyzeStatic({ name: "generated", module: `file://${file}` });
      } catch (error) {
        assert.ok(error instanceof GlacierError, `not a GlacierError: ${(error as Error)?.stack}`);
        assert.ok(error.message.length > 0);
      }
    }),
    { numRuns: 150 },
  );
});
