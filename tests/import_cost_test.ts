// Import cost (issue 15): importing mod.ts evaluates no code generator, no
// static analyzer, no cloud SDK and no remote executor; those load with
// `import()` when a mode needs them. Checked on the static module graph that
// `deno info --json` reports (dynamic imports are followed only at run time,
// so they are left out here). The time it saves is measured in
// bench/cold_start_bench.ts, never asserted.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = new URL("../", import.meta.url);

/**
 * What must not be in a static graph, and what it is. A run needs none of
 * these: generate(), deploy(), analyze() and the cloud modes import them.
 */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/^src\/codegen\//, "a code generator"],
  [/^src\/analyze\//, "the static analyzer"],
  [/^npm:@aws-sdk\//, "a cloud SDK"],
  [/^npm:acorn@/, "the analyzer's parser (acorn)"],
  [/^npm:amaro@/, "the analyzer's TypeScript stripper (amaro)"],
  [/^npm:@viz-js\//, "the graph renderer (viz-js)"],
  [/^npm:yaml@/, "a YAML library for generated files"],
  [/^stores\//, "a cloud store"],
  [/^deploy\//, "a deployment applier"],
  [/^executors\/(?!local\/)/, "a remote executor or runner"],
];

/**
 * Modules under a forbidden path that may stay static, each with why. Keep
 * it short: every entry is code each `import "glacier"` evaluates.
 */
const ALLOWED: Readonly<Record<string, string>> = {
  "stores/mod.ts": "the table of store loaders by scheme: it only holds import() calls, no SDK",
  "executors/adapters.ts":
    "the executor adapters by the service table's keys: it only holds import() calls, no executor",
  "executors/payload.ts":
    "the task payload every executor sends, the local pool included: its shape, version check and task lookup",
  "executors/_frame.ts": "the framing of a piped task's result, which narrowed subprocesses use too",
  "executors/_stdin_payload.ts":
    "how a worker imports a task's module (its top level silenced), shared with the pipe runners",
};

/**
 * The most modules mod.ts may load statically. At c3e24ec it loads 92 (local
 * files, node: built-ins and npm package roots); without the forbidden ones
 * and what only they import it would be 52, so this leaves room for a few
 * small core modules. Two of that room went to `node:worker_threads` (pool
 * workers a timeout can stop and a process can exit past) and
 * `src/data/polars_codec.ts` (tracing tells a polars frame from a plain
 * object), so the bound was 62. The service table added four small ones
 * with no imports of their own beyond config (`src/config/services.ts`,
 * `service_configs.ts`, `executors/adapters.ts` of import() calls, and
 * `src/run/skipped_lines.ts` for scan reports), so it is 66.
 */
const MAX_MODULES = 66;

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string };
  isDynamic?: boolean;
}

interface Info {
  roots: string[];
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
  redirects: Record<string, string>;
}

interface StaticGraph {
  /** Every module reached by static imports, each with the module that first imports it (null for the root). */
  parent: Map<string, string | null>;
  /** The static imports of each module reached. */
  imports: Map<string, string[]>;
}

/** A module's name relative to the repo: `src/dag.ts`, `npm:acorn@8.19.0`, `node:path`. */
function short(specifier: string): string {
  return specifier.startsWith(REPO.href)
    ? specifier.slice(REPO.href.length)
    : specifier.replace(/^npm:\/(?=.)/, "npm:");
}

/** The static import graph of a module, from `deno info --json`, names from {@link short}. */
async function staticGraph(path: string): Promise<StaticGraph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", fileURLToPath(new URL("deno.json", REPO)), path],
    cwd: fileURLToPath(REPO),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.code === 0, `deno info ${path} failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(text) as Info;
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const resolve = (specifier: string) => {
    for (let i = 0; i < 10 && info.redirects[specifier]; i++) specifier = info.redirects[specifier];
    return specifier;
  };
  const root = resolve(info.roots[0]);
  const parent = new Map<string, string | null>([[short(root), null]]);
  const imports = new Map<string, string[]>();
  const queue = [root];
  while (queue.length > 0) {
    const specifier = queue.shift()!;
    const name = short(specifier);
    const names: string[] = [];
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      // `import type` has no `code`; `import()` is `isDynamic`: neither is evaluated on import.
      if (dependency.isDynamic || !dependency.code?.specifier) continue;
      const target = resolve(dependency.code.specifier);
      names.push(short(target));
      if (!parent.has(short(target))) {
        parent.set(short(target), name);
        queue.push(target);
      }
    }
    imports.set(name, names);
  }
  return { parent, imports };
}

function chainOf(graph: StaticGraph, name: string): string {
  const chain: string[] = [];
  for (let at: string | null | undefined = name; at; at = graph.parent.get(at)) chain.unshift(at);
  return chain.join(" -> ");
}

function forbiddenAs(name: string): string | undefined {
  if (name in ALLOWED) return undefined;
  return FORBIDDEN.find(([pattern]) => pattern.test(name))?.[1];
}

/**
 * The failure message for a graph's forbidden modules, or "" when it has
 * none: each module with the chain that first pulls it in, then the static
 * imports to make lazy (an allowed module importing a forbidden one).
 */
function offenders(root: string, graph: StaticGraph): string {
  const found = [...graph.parent.keys()].filter((name) => forbiddenAs(name) !== undefined);
  if (found.length === 0) return "";
  const cuts: string[] = [];
  for (const [from, targets] of graph.imports) {
    if (forbiddenAs(from) !== undefined) continue;
    for (const to of targets) if (forbiddenAs(to) !== undefined) cuts.push(`  ${from} -> ${to}`);
  }
  return [
    `${root} statically loads ${found.length} modules that a local run does not need ` +
    `(of ${graph.parent.size}); load them with import() where a mode needs them:`,
    ...found.map((name) => `  ${name} (${forbiddenAs(name)}): ${chainOf(graph, name)}`),
    `The static imports to make lazy (an allowed module importing a forbidden one):`,
    ...[...new Set(cuts)],
  ].join("\n");
}

Deno.test("importing mod.ts loads no code generator, static analyzer, cloud SDK or remote executor", async () => {
  const graph = await staticGraph("mod.ts");
  assert.ok(graph.parent.size > 1, "deno info found no imports in mod.ts");
  const message = offenders("mod.ts", graph);
  assert.ok(message === "", message);
});

Deno.test("a pool worker loads no code generator, static analyzer, cloud SDK or remote executor", async () => {
  // Every default run starts one worker per core, and each evaluates this graph before its first task.
  const graph = await staticGraph("executors/local/worker.ts");
  assert.ok(graph.parent.size > 1, "deno info found no imports in executors/local/worker.ts");
  const message = offenders("executors/local/worker.ts", graph);
  assert.ok(message === "", message);
});

/**
 * Table libraries a run without tables or frames never evaluates: the formats and the
 * payload codec load them with import() when a value or a file needs them.
 */
const TABLE_LIBRARIES: readonly RegExp[] = [
  /^npm:apache-arrow@/,
  /^npm:parquet-wasm@/,
  /^npm:papaparse@/,
  /^npm:nodejs-polars@/,
];

for (const root of ["mod.ts", "executors/local/worker.ts"]) {
  Deno.test(`${root} statically loads no apache-arrow, parquet-wasm, papaparse or nodejs-polars`, async () => {
    const graph = await staticGraph(root);
    assert.ok(graph.parent.size > 1, `deno info found no imports in ${root}`);
    const found = [...graph.parent.keys()].filter((name) => TABLE_LIBRARIES.some((p) => p.test(name)));
    assert.deepEqual(
      found.map((name) => chainOf(graph, name)),
      [],
      `${root} statically loads a table library; load it with import() where a table needs it`,
    );
  });
}

Deno.test(`importing mod.ts loads fewer than ${MAX_MODULES} modules`, async () => {
  const graph = await staticGraph("mod.ts");
  const names = [...graph.parent.keys()];
  assert.ok(
    names.length < MAX_MODULES,
    `mod.ts statically loads ${names.length} modules, the most is ${MAX_MODULES - 1}:\n  ${
      names.join("\n  ")
    }`,
  );
});
