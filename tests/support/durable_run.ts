// A pipeline run as a user runs one, in its own process, in a temp project:
// started, sent a real signal mid-run, and resumed, for the durable-run
// tests and the fault suite (tests/fixtures/durable_tasks.ts is the pipeline).
import { join } from "node:path";
import { readJournal } from "../../src/run/journal.ts";

const FIXTURE = new URL("../fixtures/durable_tasks.ts", import.meta.url);
const MOD = new URL("../../mod.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface Project {
  cwd: string;
  dir: string;
  runs: string;
  [Symbol.asyncDispose](): Promise<void>;
}

// A temp project holding the fixture (so its .glacier/ is there) and a data folder.
export async function project(): Promise<Project> {
  const cwd = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(cwd, "tasks.ts"),
    (await Deno.readTextFile(FIXTURE)).replace('"../../mod.ts"', JSON.stringify(MOD)),
  );
  return {
    cwd,
    dir,
    runs: join(cwd, ".glacier", "runs"),
    async [Symbol.asyncDispose]() {
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export function spawnWith(p: Project, code: string): Deno.ChildProcess {
  const file = join(p.cwd, `run-${crypto.randomUUID()}.ts`);
  Deno.writeTextFileSync(file, `import * as fx from "./tasks.ts";\n${code}`);
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, file],
    cwd: p.cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export async function until(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

export async function reports(
  p: Project,
): Promise<
  {
    runId: string;
    status: string;
    tasks: { id: string; status: string; restoredFrom?: string }[];
    params: unknown;
  }[]
> {
  const out = [];
  for await (const e of Deno.readDir(p.runs)) {
    if (e.name.endsWith(".json")) out.push(JSON.parse(await Deno.readTextFile(join(p.runs, e.name))));
  }
  return out.sort((a, b) => a.startedAt < b.startedAt ? -1 : 1);
}

export async function firstRuns(p: Project): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(p.dir)) if (e.name.startsWith("first-")) n++;
  return n;
}

// Starts the pipeline, waits until `first` is checkpointed and `slow` runs, then signals.
export async function stopMidRun(
  p: Project,
  signal: Deno.Signal,
): Promise<{ code: number; stderr: string; pid: number }> {
  const child = spawnWith(p, `await fx.durable.run({ params: { dir: ${JSON.stringify(p.dir)} } });`);
  await until("slow to start and first to be checkpointed", async () => {
    if (!(await exists(join(p.dir, "slow-started"))) || !(await exists(p.runs))) return false;
    for await (const e of Deno.readDir(p.runs)) {
      if (!e.name.endsWith(".journal.jsonl")) continue;
      const journal = await readJournal(p.runs, e.name.replace(/\.journal\.jsonl$/, ""));
      if (journal.get("first")?.checkpoint) return true;
    }
    return false;
  });
  child.kill(signal);
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), pid: child.pid };
}

export async function resume(p: Project): Promise<{ code: number; stdout: string; stderr: string }> {
  await Deno.writeTextFile(join(p.dir, "go"), "");
  const out = await spawnWith(
    p,
    `console.log(JSON.stringify(await fx.durable.run({ resume: true, quiet: true })));`,
  )
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
