// Glacier as a dependency: a user's project in a temp folder outside this
// checkout imports `jsr:@glacier/glacier@<version>` from a local JSR registry
// (tests/support/jsr_registry.ts, through `JSR_URL`), with its own DENO_DIR.
// Only the npm cache is shared with this process, so nothing reaches the
// internet: JSR modules come from the registry, npm packages from the cache.
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { type JsrRegistry, npmCache, startJsrRegistry } from "./support/jsr_registry.ts";

interface Project {
  dir: string;
  env: Record<string, string>;
  spec: string;
}

async function project(registry: JsrRegistry): Promise<Project> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-user-" });
  const denoDir = join(dir, ".deno");
  await Deno.mkdir(denoDir);
  await Deno.symlink(await npmCache(), join(denoDir, "npm"));
  const spec = `jsr:${registry.name}@${registry.version}`;
  const env = { JSR_URL: registry.url, DENO_DIR: denoDir, NO_COLOR: "1" };
  await Deno.writeTextFile(
    join(dir, "pipeline.ts"),
    `import { pipeline, Provider } from "${spec}";
const local = new Provider().local();
export const numbers = local.task(function numbers(n: number) {
  return Array.from({ length: n }, (_, i) => i);
});
export const total = local.task(function total(xs: number[]) {
  return xs.reduce((a, b) => a + b, 0);
});
export const sum = pipeline({ name: "sum" }, (p: { n?: number }) => total(numbers(p.n ?? 10)));
console.log("top level of pipeline.ts");
if (import.meta.main) {
  const value = await sum.run({ quiet: true });
  console.log(JSON.stringify({ value, ranOn: sum.lastRun!.tasks.map((t) => t.ranOn) }));
}
`,
  );
  return { dir, env, spec };
}

async function deno(p: Project, args: string[], cwd = p.dir) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: p.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return {
    ...out,
    stdout,
    stderr,
    text: `exit ${out.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
  };
}

// The glacier command through the package, as a user runs it: `deno run -A jsr:…/cli <args>`.
const glacier = (p: Project, ...args: string[]) => deno(p, ["run", "-A", `${p.spec}/cli`, ...args]);

Deno.test({
  name: "a project outside the checkout imports Glacier from a JSR registry",
  sanitizeResources: false,
  async fn(t) {
    const registry = await startJsrRegistry();
    const p = await project(registry);
    try {
      await t.step("its pipeline runs on the worker pool", async () => {
        const out = await deno(p, ["run", "-A", "pipeline.ts"]);
        assert.equal(out.code, 0, out.text);
        assert.equal(
          out.stdout.split("top level of pipeline.ts").length - 1,
          1,
          "printed once, not per worker",
        );
        assert.deepEqual(JSON.parse(out.stdout.trim().split("\n").pop()!), {
          value: 45,
          ranOn: ["worker", "worker"],
        });
        assert.ok(
          registry.requests.some((r) => r.endsWith("/executors/local/worker.ts")),
          "the worker came from JSR",
        );
        assert.ok(
          (await Deno.stat(join(p.dir, ".glacier", "runs"))).isDirectory,
          "runs are kept in the project",
        );
      });

      await t.step("a shebang script runs from another folder", async () => {
        const script = join(p.dir, "etl");
        await Deno.writeTextFile(
          script,
          `#!/usr/bin/env -S deno run -A\nimport { sum } from "./pipeline.ts";\nconsole.log(await sum.run({ workers: 0, quiet: true, params: { n: 4 } }));\n`,
        );
        await Deno.chmod(script, 0o755);
        const elsewhere = await Deno.makeTempDir();
        const out = await new Deno.Command(script, {
          cwd: elsewhere,
          env: {
            ...p.env,
            PATH: `${join(Deno.execPath(), "..")}:${Deno.env.get("PATH") ?? ""}`,
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(
          new TextDecoder().decode(out.stdout).trim().split("\n").pop(),
          "6",
          new TextDecoder().decode(out.stderr),
        );
        assert.deepEqual(
          [...Deno.readDirSync(elsewhere)],
          [],
          "the script writes into its project, not the cwd",
        );
      });

      await t.step(
        "the command runs through the package: analyze and graph",
        async () => {
          const analyze = await glacier(p, "analyze", "pipeline.ts", "--json");
          assert.equal(analyze.code, 0, analyze.text);
          const [report] = JSON.parse(analyze.stdout).pipelines;
          assert.deepEqual(report.nodes.map((n: { id: string }) => n.id), [
            "numbers",
            "total",
          ]);
          assert.deepEqual(report.edges, [{ from: "numbers", to: "total" }]);
          const graph = await glacier(p, "graph", "pipeline.ts", "--format", "mermaid");
          assert.equal(graph.code, 0, graph.text);
          assert.match(
            graph.stdout,
            /n0\["numbers[\s\S]*n1\["total[\s\S]*n0 --> n1/,
          );
        },
      );

      await t.step(
        "generate and deploy through the package: Terraform, Step Functions, and Airflow whose local tasks run the package's runner",
        async () => {
          await Deno.writeTextFile(
            join(p.dir, "aws.ts"),
            `import { AwsConfig, LambdaConfig, pipeline, Provider } from "${p.spec}";
const aws = new Provider({ config: new AwsConfig({ region: "us-east-1", stagingBucket: "s3://stage/glacier" }) });
const fn = aws.serverless({ config: new LambdaConfig({ memory: 512 }) });
export const make = aws.local().task(function make(n: number) { return n + 1; });
export const scale = fn.task(function scale(n: number) { return n * 2; });
export const awsp = pipeline({ name: "awsp" }, () => scale(make(1)));
`,
          );
          const deploy = await glacier(
            p,
            "deploy",
            "aws.ts",
            "--orchestrator",
            "airflow",
            "--output-dir",
            "dags",
          );
          assert.equal(deploy.code, 0, deploy.text);
          const dag = await Deno.readTextFile(
            join(p.dir, "dags", "awsp_dag.py"),
          );
          assert.ok(
            dag.includes(`deno run -A --quiet ${p.spec}/runner --payload`),
            dag,
          );
          assert.ok(
            !dag.includes("executors/runner.ts --payload"),
            "no path into Glacier's sources",
          );
          // What that command does on an Airflow worker in the project folder.
          const payload = {
            version: 2,
            pipeline: "awsp",
            runId: "r1",
            nodeId: "make",
            task: "make",
            module: "aws.ts",
            attempt: 1,
            args: [41],
          };
          const run = await deno(p, [
            "run",
            "-A",
            "--quiet",
            `${p.spec}/runner`,
            "--payload",
            JSON.stringify(payload),
          ]);
          assert.equal(run.code, 0, run.text);
          assert.equal(run.stdout.trim(), "42");

          const generate = await glacier(
            p,
            "generate",
            "aws.ts",
            "--format",
            "terraform",
            "--output-dir",
            "infra",
          );
          assert.equal(generate.code, 0, generate.text);
          const tf = [...Deno.readDirSync(join(p.dir, "infra"))].map((e) => e.name);
          assert.ok(tf.some((n) => n.endsWith(".tf")), `terraform files: ${tf}`);

          const sfn = await glacier(
            p,
            "deploy",
            "aws.ts",
            "--orchestrator",
            "step_functions",
            "--output-dir",
            "sfn",
          );
          assert.equal(sfn.code, 0, sfn.text);
          const asl = JSON.parse(await Deno.readTextFile(join(p.dir, "sfn", "state_machine.asl.json")));
          assert.ok(Object.keys(asl.States).length >= 2, "a state per call");
          for await (const entry of Deno.readDir(join(p.dir, "sfn"))) {
            const text = await Deno.readTextFile(join(p.dir, "sfn", entry.name));
            assert.doesNotMatch(
              text,
              /executors\/runner\.ts/,
              `${entry.name} names no path into Glacier's sources`,
            );
          }
        },
      );

      await t.step(
        "glacier build packs a Lambda artifact with Glacier vendored, which runs a payload offline",
        async () => {
          await Deno.writeTextFile(join(p.dir, "deno.json"), "{}\n"); // the artifact takes imports and lock from it
          const build = await glacier(p, "build", "aws.ts");
          assert.equal(build.code, 0, build.text);
          const zip = join(p.dir, ".glacier", "build", "awsp", "lambda.zip");
          const files = unzipSync(await Deno.readFile(zip));
          const manifest = JSON.parse(new TextDecoder().decode(files["glacier.json"]));
          assert.match(
            manifest.runtime,
            /^vendor\/127\.0\.0\.1_\d+\/@glacier\/glacier\/[^/]+\/executors\/lambda\/runtime\.ts$/,
          );
          const config = JSON.parse(new TextDecoder().decode(files["app/deno.json"]));
          assert.ok(
            Object.values(config.imports).some((v) => String(v).startsWith("./vendor/")),
            "Glacier is mapped to its vendored copy",
          );
          const dir = await Deno.makeTempDir({ prefix: "glacier-artifact-" });
          try {
            for (const [name, bytes] of Object.entries(files)) {
              if (name.endsWith("/")) continue;
              await Deno.mkdir(join(dir, name, ".."), { recursive: true });
              await Deno.writeFile(join(dir, name), bytes, {
                mode: name === "bootstrap" || name === "bin/deno" ? 0o755 : 0o644,
              });
            }
            const payload = {
              version: 2,
              pipeline: "awsp",
              runId: "r1",
              nodeId: "scale",
              task: "scale",
              module: new URL(`file://${join(p.dir, "aws.ts")}`).href,
              attempt: 1,
              args: [21],
            };
            // No JSR_URL, no Deno cache but the artifact's own: it runs from what it carries.
            const out = await new Deno.Command(join(dir, "bootstrap"), {
              args: ["--payload", JSON.stringify(payload)],
              clearEnv: true,
              env: { PATH: "/usr/bin:/bin", HOME: dir },
              stdout: "piped",
              stderr: "piped",
            }).output();
            const stderr = new TextDecoder().decode(out.stderr);
            assert.equal(out.code, 0, stderr);
            assert.equal(new TextDecoder().decode(out.stdout).trim().split("\n").pop(), "42", stderr);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );

      await t.step(
        "a task with narrowed permissions runs from the package with a plain deno run -A",
        async () => {
          const data = join(p.dir, "data");
          await Deno.mkdir(data, { recursive: true });
          await Deno.writeTextFile(join(data, "in.txt"), "hello");
          await Deno.writeTextFile(
            join(p.dir, "narrowed.ts"),
            `import { pipeline, Provider } from "${p.spec}";
const local = new Provider().local();
export const readIn = local.task({ permissions: { read: ["./data"] } }, async function readIn() {
  return (await Deno.readTextFile("./data/in.txt")).toUpperCase();
});
export const writeOut = local.task({ permissions: { read: ["./data"] } }, async function writeOut() {
  await Deno.writeTextFile("./data/out.txt", "x");
});
export const ok = pipeline({ name: "narrowed_ok" }, () => readIn());
export const denied = pipeline({ name: "narrowed_denied" }, () => writeOut());
if (import.meta.main) {
  console.log(JSON.stringify(await ok.run({ quiet: true })));
  console.log(await denied.run({ quiet: true }).then(() => "wrote", (e) => \`\${e.code}: \${e.message}\`));
}
`,
          );
          const out = await deno(p, ["run", "-A", "narrowed.ts"]);
          assert.equal(out.code, 0, out.text);
          const [value, denial] = out.stdout.trim().split("\n").slice(-2);
          assert.equal(value, '"HELLO"', out.text);
          assert.match(denial, /^USER:PERMISSION_DENIED: .*"writeOut".*denies write access/, out.text);
          assert.equal(
            await Deno.stat(join(data, "out.txt")).catch(() => undefined),
            undefined,
            "nothing written",
          );
        },
      );
    } finally {
      await registry.stop();
      await Deno.remove(p.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("a project outside the checkout imports Glacier by path through its deno.json import map", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-path-user-" });
  try {
    const glacier = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
    const imports = { ...glacier.imports, "glacier": new URL("../mod.ts", import.meta.url).href };
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports }, null, 2));
    await Deno.writeTextFile(
      join(dir, "p.ts"),
      `import { pipeline, Provider } from "glacier";
const local = new Provider().local();
export const inc = local.task(function inc(n: number) { return n + 1; });
export const p = pipeline({ name: "path_user" }, () => inc(inc(1)));
const value = await p.run({ quiet: true }); // undefined inside the workers that import this file
if (import.meta.main) console.log(JSON.stringify({ value, ranOn: p.lastRun!.tasks.map((t) => t.ranOn) }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "p.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(stdout.trim()), { value: 3, ranOn: ["worker", "worker"] });
    assert.ok(
      (await Deno.stat(join(dir, ".glacier", "runs"))).isDirectory,
      "runs are kept in the user's project",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
