// Secrets in the environment never reach what Glacier writes: run reports,
// checkpoints, cache entries, task payloads on the wire to a VM, or logs.
import assert from "node:assert/strict";
import { join } from "node:path";

const SECRET = "GlacierTestSecret0123456789abcdefXYZ";
const FIXTURE = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else out.push(path);
  }
  return out;
}

Deno.test("credentials in the environment appear in no report, checkpoint, cache entry or log", async () => {
  const cwd = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  const script = `
    import * as fx from ${JSON.stringify(FIXTURE)};
    await fx.cachePipeline.run({ params: { dir: ${JSON.stringify(dir)}, n: 100 } });
    try { await fx.resumePipeline.run({ params: { dir: ${
    JSON.stringify(dir)
  } } }); } catch (e) { console.error(String(e)); }
    await fx.resumePipeline.run({ resume: true });
  `;
  const file = join(cwd, "run.ts");
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, file],
    cwd,
    env: {
      AWS_ACCESS_KEY_ID: "AKIA" + SECRET.slice(0, 16),
      AWS_SECRET_ACCESS_KEY: SECRET,
      DATABRICKS_TOKEN: "dapi" + SECRET,
    },
  }).output();
  const logs = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, logs);
  const written = (await filesUnder(join(cwd, ".glacier"))).filter((f) => !f.endsWith("run.ts"));
  const kinds = new Set(written.map((f) => f.split("/.glacier/")[1].split("/")[0]));
  assert.deepEqual([...kinds].sort(), ["cache", "checkpoints", "runs"]); // every kind of output was written
  for (const path of written) {
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder("latin1").decode(bytes);
    assert.ok(!text.includes(SECRET.slice(0, 16)), `${path} holds a credential`);
  }
  assert.ok(!logs.includes(SECRET.slice(0, 16)), "the logs hold a credential");
});

Deno.test("generated infrastructure and orchestrator files hold no credential from the environment", async () => {
  const out = await Deno.makeTempDir();
  const script = `
    import { mlInference } from ${
    JSON.stringify(new URL("../examples/ml_inference.ts", import.meta.url).href)
  };
    for (const format of ["terraform", "cloudformation", "pulumi"]) await mlInference.generate({ format, outputDir: ${
    JSON.stringify(out)
  } + "/" + format });
    for (const orchestrator of ["step_functions", "airflow", "prefect", "dagster"]) {
      await mlInference.deploy({ orchestrator, schedule: "0 6 * * *", outputDir: ${
    JSON.stringify(out)
  } + "/" + orchestrator });
    }
  `;
  const file = join(await Deno.makeTempDir(), "generate.ts");
  await Deno.writeTextFile(file, script);
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, file],
    env: {
      AWS_SECRET_ACCESS_KEY: SECRET,
      DATABRICKS_TOKEN: "dapi" + SECRET,
      AWS_ACCESS_KEY_ID: "AKIA" + SECRET.slice(0, 16),
    },
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const files = await filesUnder(out);
  assert.ok(files.length >= 15, `${files.length} files generated`);
  for (const path of files) {
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes(SECRET.slice(0, 16)), `${path} holds a credential`);
    assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}/, `${path} holds an access key id`);
  }
});
