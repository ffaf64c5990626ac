// `glacier build`: the Lambda artifact from the command line.
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { codeSha256 } from "../../../executors/lambda/executor.ts";
import type { GlacierError } from "../../../src/errors.ts";

const CLI = new URL("../../../cli.ts", import.meta.url).pathname;
const FIXTURE = new URL("./fixtures/lambda_pipeline.ts", import.meta.url).pathname;
// Cloud Functions and Dataproc only: nothing Lambda, Databricks or this machine runs.
const GCP = new URL("../../fixtures/analyze/clouds.ts", import.meta.url).pathname;

async function glacier(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("glacier build writes the Lambda artifact with bootstrap, Deno, the module graph and a manifest", async () => {
  const dir = await Deno.makeTempDir();
  const { code, stdout, stderr } = await glacier([
    "build",
    FIXTURE,
    "--pipeline",
    "lambda_fixture",
    "--output-dir",
    dir,
    "--json",
  ]);
  assert.equal(code, 0, stderr);
  const [artifact, ...others] = JSON.parse(stdout).artifacts;
  assert.equal(artifact.path, ".glacier/build/lambda_fixture/lambda.zip");
  assert.equal(artifact.functionName, "glacier-lambda_fixture-lambda");
  // Its local tasks run on the Step Functions launcher function: the same zip, written too.
  const launcher = others.find((a: { resource: string }) => a.resource === "launcher");
  assert.equal(launcher?.path, ".glacier/build/lambda_fixture/launcher.zip");
  assert.equal(launcher.functionName, "glacier-lambda_fixture-launcher");
  assert.equal(launcher.codeSha256, await codeSha256(await Deno.readFile(join(dir, launcher.path))));
  assert.equal(launcher.codeSha256, artifact.codeSha256);
  const zip = await Deno.readFile(join(dir, artifact.path));
  assert.equal(artifact.codeSha256, await codeSha256(zip));
  const files = unzipSync(zip, {
    filter: (f) => !f.name.startsWith("deno_dir/") && f.name !== "bin/deno",
  });
  assert.match(new TextDecoder().decode(files.bootstrap), /^#!\/bin\/sh/);
  const manifest = JSON.parse(new TextDecoder().decode(files["glacier.json"]));
  assert.equal(manifest.pipeline, "lambda_fixture");
  assert.equal(manifest.runtime, "executors/lambda/runtime.ts");
  assert.ok(manifest.modules.includes("tests/executors/lambda/fixtures/lambda_pipeline.ts"));
  assert.ok("app/executors/runner.ts" in files);
  const config = JSON.parse(new TextDecoder().decode(files["app/deno.json"]));
  assert.ok("apache-arrow" in config.imports);
  assert.ok(!("s3rver" in config.imports), "test-only packages stay out of the artifact");
  const names = Object.keys(
    unzipSync(zip, { filter: (f) => f.name.endsWith("/package.json") && f.name.split("/").length === 6 }),
  );
  assert.ok(names.some((n) => n.includes("/apache-arrow/")), "npm packages come along");
  // Glacier names nodejs-polars only in its lazy loader; these tasks never import it.
  assert.ok(!names.some((n) => n.includes("polars")), `no polars: ${names.join(", ")}`);
  assert.ok(!("nodejs-polars" in config.imports));
});

Deno.test("glacier build of a GCP pipeline writes one Cloud Run function source zip per function resource", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { code, stderr } = await glacier(["build", GCP, "--pipeline", "gcp_pipeline", "--output-dir", out]);
    assert.equal(code, 0, stderr);
    for (const name of ["cloud_function", "cloud_function_2"]) {
      const zip = await Deno.readFile(join(out, ".glacier", "build", "gcp_pipeline", `${name}.zip`));
      const files = Object.keys(
        unzipSync(zip, { filter: (f) => f.name === "index.js" || f.name === "package.json" }),
      );
      assert.deepEqual(
        files.sort(),
        ["index.js", "package.json"],
        `${name}.zip is a Node.js function source`,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a Lambda task in polars carries polars' Linux x64 glibc binary and no other platform's binary", async () => {
  const { buildLambdaArtifacts, LAMBDA_UNZIPPED_LIMIT } = await import("../../../executors/lambda/build.ts");
  const { polarsLambda } = await import("./fixtures/polars_lambda.ts");
  const cwd = await Deno.makeTempDir();
  try {
    const [artifact] = await buildLambdaArtifacts(polarsLambda, { cwd, level: 1 });
    const zip = await Deno.readFile(join(cwd, artifact.path));
    const names = Object.keys(
      unzipSync(zip, { filter: (f) => f.name.endsWith("/package.json") && f.name.split("/").length === 6 }),
    ).map((n) => n.split("/")[3]);
    assert.ok(names.includes("nodejs-polars"), names.join(", "));
    assert.ok(names.includes("nodejs-polars-linux-x64-gnu"), names.join(", "));
    // Deno installs the musl build on any linux x64 too, so it comes as its package.json alone.
    assert.deepEqual(names.filter((n) => /polars-(?!linux-x64-gnu$)[a-z]/.test(n)), [
      "nodejs-polars-linux-x64-musl",
    ]);
    const binaries = Object.keys(unzipSync(zip, { filter: (f) => f.name.endsWith(".node") }));
    assert.deepEqual(binaries.map((n) => n.split("/").at(-1)), ["nodejs-polars.linux-x64-gnu.node"]);
    let unzipped = 0;
    unzipSync(zip, {
      filter: (f) => {
        unzipped += f.originalSize;
        return false;
      },
    });
    assert.ok(unzipped <= LAMBDA_UNZIPPED_LIMIT, `${unzipped} bytes unzipped`);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("an artifact over Lambda's 250 MB unzipped limit is refused at build, naming the largest files", async () => {
  const { buildLambdaArtifacts } = await import("../../../executors/lambda/build.ts");
  const { polarsLambda } = await import("./fixtures/polars_lambda.ts");
  const cwd = await Deno.makeTempDir();
  try {
    // A Deno binary of 200 MB: with polars' 115 MB the function is over the limit.
    const denoBinary = join(cwd, "deno");
    const file = await Deno.open(denoBinary, { create: true, write: true });
    await file.truncate(200_000_000);
    file.close();
    await assert.rejects(
      () => buildLambdaArtifacts(polarsLambda, { cwd, denoBinary, level: 0 }),
      (e: GlacierError) => {
        assert.equal(e.code, "USER:ARTIFACT_TOO_LARGE");
        assert.match(
          e.message,
          /pipeline "polars_lambda" is 3\d\d\.\d MB unzipped, over Lambda's 262\.1 MB limit/,
        );
        assert.match(
          e.message,
          /bin\/deno \(200\.0 MB\), deno_dir\/npm\/.*nodejs-polars\.linux-x64-gnu\.node/,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
