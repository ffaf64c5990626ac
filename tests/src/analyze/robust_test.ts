import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DAGNode } from "../../../src/dag.ts";
import { analyzeStatic } from "../../../src/analyze/static.ts";
import { GlacierError } from "../../../src/errors.ts";
import { enums } from "../../fixtures/analyze/robust/enums.ts";

const ENUMS = new URL("../../fixtures/analyze/robust/enums.ts", import.meta.url).href;
const CLI = new URL("../../../cli.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.test.json", import.meta.url).pathname;

const shape = (n: DAGNode) => ({
  id: n.id,
  task: n.task.name,
  executor: n.executor.name,
  inputs: n.inputs.map((i) => i.id),
  reads: n.reads,
  writes: n.writes,
  dynamic: n.dynamic,
});

Deno.test("analyzeStatic() reads modules with enums, namespaces and parameter properties, at their written positions", async () => {
  const result = await analyzeStatic({ name: "enums", module: ENUMS });
  assert.deepEqual(result.dag.nodes.map(shape), (await enums.trace()).nodes.map(shape));
  assert.deepEqual(result.undecided, []);
  const source = await Deno.readTextFile(new URL(ENUMS));
  const lines = source.split("\n");
  const line = lines.findIndex((l) => l.includes("return measure(bytes")) + 1;
  const column = lines[line - 1].indexOf("measure(") + 1;
  assert.equal(result.sites.get("measure")?.at, `${ENUMS}:${line}:${column}`);
});

async function withModule<T>(source: string, use: (url: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "deep.ts");
    await Deno.writeTextFile(path, source);
    return await use(pathToFileURL(path).href);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a fault inside the type stripper does not break later analyses in the same process", async () => {
  // 20 000 chained additions overflow the WebAssembly parser's stack without any bracket nesting.
  await withModule(`export const x: number = 1${" + 1".repeat(20_000)};\n`, async (url) => {
    await assert.rejects(
      analyzeStatic({ name: "none", module: url }),
      (e: unknown) => e instanceof GlacierError && e.code === "USER:STATIC_TOO_DEEP",
    );
  });
  for (let i = 0; i < 2; i++) {
    const result = await analyzeStatic({ name: "enums", module: ENUMS });
    assert.deepEqual(result.dag.nodes.map((n) => n.id), ["load", "measure"]);
  }
});

Deno.test("deeply nested source is a GlacierError naming the line, not a crash", async () => {
  const deep = `export const x = ${"(".repeat(5000)}1${")".repeat(5000)};\n`;
  await withModule(deep, async (url) => {
    await assert.rejects(
      analyzeStatic({ name: "none", module: url }),
      (e: unknown) =>
        e instanceof GlacierError && e.code === "USER:STATIC_TOO_DEEP" &&
        /deeper than \d+ levels at line 1/.test(e.message),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "--config", CONFIG, CLI, "analyze", new URL(url).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 134);
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /nest deeper than/);
  });
  const result = await analyzeStatic({ name: "enums", module: ENUMS });
  assert.equal(result.dag.nodes.length, 2);
});
