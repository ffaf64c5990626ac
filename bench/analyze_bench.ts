#!/usr/bin/env -S deno run -A
// Static analysis of the generated 200-task pipeline: read, strip types,
// parse, evaluate the module and follow the pipeline. Nothing is cached
// between runs. Protocol: a human line on stderr; the last stdout line is
// {"analyze_200_ms": <median ms>}. `--quick` runs fewer iterations.
import { analyzeStatic } from "../src/analyze/static.ts";

const quick = Deno.args.includes("--quick");
const module = new URL("../tests/fixtures/analyze/generated_200.ts", import.meta.url).href;
const target = { name: "generated_200", module };

const warmup = quick ? 3 : 10;
const runs = quick ? 9 : 41;
for (let i = 0; i < warmup; i++) await analyzeStatic(target);
const times: number[] = [];
let nodes = 0;
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  const { dag } = await analyzeStatic(target);
  times.push(performance.now() - start);
  nodes = dag.nodes.length;
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const round = (n: number) => Math.round(n * 100) / 100;
console.error(
  `static analysis of a ${nodes}-task pipeline: median ${round(median)} ms over ${runs} runs ` +
    `(min ${round(times[0])}, max ${round(times.at(-1)!)}; after ${warmup} warm-up runs; goal ≤ 50 ms)`,
);
console.log(JSON.stringify({ analyze_200_ms: round(median) }));
