// `run({ dataRoot })` and `glacier run --data-root`: a pipeline bound to S3,
// Lambda and Databricks runs on this machine with every bucket a folder under
// the data root — buckets passed as arguments, returned, and captured at a
// module's top level, on workers, in a narrowed subprocess and in-process.
// The fixture's S3 is a dead loopback port, so a run that reached it would fail.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { tableFromArrays } from "apache-arrow";
import {
  AwsConfig,
  AzureConfig,
  type Bucket,
  GcpConfig,
  GlacierError,
  LambdaConfig,
  LocalConfig,
  pipeline,
  Provider,
} from "../../../mod.ts";
import { withDataRoot } from "../../../src/run/data_root.ts";
import { DEAD_S3, scoring } from "../../fixtures/data_root_tasks.ts";
import { glacier } from "../../support/cli.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../../fixtures/data_root_tasks.ts", import.meta.url));

/** A fresh data root holding the fixture's raw events (one row has no customer). */
async function seededRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "glacier-data-root-" });
  await new Provider({ config: new LocalConfig({ root }) })
    .bucket({ bucket: "data-lake", path: "raw/events.arrow" })
    .write(
      tableFromArrays({ customer: Int32Array.from([1, 0, 2]), spend: Float64Array.from([50, 10, 200]) }),
    );
  return root;
}

/** What the fixture pipeline leaves under a data root. */
async function assertOutputs(root: string): Promise<void> {
  const local = new Provider({ config: new LocalConfig({ root }) });
  const scored = await local.bucket({ bucket: "data-lake", path: "output/scores.parquet" }).scanArrow();
  assert.deepEqual([...scored.getChild("customer")!.toArray()], [1, 2]);
  assert.deepEqual([...scored.getChild("score")!.toArray()], [0.5, 2]);
  assert.equal(await Deno.readTextFile(join(root, "data-lake", "stages", "clean.txt")), "2 of 3");
  const summary = JSON.parse(await Deno.readTextFile(join(root, "reports", "summary.json")));
  assert.deepEqual(summary, { rows: 2, uri: "s3://data-lake/output/scores.parquet" });
  assert.equal(
    await Deno.readTextFile(join(root, "data-lake", "audit", "seen.txt")),
    `s3://data-lake/output/scores.parquet ${JSON.stringify(summary)}`,
  );
}

for (
  const [label, workers, ranOn] of [["the default pool", undefined, "worker"], [
    "workers: 0",
    0,
    "in-process",
  ]] as const
) {
  Deno.test(`run({ dataRoot }) on ${label} runs Lambda- and Databricks-bound tasks here, every bucket under the root`, async () => {
    const root = await seededRoot();
    try {
      const result = await scoring.run({ dataRoot: root, workers, quiet: true });
      // `list()` in the narrowed task, `write()` in save, on folders: S3 at DEAD_S3 was never asked.
      assert.deepEqual(result.audit.listed, ["output/scores.parquet"]);
      // On the pool the task with its own permissions ran in a narrowed subprocess, granted the root only.
      assert.equal(result.audit.net, workers === 0);
      assert.equal((result.written as Bucket).uri, "s3://data-lake/output/scores.parquet");
      await assertOutputs(root);
      const report = scoring.lastRun!;
      assert.equal(report.status, "succeeded");
      assert.equal(report.mode, "local");
      assert.equal(report.dataRoot, root);
      assert.deepEqual(
        report.tasks.map((t) => [t.id, t.executor, t.ranOn]),
        [
          ["extract", "local", ranOn],
          ["clean", "lambda", ranOn],
          ["predict", "databricks", ranOn],
          ["save", "local", ranOn],
          ["audit", "local", ranOn],
        ],
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("withDataRoot() maps S3, Cloud Storage and Azure buckets to folders, and only inside its scope", async () => {
  const root = await Deno.makeTempDir();
  try {
    const buckets = [
      new Provider({ config: new AwsConfig({ region: "us-east-1", endpoint: DEAD_S3 }) })
        .bucket({ bucket: "lake.v2", path: "a/b.txt" }),
      new Provider({ config: new GcpConfig({ project: "glacier-test" }) }).bucket({
        bucket: "gcs-lake",
        path: "x.txt",
      }),
      new Provider({ config: new AzureConfig({}) }).bucket({ bucket: "container", path: "y.txt" }),
    ];
    await withDataRoot(root, () => Promise.all(buckets.map((b) => b.put(b.uri))));
    // Bucket names are folder names as they are.
    assert.equal(await Deno.readTextFile(join(root, "lake.v2", "a", "b.txt")), "s3://lake.v2/a/b.txt");
    assert.equal(await Deno.readTextFile(join(root, "gcs-lake", "x.txt")), "gs://gcs-lake/x.txt");
    assert.equal(await Deno.readTextFile(join(root, "container", "y.txt")), "az://container/y.txt");
    assert.deepEqual(await withDataRoot(root, () => buckets[0].at("a/").list()), ["a/b.txt"]);
    // Outside the scope the Azure bucket is its own again, and az:// has no store at run time.
    await assert.rejects(() => buckets[2].put("z"), GlacierError);
    // Keys still cannot climb out of the root.
    assert.throws(() => buckets[0].at("../escape.txt"), RangeError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run({ dataRoot }) takes a path relative to the working directory and makes a missing folder", async () => {
  const parent = await Deno.makeTempDir();
  const root = join(parent, "not", "yet");
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1", endpoint: DEAD_S3 }) });
  const lambda = aws.serverless({ config: new LambdaConfig({}) });
  const marker = aws.bucket({ bucket: "data-lake", path: "marker.txt" });
  const mark = lambda.task(function mark(dst: Bucket) {
    return dst.put("here");
  });
  const p = pipeline({ name: "data_root_relative" }, () => mark(marker));
  try {
    await p.run({ dataRoot: relative(Deno.cwd(), root), workers: 0, quiet: true });
    assert.equal(p.lastRun!.dataRoot, root);
    assert.equal(await Deno.readTextFile(join(root, "data-lake", "marker.txt")), "here");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("run({ dataRoot }) refuses a file in the folder's place, naming it", async () => {
  const parent = await Deno.makeTempDir();
  const file = join(parent, "lake");
  await Deno.writeTextFile(file, "not a folder");
  try {
    for (const dataRoot of [file, join(file, "below")]) {
      await assert.rejects(
        () => scoring.run({ dataRoot, workers: 0, quiet: true }),
        (error: unknown) => {
          assert.ok(error instanceof GlacierError);
          assert.equal(error.code, "USER:DATA_ROOT_NOT_FOLDER");
          assert.ok(error.message.includes(JSON.stringify(dataRoot)), error.message);
          assert.match(error.message, /^Pipeline "data_root_scoring": the data root .* is not a folder/);
          return true;
        },
      );
    }
    assert.equal(await Deno.readTextFile(file), "not a folder");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("run() takes dataRoot in mode local only, and only as a path", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ mode: "analyze" }, /mode "analyze" touches no bucket, so it takes no "dataRoot"/],
    [{ mode: "generate", format: "terraform" }, /mode "generate" touches no bucket/],
    [{ mode: "deploy", orchestrator: "airflow" }, /mode "deploy" touches no bucket/],
    [{ mode: "cloud" }, /"dataRoot" maps buckets to local folders, so it is for mode "local" only/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => scoring.run({ ...options, dataRoot: "./lake", quiet: true } as any),
      (error: unknown) => error instanceof TypeError && message.test(error.message),
      JSON.stringify(options),
    );
  }
  for (const dataRoot of ["", 42]) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => scoring.run({ dataRoot: dataRoot as any, workers: 0, quiet: true }),
      (error: unknown) =>
        error instanceof TypeError && /"dataRoot" must be the path of a folder/.test(error.message),
    );
  }
});

Deno.test("a cached task's output on one data root is not reused on another", async () => {
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1", endpoint: DEAD_S3 }) });
  const note = aws.bucket({ bucket: "data-lake", path: "note.txt" });
  const readNote = aws.local().task({ cache: true }, async function readNote(src: Bucket): Promise<string> {
    return new TextDecoder().decode(await src.read());
  });
  const p = pipeline({ name: "data_root_cache" }, () => readNote(note));
  const roots = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const seen = [];
    for (const [i, root] of roots.entries()) {
      const text = `${crypto.randomUUID()} ${i}`;
      await Deno.mkdir(join(root, "data-lake"));
      await Deno.writeTextFile(join(root, "data-lake", "note.txt"), text);
      seen.push([await p.run({ dataRoot: root, workers: 0, quiet: true }), text]);
    }
    for (const [got, expected] of seen) assert.equal(got, expected);
    // The same root again is a cache hit.
    assert.equal(await p.run({ dataRoot: roots[1], workers: 0, quiet: true }), seen[1][1]);
    assert.equal(p.lastRun!.tasks[0].ranOn, "cache");
  } finally {
    for (const root of roots) await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resume without dataRoot continues on the data root of the run it resumes", async () => {
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1", endpoint: DEAD_S3 }) });
  const gate = aws.bucket({ bucket: "data-lake", path: `gate-${crypto.randomUUID()}.txt` });
  const first = aws.local().task(function first(): number {
    return 1;
  });
  const second = aws.local().task(async function second(n: number, src: Bucket): Promise<string> {
    return `${n} ${new TextDecoder().decode(await src.read())}`;
  });
  const p = pipeline(
    { name: `data_root_resume_${crypto.randomUUID().slice(0, 8)}` },
    () => second(first(), gate),
  );
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(() => p.run({ dataRoot: root, workers: 0, quiet: true }), /No object at file:/);
    await Deno.mkdir(join(root, "data-lake"));
    await Deno.writeTextFile(join(root, "data-lake", gate.path), "open");
    assert.equal(await p.run({ resume: true, workers: 0, quiet: true }), "1 open");
    assert.equal(p.lastRun!.dataRoot, root);
    assert.deepEqual(p.lastRun!.tasks.map((t) => t.ranOn), ["checkpoint", "in-process"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("glacier run --data-root runs the pipeline on folders under a path relative to the working directory", async () => {
  const cwd = await Deno.makeTempDir();
  const root = await seededRoot();
  try {
    await Deno.rename(root, join(cwd, "lake"));
    const { code, stdout, stderr } = await glacier(
      ["run", FIXTURE, "--data-root", "lake", "--workers", "1", "--json"],
      { cwd },
    );
    assert.equal(code, 0, stderr);
    // The URIs stay as written; the summary says where the objects went.
    assert.match(stderr, new RegExp(`succeeded in .*; buckets are folders under ${join(cwd, "lake")}\n`));
    const { result } = JSON.parse(stdout);
    assert.deepEqual(result, {
      audit: { listed: ["output/scores.parquet"], net: false },
      written: { uri: "s3://data-lake/output/scores.parquet" },
    });
    await assertOutputs(join(cwd, "lake"));
    // The control: without --data-root the same run reaches for the fixture's S3 and fails loudly.
    const reached = await glacier(["run", FIXTURE, "--workers", "0", "--quiet"], {
      cwd,
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1" },
    });
    assert.equal(reached.code, 1);
    assert.ok(reached.stderr.includes(`S3 endpoint "${DEAD_S3}" did not answer`), reached.stderr);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("glacier run --data-root names a file in the folder's place; other commands take no --data-root", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(cwd, "lake"), "");
    const bad = await glacier(["run", FIXTURE, "--data-root", "lake", "--workers", "0", "--quiet"], { cwd });
    assert.equal(bad.code, 1);
    assert.ok(
      bad.stderr.includes(`the data root ${JSON.stringify(join(cwd, "lake"))} is not a folder`),
      bad.stderr,
    );
    const empty = await glacier(["run", FIXTURE, "--data-root", ""], { cwd });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--data-root needs a folder/);
    const analyze = await glacier(["analyze", FIXTURE, "--data-root", "lake"], { cwd });
    assert.equal(analyze.code, 2);
    assert.match(analyze.stderr, /"glacier analyze" takes no --data-root/);
    const help = await glacier(["run", "--help"], { cwd });
    assert.match(help.stdout, /--data-root <dir> +map every bucket to a folder under <dir>/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("examples/ml_inference.ts runs on this machine with its S3 lake under the project's data/", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "examples", "ml_inference.ts")],
      cwd,
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /scored \d+ customers/);
    assert.ok((await Deno.stat(join(ROOT, "data", "ml-lake", "scores", "churn.parquet"))).size > 0);
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing was written in the working directory");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
