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
// in an array, or in an object), sometimes destructured; some calls awaited,
// some made over an earlier awaited list (`.map` or `for…of`), and fixed-count
// calls after those awaits.
const programs = fc.array(
  fc.record({
    task: fc.nat({ max: 3 }),
    inputs: fc.array(fc.nat(), { maxLength: 3 }),
    shape: fc.constantFrom("plain", "array", "object"),
    kind: fc.constantFrom("call", "call", "await", "map", "loop"),
  }),
  { minLength: 1, maxLength: 15 },
);

type Step = { task: number; inputs: number[]; shape: string; kind?: string };

function source(steps: Step[]): string {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const lines = [
    `import { pipeline, Provider } from ${JSON.stringify(mod)};`,
    "const local = new Provider().local();",
    ...[0, 1, 2, 3].map((t) =>
      `export const t${t} = local.task(function t${t}(...xs: unknown[]) { return xs.length; });`
    ),
    `export const generated = pipeline({ name: "generated" }, async () => {`,
  ];
  const awaited = new Set<number>();
  steps.forEach((step, i) => {
    // Awaited values are run-time stand-ins: only loops take them (as their list).
    const refs = [...new Set(step.inputs.filter(() => i > 0).map((x) => x % i))]
      .filter((x) => !awaited.has(x)).map((x) => `v${x}`);
    const over = [...awaited][(step.inputs[0] ?? 0) % Math.max(awaited.size, 1)];
    const kind = (step.kind === "map" || step.kind === "loop") && over === undefined ? "call" : step.kind;
    const args = (extra: string[]) => {
      const all = [...extra, ...refs];
      return step.shape === "array"
        ? `[${all.join(", ")}]`
        : step.shape === "object"
        ? `{ ${all.map((r, k) => `k${k}: ${r}`).join(", ")} }`
        : all.join(", ");
    };
    if (kind === "await") {
      lines.push(`  const v${i} = await t${step.task}(${args([])}) as unknown as unknown[];`);
      awaited.add(i);
    } else if (kind === "map") {
      lines.push(`  const v${i} = v${over}.map((x) => t${step.task}(${args(["x"])}));`);
    } else if (kind === "loop") {
      lines.push(
        `  const v${i}: unknown[] = [];`,
        `  for (const x of v${over}) v${i}.push(t${step.task}(${args(["x"])}));`,
      );
    } else lines.push(`  const v${i} = t${step.task}(${args([])});`);
  });
  lines.push(`  return v${steps.length - 1};`, "});", "");
  return lines.join("\n");
}

Deno.test("static analysis and tracing agree on random generated pipelines", async () => {
  const dir = await Deno.makeTempDir();
  let n = 0;
  const kinds = { dynamic: 0, fixedAfterAwait: 0 };
  await fc.assert(
    fc.asyncProperty(programs, async (steps) => {
      const file = join(dir, `generated_${n++}.ts`);
      await Deno.writeTextFile(file, source(steps));
      const url = `file://${file}`;
      const { generated } = await import(url) as { generated: Pipeline };
      const traced = await generated.trace();
      const { dag } = await analyzeStatic({ name: "generated", module: url });
      const shape = (d: typeof traced) =>
        d.nodes.map((node) => [node.id, node.task.name, node.inputs.map((i) => i.id), node.dynamic]);
      assert.deepEqual(shape(dag), shape(traced));
      assert.deepEqual(dag.toJSON().edges, traced.toJSON().edges);
      const afterAwait = traced.nodes.findIndex((node) => awaitedIds(steps).includes(node.id)) + 1;
      kinds.dynamic += traced.nodes.filter((node) => node.dynamic).length;
      kinds.fixedAfterAwait += traced.nodes.slice(afterAwait || Infinity).filter((node) =>
        !node.dynamic
      ).length;
    }),
    { numRuns: 25 },
  );
  // The runs met both kinds the tracer must tell apart.
  assert.ok(kinds.dynamic > 0 && kinds.fixedAfterAwait > 0, JSON.stringify(kinds));
});

// The node ids of the awaited calls of a program (ids are counted per task, as tracing names them).
function awaitedIds(steps: Step[]): string[] {
  const counts = new Map<number, number>();
  return steps.flatMap((step) => {
    const n = (counts.get(step.task) ?? 0) + 1;
    counts.set(step.task, n);
    return step.kind === "await" ? [n === 1 ? `t${step.task}` : `t${step.task}#${n}`] : [];
  });
}

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
