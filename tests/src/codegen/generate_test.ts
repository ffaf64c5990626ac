import assert from "node:assert/strict";
import { join } from "node:path";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { mixed } from "../../fixtures/codegen/mixed.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { fanOut } from "../../../examples/patterns/fan_out.ts";
import { GlacierError } from "../../../src/errors.ts";
import { MARKER, writeFilesAtomically } from "../../../src/codegen/write_files.ts";
import { glacier } from "../../support/cli.ts";

Deno.test("pipeline.generate() rejects an unknown format with a RangeError listing the valid ones", async () => {
  await assert.rejects(
    () => mlInference.generate({ format: "ansible" }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === 'Unknown generate format "ansible"; use one of "terraform", "cloudformation", "pulumi"',
  );
  // @ts-expect-error: mode "generate" needs a format; a JavaScript caller gets the RangeError
  await assert.rejects(() => mlInference.run({ mode: "generate" }), RangeError);
});

Deno.test("pipeline.run({ mode: 'generate' }) is pipeline.generate()", async () => {
  const viaRun = await mlInference.run({ mode: "generate", format: "terraform" }) as unknown as {
    files: object;
  };
  const direct = await mlInference.generate({ format: "terraform" });
  assert.deepEqual(viaRun.files, direct.files);
});

Deno.test("generate refuses a pipeline whose tasks run on two clouds and names the task", async () => {
  await assert.rejects(
    () => mixed.generate({ format: "terraform" }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:GENERATE_CLOUD_MISMATCH" &&
      e.message.includes('task "second"') && e.message.includes("does not fit the AWS provider"),
  );
});

Deno.test("generate refuses a pipeline that runs only on this machine", async () => {
  await assert.rejects(
    () => fanOut.generate({ format: "terraform" }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:GENERATE_NO_CLOUD" && e.message.includes('"fan_out"'),
  );
});

Deno.test("generate is deterministic: the same pipeline gives byte-identical files in every format", async () => {
  for (const format of ["terraform", "cloudformation", "pulumi"]) {
    const a = await wide.generate({ format });
    const b = await wide.generate({ format });
    assert.deepEqual(a.files, b.files);
    assert.equal(a.summary, b.summary);
    for (const text of Object.values(a.files)) {
      assert.ok(!/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text), "no timestamps");
    }
  }
});

Deno.test("generate writes outputDir atomically and replaces its own earlier output whole", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "infra");
  const first = await mlInference.generate({ format: "cloudformation", outputDir: out });
  assert.deepEqual(first.written, Object.keys(first.files).sort().map((f) => join(out, f)));
  await Deno.writeTextFile(join(out, "stale.tf"), "# left over\n");
  await mlInference.generate({ format: "terraform", outputDir: out });
  const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
  assert.deepEqual(names, [
    MARKER,
    "databricks.tf",
    "iam.tf",
    "lambda.tf",
    "main.tf",
    "orchestration.tf",
    "outputs.tf",
    "s3.tf",
  ]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["infra"], "no temporary folder is left");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("generate refuses a non-empty folder it did not write and leaves it untouched", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "notes.md"), "mine\n");
  await assert.rejects(
    () => mlInference.generate({ format: "terraform", outputDir: dir }),
    (e: unknown) =>
      e instanceof GlacierError && e.code === "USER:OUTPUT_DIR" &&
      /choose a new or empty folder/.test(e.message),
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notes.md"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFilesAtomically rejects paths that leave the folder", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => writeFilesAtomically(join(dir, "x"), { "../evil.tf": "" }), TypeError);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("glacier generate writes the files and never writes an environment value", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "tf");
  const secret = "s3cr3t-value-that-must-not-leak";
  const run = await glacier(
    ["generate", "tests/fixtures/codegen/aws_wide.ts", "--format", "terraform", "--output-dir", out],
    { env: { API_KEY: secret, LOG_LEVEL: secret, AWS_SECRET_ACCESS_KEY: secret } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /terraform for pipeline "aws_wide" on AWS eu-west-1/);
  for (const entry of Deno.readDirSync(out)) {
    assert.ok(!Deno.readTextFileSync(join(out, entry.name)).includes(secret), entry.name);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("glacier generate with an unknown format exits 2 and lists the formats", async () => {
  const run = await glacier(["generate", "examples/ml_inference.ts", "--format", "helm"]);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /Unknown format "helm" for "glacier generate"; use terraform, cloudformation, pulumi/,
  );
});
