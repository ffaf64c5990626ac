import assert from "node:assert/strict";
import { join } from "node:path";
import { generatePipeline } from "../../../src/codegen/for_pipeline.ts";
import { PipelineDAG } from "../../../src/dag.ts";
import { writeReport } from "../../../src/run/report.ts";
import { glacierDir } from "../../../src/_project.ts";

const module = new URL("../../fixtures/analyze/robust/chosen.ts", import.meta.url).href;

async function generated(): Promise<{ text: string; warned: string[] }> {
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warned.push(args.join(" "));
  try {
    const r = await generatePipeline({ name: "chosen", config: {}, module }, { format: "terraform" });
    return { text: Object.values(r.files).join("\n"), warned };
  } finally {
    console.warn = warn;
  }
}

Deno.test("generate traces a pipeline whose task is chosen at run time, with its newest run's params, and says so", async () => {
  const first = await generated();
  assert.match(first.text, /thorough/);
  assert.doesNotMatch(first.text, /quick/);
  assert.equal(first.warned.length, 1);
  assert.match(
    first.warned[0],
    /static analysis cannot tell which tasks are called, so its DAG was traced with the params of no run/,
  );

  const runs = join(glacierDir(module), "runs");
  const runId = `chosen-${crypto.randomUUID()}`;
  await writeReport({
    runId,
    pipeline: "chosen",
    mode: "local",
    status: "succeeded",
    startedAt: "2099-01-01T00:00:00Z",
    finishedAt: "2099-01-01T00:00:01Z",
    durationMs: 1000,
    params: { fast: true },
    dag: new PipelineDAG("chosen", []),
    tasks: [],
  }, runs);
  try {
    const second = await generated();
    assert.match(second.text, /quick/);
    assert.doesNotMatch(second.text, /thorough/);
    assert.match(second.warned[0], new RegExp(`its newest run ${runId} \\{"fast":true\\}`));
  } finally {
    await Deno.remove(join(runs, `${runId}.json`));
  }
});
