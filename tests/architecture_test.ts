// The shape the code keeps (issue 15): a small root entry, no registration by
// import, src/ apart from executors/, and no import cycle through the task
// model and the machinery that runs it. Read from `deno doc --json` and
// `deno info --json` (static and type imports, dynamic import() included).
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function denoJson(args: string[]): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "null" })
    .output();
  assert.ok(out.success, `deno ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

interface DocNode {
  name: string;
  declarations: { kind: string }[];
}

async function exportsOf(entry: string): Promise<DocNode[]> {
  const doc = await denoJson(["doc", "--json", entry]) as { nodes: Record<string, { symbols?: DocNode[] }> };
  const module = doc.nodes[new URL(entry, ROOT).href];
  return module?.symbols ?? [];
}

// Classes, functions and constants: what an import of the entry evaluates.
const runtimeValues = (nodes: DocNode[]) =>
  [
    ...new Set(
      nodes.filter((n) =>
        n.declarations.some((d) => ["class", "function", "variable", "enum"].includes(d.kind))
      ).map((n) => n.name),
    ),
  ]
    .sort();

Deno.test("mod.ts exports at most 40 runtime values, and no entry exports a registry", async () => {
  const values = runtimeValues(await exportsOf("mod.ts"));
  assert.ok(values.length > 10, `deno doc found only ${values}`);
  assert.ok(values.length <= 40, `mod.ts exports ${values.length} runtime values: ${values.join(", ")}`);
  for (const name of ["Provider", "pipeline", "Bucket", "AwsConfig", "GlacierError", "openWorkerPool"]) {
    assert.ok(values.includes(name), `mod.ts lacks ${name}`);
  }
  for (const entry of ["mod.ts", "extend.ts", "internal.ts"]) {
    const names = runtimeValues(await exportsOf(entry));
    const registries = names.filter((n) => /^(register|set[A-Z])/.test(n));
    assert.deepEqual(registries, [], `${entry} exports setters of process-wide state`);
  }
  assert.ok(runtimeValues(await exportsOf("extend.ts")).includes("defineWiring"));
});

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

async function graphOf(entries: string[]): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of entries) {
    const info = await denoJson(["info", "--json", entry]) as { modules: InfoModule[] };
    for (const m of info.modules) {
      if (!m.specifier.startsWith(ROOT.href)) continue;
      const deps = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s?.startsWith(ROOT.href)) deps.add(s.slice(ROOT.href.length));
        }
      }
      graph.set(m.specifier.slice(ROOT.href.length), deps);
    }
  }
  return graph;
}

// Strongly connected components of more than one module (Tarjan).
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

Deno.test("no import cycle runs through the task model and the trace or run machinery", async () => {
  const graph = await graphOf(["mod.ts", "extend.ts", "internal.ts", "cli.ts"]);
  assert.ok(
    graph.has("src/call.ts") && graph.has("src/run/run.ts"),
    "the graph misses the dispatcher or the run loop",
  );
  // A resource makes tasks and a task is bound to its resource: the model's own pair.
  const allowed = [["src/resources/execution.ts", "src/task.ts"]];
  const found = cycles(graph).filter((c) => !allowed.some((a) => JSON.stringify(a) === JSON.stringify(c)));
  assert.deepEqual(found, [], `import cycles: ${found.map((c) => c.join(" <-> ")).join("; ")}`);
  assert.ok(!graph.get("src/task.ts")!.has("src/call.ts"), "task.ts dispatches its own calls");
});

Deno.test("src/ never imports executors/, stores/, deploy/ or the root wiring", async () => {
  const graph = await graphOf(["mod.ts", "extend.ts", "internal.ts", "cli.ts"]);
  const bad: string[] = [];
  for (const [module, deps] of graph) {
    if (!module.startsWith("src/")) continue;
    for (const dep of deps) {
      if (/^(executors|stores|deploy)\//.test(dep) || !dep.includes("/")) bad.push(`${module} -> ${dep}`);
    }
  }
  assert.deepEqual(bad, []);
});

// What Glacier knows about a service is in its entry of the service table
// (src/config/services.ts); code asks the table, never compares a service name.
// The infrastructure printers pick which resources each cloud's output prints
// by the table's kind, cloud and adapter; the ones still listed pick by service
// and stay here until they read the table too.
const PRINTERS = [
  "src/codegen/iam.ts",
  "src/codegen/_databricks.ts",
];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("no code outside the service table and the infrastructure printers compares a service name", async () => {
  const { SERVICE_NAMES } = await import("../src/config/services.ts");
  const name = `["'](?:${SERVICE_NAMES.map((s) => s.replace(/-/g, "\\-")).join("|")})["']`;
  const patterns = [
    new RegExp(`\\bservice\\s*[!=]==?\\s*${name}`, "g"),
    new RegExp(`${name}\\s*[!=]==?\\s*[\\w.?!]*\\bservice\\b`, "g"),
    /\bswitch\s*\([^)]*\bservice\s*\)/g,
  ];
  const files = [
    ...await sources("src"),
    ...await sources("executors"),
    ...await sources("stores"),
    "cli.ts",
    "wiring.ts",
    "mod.ts",
    "extend.ts",
    "internal.ts",
    "aws.ts",
  ];
  for (const printer of PRINTERS) {
    assert.ok(files.includes(printer), `${printer} is gone: drop it from PRINTERS`);
  }
  const found: string[] = [];
  for (const file of files) {
    if (PRINTERS.includes(file)) continue;
    // Comments may name services; code may not compare them.
    const code = (await Deno.readTextFile(new URL(file, ROOT)))
      .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
      .replace(/(^|[^:])\/\/.*$/gm, "$1");
    for (const pattern of patterns) {
      for (const m of code.matchAll(pattern)) {
        found.push(`${file}:${code.slice(0, m.index).split("\n").length}: ${m[0]}`);
      }
    }
  }
  assert.deepEqual(found, [], `ask the service table (src/config/services.ts) instead:\n${found.join("\n")}`);
});
