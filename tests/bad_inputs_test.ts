// The bad-input table: each case gets the fitting error class and a message
// naming the culprit and the way out, and writes nothing.
import assert from "node:assert/strict";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import {
  AwsConfig,
  DatabricksConfig,
  GcpConfig,
  GlacierError,
  LambdaConfig,
  LocalConfig,
  pipeline,
  Provider,
} from "../mod.ts";
import * as fx from "./fixtures/bad_inputs.ts";
import { takesLauncherName } from "./fixtures/launcher_name.ts";
import { mlInference } from "../examples/ml_inference.ts";

type ErrorClass = typeof TypeError | typeof RangeError | typeof GlacierError;

interface Case {
  name: string;
  run: (root: string) => unknown;
  error: ErrorClass;
  message: RegExp;
  code?: string;
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function cli(args: string[]): Promise<never> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const error = new RangeError(new TextDecoder().decode(out.stderr));
  (error as { exitCode?: number }).exitCode = out.code;
  throw error;
}

const local = (root: string) => new Provider({ config: new LocalConfig({ root }) });

const cases: Case[] = [
  // Configs
  {
    name: "Lambda memory below 128 MB",
    run: () => new LambdaConfig({ memory: 64 }),
    error: RangeError,
    message: /LambdaConfig: "memory" is 64 MB, it must be between 128 and 10240 MB/,
  },
  {
    name: "Lambda timeout past 15 minutes",
    run: () => new LambdaConfig({ timeout: 901 }),
    error: RangeError,
    message: /"timeout" is 901 seconds/,
  },
  {
    name: "a malformed AWS region",
    run: () => new AwsConfig({ region: "moon-1" }),
    error: RangeError,
    message: /"region" is "moon-1", expected an AWS region such as "us-east-1"/,
  },
  {
    name: "a GCP config without a project",
    run: () => new GcpConfig({} as never),
    error: TypeError,
    message: /"project" is required/,
  },
  {
    name: "Databricks with neither cluster nor spec",
    run: () => new DatabricksConfig({}),
    error: TypeError,
    message: /exactly one of "clusterId".*or "newCluster"/,
  },
  {
    name: "a Lambda on a GCP provider",
    run: () =>
      new Provider({ config: new GcpConfig({ project: "my-project" }) }).serverless({
        config: new LambdaConfig(),
      }),
    error: GlacierError,
    code: "USER:CONFIG_CLOUD",
    message: /"LambdaConfig" to a GcpConfig provider: it needs an AwsConfig provider/,
  },
  {
    name: "a provider config that is not one",
    run: () => new Provider({ config: { region: "x" } as never }),
    error: TypeError,
    message: /must be a LocalConfig, AwsConfig, GcpConfig or AzureConfig/,
  },
  // Task options
  {
    name: "an anonymous task",
    run: () => new Provider().local().task((x: number) => x),
    error: TypeError,
    message: /anonymous function: name it/,
  },
  {
    name: "negative retries",
    run: () => new Provider().local().task({ retries: -1 }, function r() {}),
    error: RangeError,
    message: /Task "r": "retries" is -1/,
  },
  {
    name: "a zero timeout",
    run: () => new Provider().local().task({ timeout: 0 }, function t() {}),
    error: RangeError,
    message: /Task "t": "timeout" is 0 ms/,
  },
  {
    name: "an unusable task name",
    run: () => new Provider().local().task({ name: "two words" }, () => 1),
    error: TypeError,
    message: /Task name "two words" is not usable/,
  },
  // Pipeline definitions and runs
  {
    name: "a pipeline without a name",
    run: () => pipeline({} as never, () => 1),
    error: TypeError,
    message: /a pipeline needs a name: pipeline\(\{ name: "etl" \}/,
  },
  {
    name: "a pipeline without a function",
    run: () => pipeline({ name: "p" }, "nope" as never),
    error: TypeError,
    message: /pipeline "p": expected a function/,
  },
  {
    name: "an unknown mode",
    run: () => fx.simple.run({ mode: "fast" as never }),
    error: RangeError,
    message: /unknown mode "fast"; use one of "local", "cloud", "analyze", "generate", "deploy"/,
  },
  {
    name: "params that are not an object",
    run: () => fx.simple.run({ params: [1] as never, quiet: true }),
    error: TypeError,
    message: /Pipeline "bad_simple": params must be a plain object/,
  },
  {
    name: "a negative worker count",
    run: () => fx.simple.run({ workers: -1, quiet: true }),
    error: RangeError,
    message: /"workers" is -1/,
  },
  {
    name: "resume with no run to resume",
    run: () => pipeline({ name: "never_ran_here" }, () => 1).run({ resume: true, quiet: true }),
    error: GlacierError,
    code: "USER:NOTHING_TO_RESUME",
    message: /has no run in \/\S+\/\.glacier\/runs to resume/,
  },
  // Arguments that cannot cross to a worker
  {
    name: "a function inside an argument",
    run: () => fx.sendsFunction.run({ quiet: true }),
    error: GlacierError,
    code: "USER:NOT_CROSSABLE",
    message:
      /argument 1 of task "takes" \(call takes\) in pipeline "bad_sends_function"\.onDone: it is a function/,
  },
  {
    name: "a class instance inside an argument",
    run: () => fx.sendsInstance.run({ quiet: true }),
    error: GlacierError,
    code: "USER:NOT_CROSSABLE",
    message: /argument 1 of task "takes".*\[1\]: it is a Point instance.*rebuild the Point inside the task/,
  },
  // Files
  {
    name: "a missing object",
    run: (root) => local(root).bucket({ bucket: "lake", path: "missing.csv" }).scanArrow(),
    error: GlacierError,
    code: "USER:OBJECT_NOT_FOUND",
    message: /No object at file:\/\/.*\/lake\/missing\.csv/,
  },
  {
    name: "a corrupt Parquet file",
    run: async (root) => {
      await Deno.mkdir(join(root, "lake"), { recursive: true });
      await Deno.writeTextFile(join(root, "lake", "bad.parquet"), "PAR1 this is not parquet PAR1");
      return local(root).bucket({ bucket: "lake", path: "bad.parquet" }).scanArrow();
    },
    error: GlacierError,
    code: "USER:FILE_CORRUPT",
    message: /bad\.parquet/,
  },
  {
    name: "an unknown file format",
    run: (root) =>
      local(root).bucket({ bucket: "lake", path: "data.xlsx" }).write(tableFromArrays({ a: [1] })),
    error: GlacierError,
    code: "USER:FORMAT_UNKNOWN",
    message: /Cannot tell the table format of .*\("\.xlsx"\)/,
  },
  {
    name: "a ragged CSV",
    run: async (root) => {
      await Deno.mkdir(join(root, "lake"), { recursive: true });
      await Deno.writeTextFile(join(root, "lake", "ragged.csv"), "a,b\n1,2\n3,4,5\n");
      return local(root).bucket({ bucket: "lake", path: "ragged.csv" }).scanArrow();
    },
    error: GlacierError,
    code: "USER:CSV_MALFORMED",
    message: /ragged\.csv: line 3 has 3 fields, the header has 2/,
  },
  {
    name: "files of one glob with different schemas",
    run: async (root) => {
      await Deno.mkdir(join(root, "lake", "parts"), { recursive: true });
      await Deno.writeTextFile(join(root, "lake", "parts", "1.csv"), "a,b\n1,2\n");
      await Deno.writeTextFile(join(root, "lake", "parts", "2.csv"), "a,c\n1,x\n");
      return local(root).bucket({ bucket: "lake", path: "parts/*.csv" }).scanArrow();
    },
    error: GlacierError,
    code: "USER:SCHEMA_MISMATCH",
    message: /1\.csv[\s\S]*2\.csv/,
  },
  {
    name: "a key that climbs out of the bucket",
    run: (root) => local(root).bucket({ bucket: "lake", path: "../../etc/passwd" }),
    error: RangeError,
    message: /path "\.\.\/\.\.\/etc\/passwd" climbs out of the bucket/,
  },
  {
    name: "an invalid bucket name",
    run: (root) => local(root).bucket({ bucket: "Not A Bucket", path: "x" }),
    error: RangeError,
    message: /Bucket name "Not A Bucket" is invalid/,
  },
  // Generate and deploy options: refused before anything is written
  {
    name: "an unknown generate format",
    run: (root) => mlInference.generate({ format: "ansible", outputDir: join(root, "infra") }),
    error: RangeError,
    message: /"ansible".*"terraform", "cloudformation", "pulumi"/,
  },
  {
    name: "an unknown orchestrator",
    run: (root) => mlInference.deploy({ orchestrator: "cron-job" as never, outputDir: join(root, "deploy") }),
    error: RangeError,
    message: /"cron-job".*step_functions/,
  },
  {
    name: "a bad cron schedule",
    run: (root) =>
      mlInference.deploy({
        orchestrator: "airflow",
        schedule: "0 25 * * *",
        outputDir: join(root, "deploy"),
      }),
    error: RangeError,
    message: /Schedule "0 25 \* \* \*" is invalid/,
  },
  {
    name: "a schedule with six fields",
    run: (root) =>
      mlInference.deploy({
        orchestrator: "step_functions",
        schedule: "0 6 * * * 2026",
        outputDir: join(root, "deploy"),
      }),
    error: RangeError,
    message: /has 6 fields; use 5 fields/,
  },
  {
    name: "a Lambda resource named like the Step Functions launcher",
    run: (root) =>
      takesLauncherName.deploy({ orchestrator: "step_functions", outputDir: join(root, "deploy") }),
    error: GlacierError,
    code: "USER:RESERVED_NAME",
    message:
      /resource "launcher" \(lambda\) has the name of the function Step Functions needs.*give the resource another name/,
  },
  // Command line (exit code 2, message on stderr)
  {
    name: "glacier run on a missing file",
    run: () => cli(["run", "no/such/file.ts"]),
    error: RangeError,
    message: /No such file "no\/such\/file\.ts"/,
  },
  {
    name: "an unknown glacier command",
    run: () => cli(["launch", "x.ts"]),
    error: RangeError,
    message: /Unknown command "launch"/,
  },
  {
    name: "a non-numeric --workers",
    run: () => cli(["run", "examples/patterns/sequential.ts", "--workers", "many"]),
    error: RangeError,
    message: /--workers "many" is not a whole number/,
  },
  // Links out of what was granted, and secrets in endpoints
  {
    name: "a local object that is a link out of the bucket",
    run: async (root) => {
      const outside = join(await Deno.makeTempDir(), "secret.csv");
      await Deno.writeTextFile(outside, "a\n1\n");
      await Deno.mkdir(join(root, "lake"), { recursive: true });
      await Deno.symlink(outside, join(root, "lake", "leak.csv"));
      return local(root).bucket({ bucket: "lake", path: "leak.csv" }).scanArrow();
    },
    error: GlacierError,
    code: "USER:PATH_OUTSIDE_BUCKET",
    message:
      /Cannot read "file:\/\/.*\/lake\/leak\.csv": it resolves to ".*secret\.csv" through a symbolic link, outside the bucket folder ".*lake"; remove the link, or copy the data into the bucket/,
  },
  {
    name: "a write over a link out of the bucket",
    run: async (root) => {
      const outside = join(await Deno.makeTempDir(), "report.csv");
      await Deno.writeTextFile(outside, "kept\n");
      await Deno.mkdir(join(root, "lake"), { recursive: true });
      await Deno.symlink(outside, join(root, "lake", "report.csv"));
      return local(root).bucket({ bucket: "lake", path: "report.csv" }).write(tableFromArrays({ a: [1] }));
    },
    error: GlacierError,
    code: "USER:PATH_OUTSIDE_BUCKET",
    message:
      /Cannot write "file:\/\/.*\/lake\/report\.csv": it resolves to ".*report\.csv" through a symbolic link/,
  },
  {
    name: "a narrowed task whose granted folder holds a link out of it",
    run: async (root) => {
      const outside = join(await Deno.makeTempDir(), "passwd");
      await Deno.writeTextFile(outside, "root:x:0:0");
      await Deno.mkdir(join(root, "data"));
      await Deno.symlink(outside, join(root, "data", "passwd.csv"));
      const module = join(await Deno.makeTempDir(), "linked.ts");
      await Deno.writeTextFile(
        module,
        `import { pipeline, Provider } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
export const readLinked = new Provider().local().task(
  { permissions: { read: [${JSON.stringify(join(root, "data"))}] } },
  function readLinked(): Promise<string> { return Deno.readTextFile(${
          JSON.stringify(join(root, "data", "passwd.csv"))
        }); },
);
export const linked = pipeline({ name: "bad_linked_grant" }, () => readLinked());
`,
      );
      const { linked } = await import(new URL(`file://${module}`).href);
      return linked.run({ quiet: true });
    },
    error: GlacierError,
    code: "USER:PERMISSION_SYMLINK",
    message:
      /Task "readLinked" of pipeline "bad_linked_grant" failed on attempt 1: its "read" permission on ".*data" reaches outside it: ".*passwd\.csv" is a symbolic link to ".*passwd", and Deno follows links; remove the link, or grant ".*passwd" in the task's "permissions" option/,
  },
  {
    name: "an S3 endpoint with a password in it, unreachable",
    run: async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const { s3rverStore } = await import("./support/s3rver.ts");
      const store = s3rverStore(`http://glacier:secretpass@127.0.0.1:${port}`);
      try {
        return await store.get("lake", "x.csv");
      } finally {
        store.close();
      }
    },
    error: GlacierError,
    code: "SYSTEM:STORE_UNREACHABLE",
    message:
      /^(?![\s\S]*secretpass)Cannot read s3:\/\/lake\/x\.csv: S3 endpoint "http:\/\/\*\*\*@127\.0\.0\.1:\d+" did not answer/,
  },
];

for (const c of cases) {
  Deno.test(`bad input: ${c.name}`, async () => {
    const root = await Deno.makeTempDir();
    const cwd = Deno.cwd();
    const work = await Deno.makeTempDir();
    Deno.chdir(work); // a run or report written by mistake would land here
    try {
      const before = await listAll(root);
      await assert.rejects(async () => await c.run(root), (error: Error) => {
        assert.ok(
          error instanceof c.error,
          `${c.name}: expected ${c.error.name}, got ${error?.constructor?.name}: ${error?.message}`,
        );
        assert.match(error.message, c.message);
        if (c.code) assert.equal((error as GlacierError).code, c.code);
        if ((error as { exitCode?: number }).exitCode !== undefined) {
          assert.equal((error as { exitCode?: number }).exitCode, 2);
        }
        return true;
      });
      // Nothing new beside what the case itself set up, and no temp files.
      const after = await listAll(root);
      assert.deepEqual(after.filter((f) => !before.includes(f) && !/\.(csv|parquet)$/.test(f)), []);
      assert.deepEqual(after.filter((f) => f.includes(".tmp-")), []);
      // A run that started and failed records itself in .glacier/runs; nothing else may appear.
      assert.deepEqual((await listAll(work)).filter((f) => !f.includes("/.glacier/runs/")), []);
    } finally {
      Deno.chdir(cwd);
    }
  });
}

Deno.test("the bad-input table has at least 25 cases", () => {
  assert.ok(cases.length >= 25, `${cases.length} cases`);
});

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await listAll(path));
    else out.push(path);
  }
  return out.sort();
}
