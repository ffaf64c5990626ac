#!/usr/bin/env -S deno run -A
// Cold start: fresh `deno run` processes of the hello pipeline (default worker
// pool, and in-process) and of a script that only imports mod.ts, against a
// script that only imports apache-arrow and builds a one-row table. The goal
// (issue 15): hello cold start <= 1.5x the apache-arrow script.
//
//   deno run -A bench/cold_start_bench.ts [--quick]
//
// Each process is started as a user starts theirs: `deno run -A` with the
// repo's deno.json and no type check (Deno 2's `deno run` does not type-check).
// Every subject runs once untimed first, so npm downloads, transpiling and the
// code cache are warm and only evaluation and the run are timed. Rounds
// alternate the order (ABCD DCBA), so no subject always follows the same one.
// Protocol: human lines on stderr; the last stdout line is one JSON object.
import { fileURLToPath } from "node:url";

const quick = Deno.args.includes("--quick");
const rounds = quick ? 5 : 11;
const root = fileURLToPath(new URL("..", import.meta.url));
const config = fileURLToPath(new URL("../deno.json", import.meta.url));
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (line: string) => console.error(line);

/** What is started, by result name: a fixture and its arguments. */
const SUBJECTS: Record<string, [string, ...string[]]> = {
  arrow: ["./fixtures/arrow_only.ts"],
  import_mod: ["./fixtures/import_only.ts"],
  hello_inprocess: ["./fixtures/hello.ts", "--in-process"],
  hello: ["./fixtures/hello.ts"],
};

async function wallMs([file, ...args]: [string, ...string[]]): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, fileURLToPath(new URL(file, import.meta.url)), ...args],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - start;
  if (out.code !== 0) {
    throw new Error(`${file} ${args.join(" ")} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return elapsed;
}

const names = Object.keys(SUBJECTS);
for (const name of names) await wallMs(SUBJECTS[name]); // warm the caches, untimed
const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 === 0 ? names : [...names].reverse()) {
    samples[name].push(await wallMs(SUBJECTS[name]));
  }
}

const ms = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
const cold_start_arrow_ms = round(ms.arrow, 1);
const cold_start_ms = round(ms.hello, 1);
const cold_start_ratio = round(ms.hello / ms.arrow);
const cold_start_inprocess_ms = round(ms.hello_inprocess, 1);
const cold_start_inprocess_ratio = round(ms.hello_inprocess / ms.arrow);
const import_mod_ms = round(ms.import_mod, 1);
const import_mod_ratio = round(ms.import_mod / ms.arrow);
log(`cold start, median of ${rounds} fresh processes each (goal: hello <= 1.5x the apache-arrow script):`);
log(`  apache-arrow script     ${cold_start_arrow_ms} ms`);
log(`  import mod.ts only      ${import_mod_ms} ms = ${import_mod_ratio}x`);
log(`  hello, workers: 0       ${cold_start_inprocess_ms} ms = ${cold_start_inprocess_ratio}x`);
log(`  hello, default pool     ${cold_start_ms} ms = ${cold_start_ratio}x`);

console.log(JSON.stringify({
  cold_start_arrow_ms,
  import_mod_ms,
  import_mod_ratio,
  cold_start_inprocess_ms,
  cold_start_inprocess_ratio,
  cold_start_ms,
  cold_start_ratio,
}));
