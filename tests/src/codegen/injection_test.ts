// Code injection into generated files: hostile text in every free-text field
// (description, module paths, staging prefix, bucket paths, condition
// literals, schedule whitespace) is written into every output, each output is
// read by its language's real parser, and its structure must be the benign
// pipeline's, with the values arriving intact. Fields with strict rules are
// refused where they are given, with an error that names them.
import assert from "node:assert/strict";
import fc from "fast-check";
import aslValidator from "asl-validator";
import {
  AwsConfig,
  AzureFunctionConfig,
  AzureVMConfig,
  CloudFunctionConfig,
  ComputeEngineConfig,
  DatabricksConfig,
  DataprocConfig,
  EC2Config,
  GcpConfig,
  LambdaConfig,
  pipeline,
  Provider,
} from "../../../mod.ts";
import { AzureConfig } from "../../../src/config/azure.ts";
import { PipelineAnalysis } from "../../../src/analyze/analysis.ts";
import { type DAGNodeInit, PipelineDAG, type ResourceInfo } from "../../../src/dag.ts";
import { ExecutionResource } from "../../../src/resources/execution.ts";
import { resourceFromInfo } from "../../../src/resources/_from_info.ts";
import { planDeployment } from "../../../src/codegen/deploy.ts";
import { type CodegenInput, generateInfrastructure } from "../../../src/codegen/generate.ts";
import type { GeneratedFiles } from "../../../src/codegen/write_files.ts";
import {
  aslShape,
  dataShape,
  findJinjaPython,
  hclLiteral,
  intrinsicLiteral,
  programShape,
  programStrings,
  type PythonShape,
  pythonShapes,
  runPython,
  scriptShape,
  STUB_RUN_PROGRAM,
  terraformJson,
  terraformShape,
  yamlData,
} from "./_injection.ts";

// ------------------------------------------------------------------ hostile text

const PIECES = [
  '"',
  "'",
  '"""',
  "'''",
  "\\",
  "\\n",
  "${x}",
  "${var.region}",
  "$${y}",
  "$",
  "%{ if true }a%{ endif }",
  "%%{",
  "%",
  "{{ conn.glacier_api.password }}",
  "{% raw %}",
  "{# c #}",
  "{%",
  "{}",
  "}",
  "{",
  "\n",
  "\r",
  "\r\n",
  "\u0000",
  "\u0008",
  "\u000c",
  "\u2028",
  "\u2029",
  "\u0085",
  "\u007f",
  "\u009b",
  "\ufeff",
  "\uffff",
  "\ud800",
  "\t",
  "#",
  "//",
  "/*",
  "*/",
  "`",
  "${!",
  "${AWS::AccountId}",
  "EOT",
  "\nEOT\n",
  ": ",
  "- ",
  "? ",
  "&a *a !tag | >",
  "é",
  "😀",
  'Daily orders"""\nimport os; os.system("touch /tmp/x")\n"""',
  "')\nimport os\n('",
  "\" + __import__('os').system('x') + \"",
];

const hostile = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PIECES) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 6 }) },
  ),
  { minLength: 1, maxLength: 7 },
).map((parts) => parts.join(""));

// Whitespace the schedule parser accepts between cron fields.
const scheduleSpace = fc.constantFrom(
  " ",
  "\t",
  "\n",
  "\r\n",
  "\u2028",
  "\u00a0",
  "\ufeff",
  "\u000b",
  "\u3000",
);

/** What a pipeline's users write, in the fields that reach generated code as text. */
interface Values {
  readonly description: string;
  readonly source: string;
  readonly module: string;
  /** A staging prefix; AwsConfig and GcpConfig refuse hostile ones, so these come through a forged config. */
  readonly prefix: string;
  readonly path: string;
  readonly literal: string;
  readonly schedule: string;
}

const BENIGN: Values = {
  description: "Daily orders",
  source: "pipelines/orders.ts",
  module: "pipelines/tasks.ts",
  prefix: "glacier/",
  path: "raw/orders.csv",
  literal: "full",
  schedule: "0 6 * * *",
};

const values: fc.Arbitrary<Values> = fc.record({
  description: hostile,
  source: hostile,
  module: hostile,
  // Real configs take ASCII prefixes only (stagingPrefix); a forged one in NFC, as Terraform rewrites text to it.
  prefix: hostile.map((s) => s.normalize("NFC")),
  // Bucket paths are in Unicode NFC (checkKey refuses others: Terraform rewrites them).
  path: hostile.map((s) => s.normalize("NFC")),
  literal: hostile,
  schedule: fc.tuple(scheduleSpace, scheduleSpace, fc.boolean()).map(([a, b, pad]) =>
    `${pad ? a : ""}0${a}6${b}*${a}*${b}*${pad ? b : ""}`
  ),
});

// ------------------------------------------------------------------ the pipeline

const TASKS = "file:///project/pipelines/tasks.ts";
const forged = <T extends object>(cls: { prototype: T }, fields: Record<string, unknown>): T =>
  Object.assign(Object.create(cls.prototype), fields);

const aws = new Provider({ config: new AwsConfig({ region: "eu-west-1" }) });
const AWS = {
  lambda: aws.serverless({
    name: "api",
    config: new LambdaConfig({ concurrency: 50, environment: ["API_KEY"] }),
  }).info(),
  vm: aws.vm({ name: "crunch_vm", config: new EC2Config({ instanceType: "c7g.xlarge" }) }).info(),
  spark: aws.cluster({
    name: "jobs",
    config: new DatabricksConfig({
      newCluster: { sparkVersion: "15.4.x-scala2.12", nodeTypeId: "i3.xlarge", numWorkers: 2 },
      host: "https://dbc-123.cloud.databricks.com",
    }),
  }).info(),
  local: aws.local().info(),
};
const gcp = new Provider({ config: new GcpConfig({ project: "my-project" }) });
const GCP = {
  fn: gcp.serverless({ name: "fn", config: new CloudFunctionConfig() }).info(),
  dataproc: gcp.cluster({ name: "dp", config: new DataprocConfig({ cluster: "etl-cluster" }) }).info(),
  vm: gcp.vm({ name: "gce", config: new ComputeEngineConfig() }).info(),
};
const azure = new Provider({ config: new AzureConfig() });
const AZURE = {
  fn: azure.serverless({ name: "afn", config: new AzureFunctionConfig() }).info(),
  vm: azure.vm({ name: "avm", config: new AzureVMConfig() }).info(),
};

type Cloud = "aws" | "gcp" | "azure";

function node(id: string, resource: ResourceInfo, extra: Partial<DAGNodeInit> = {}): DAGNodeInit {
  return { id, task: { name: id, module: TASKS }, resource, ...extra };
}

function nodes(cloud: Cloud, v: Values, withVm: boolean): DAGNodeInit[] {
  if (cloud === "gcp") {
    return [
      node("ingest", GCP.fn, { reads: [`gs://lake/${v.path}`], writes: ["gs://lake/clean/orders.parquet"] }),
      node("crunch", GCP.dataproc, { inputs: ["ingest"], writes: [`gs://reports/${v.path}`] }),
      node("serve", GCP.vm, { inputs: ["crunch"] }),
    ];
  }
  if (cloud === "azure") {
    return [
      node("ingest", AZURE.fn, { reads: [`az://lake/${v.path}`] }),
      node("serve", AZURE.vm, { inputs: ["ingest"], writes: [`az://reports/${v.path}`] }),
    ];
  }
  return [
    node("ingest", AWS.lambda, {
      reads: [`s3://lake/${v.path}`],
      writes: ["s3://lake/clean/orders.parquet"],
    }),
    node("score", AWS.lambda, { inputs: ["ingest"], dynamic: true }),
    ...(withVm ? [node("crunch", AWS.vm, { inputs: ["ingest"], reads: [`s3://lake/${v.path}`] })] : []),
    node("train", AWS.spark, {
      inputs: [withVm ? "crunch" : "ingest"],
      condition: `params.mode === ${JSON.stringify(v.literal)}`,
    }),
    node("publish", AWS.local, { inputs: ["train", "score"], writes: [`s3://reports/${v.path}`] }),
  ];
}

function input(cloud: Cloud, v: Values, withVm = true): CodegenInput {
  const dag = new PipelineDAG("inj", nodes(cloud, v, withVm));
  const config = cloud === "aws"
    ? forged(AwsConfig, {
      cloud,
      region: "eu-west-1",
      accountId: "123456789012",
      stagingBucket: `s3://stage-bucket/${v.prefix}`,
      forcePathStyle: false,
    })
    : cloud === "gcp"
    ? forged(GcpConfig, {
      cloud,
      project: "my-project",
      region: "us-central1",
      stagingBucket: `gs://stage-bucket/${v.prefix}`,
    })
    : new AzureConfig();
  return {
    analysis: new PipelineAnalysis(dag, "static"),
    options: new Map(dag.nodes.map((n) => [n.id, { retries: 2, timeout: 30_000 }])),
    providers: [config],
    source: v.source,
    description: v.description,
    modules: { [TASKS]: v.module },
  };
}

/** Every output for one set of values, keyed `<output>/<file>`. */
function outputs(v: Values): GeneratedFiles {
  const out: GeneratedFiles = {};
  const add = (what: string, files: GeneratedFiles) => {
    for (const [name, text] of Object.entries(files)) out[`${what}/${name}`] = text;
  };
  for (const cloud of ["aws", "gcp", "azure"] as const) {
    add(`terraform-${cloud}`, generateInfrastructure(input(cloud, v), "terraform").files);
  }
  add("cloudformation", generateInfrastructure(input("aws", v), "cloudformation").files);
  add("pulumi", generateInfrastructure(input("aws", v), "pulumi").files);
  add(
    "step_functions",
    planDeployment(input("aws", v, false), { orchestrator: "step_functions", schedule: v.schedule }).result
      .files,
  );
  for (const orchestrator of ["airflow", "prefect", "dagster"]) {
    add(orchestrator, planDeployment(input("aws", v), { orchestrator, schedule: v.schedule }).result.files);
  }
  return out;
}

// ------------------------------------------------------------------ structure

interface Shapes {
  readonly names: string[];
  readonly shapes: Record<string, unknown>;
  readonly python: Record<string, PythonShape>;
}

async function shapesOf(files: GeneratedFiles): Promise<Shapes> {
  const shapes: Record<string, unknown> = {};
  const pyNames = Object.keys(files).filter((n) => n.endsWith(".py"));
  const parsed = await pythonShapes(pyNames.map((n) => files[n]));
  const python = Object.fromEntries(pyNames.map((n, i) => [n, parsed[i]]));
  for (const [name, text] of Object.entries(files)) {
    if (name.endsWith(".py")) shapes[name] = python[name].dump;
    else if (name.endsWith(".tf")) shapes[name] = await terraformShape(name, text);
    else if (name.endsWith(".asl.json")) shapes[name] = aslShape(JSON.parse(text));
    else if (name.endsWith(".json")) shapes[name] = dataShape(JSON.parse(text));
    else if (name.endsWith(".yaml")) shapes[name] = dataShape(yamlData(text));
    else if (name.endsWith(".ts")) shapes[name] = programShape(text);
    else if (name.endsWith(".sh")) shapes[name] = scriptShape(text);
    else assert.fail(`no parser for ${name}`);
  }
  return { names: Object.keys(files).sort(), shapes, python };
}

let benign: Promise<Shapes> | undefined;
const benignShapes = () => benign ??= shapesOf(outputs(BENIGN));

// What grantOf() makes of a key: the literal prefix of a glob or folder, else the key.
function grantPattern(key: string): { pattern: string; prefix: string } {
  const glob = key.search(/[*?[{]/);
  const prefix = glob >= 0 ? key.slice(0, glob) : key;
  const isPrefix = glob >= 0 || key === "" || key.endsWith("/");
  return { pattern: isPrefix ? `${prefix}*` : prefix, prefix };
}

const wellFormed = (s: string) => s.toWellFormed();
const stagingPrefixOf = (p: string) => p === "" ? "" : p.replace(/\/*$/, "/");
// Every Fn::Sub string of a template, and the references in them (`${!` is literal text).
const subs = (template: unknown): string[] => {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === "Fn::Sub") out.push(String(x));
        else visit(x);
      }
    }
  };
  visit(template);
  return out;
};
const subRefs = (template: unknown): string[] =>
  subs(template).flatMap((t) => [...t.matchAll(/\$\{(?!!)([^}]*)\}/g)].map((m) => m[1])).sort();

/** The values arrive in the outputs as written (after their parser undoes its escapes). */
async function assertIntact(v: Values, files: GeneratedFiles, shapes: Shapes): Promise<void> {
  const description = wellFormed(v.description);
  const prefix = stagingPrefixOf(wellFormed(v.prefix));
  const path = wellFormed(v.path);

  // Python: the module docstring and the description and source literals.
  for (const orchestrator of ["airflow", "prefect", "dagster"]) {
    const name = Object.keys(files).find((n) => n.startsWith(`${orchestrator}/`) && n.endsWith(".py"))!;
    const py = shapes.python[name];
    if (description) {
      assert.ok(py.doc?.includes(`Glacier pipeline inj: ${description}.\n`), `${name}: docstring`);
      assert.ok(py.strings.includes(description), `${name}: description literal`);
    }
    assert.ok(py.doc?.includes(`(${wellFormed(v.source)}).\n`), `${name}: source in the docstring`);
    assert.ok(py.strings.includes(wellFormed(v.source)), `${name}: SOURCE literal`);
    assert.ok(py.strings.includes(`s3://stage-bucket/${prefix}runs/`), `${name}: STAGING literal`);
    assert.ok(py.strings.includes(wellFormed(v.module)), `${name}: module literal`);
    assert.ok(py.strings.includes(wellFormed(v.literal)), `${name}: condition literal`);
  }

  // Terraform: the artifact's key under the staging prefix and the GCP condition on the read grant.
  type Blocks = Record<string, Record<string, Record<string, unknown>[]>>;
  const s3 = await terraformJson("s3.tf", files["terraform-aws/s3.tf"]);
  const artifacts = Object.values((s3.resource as Blocks).aws_s3_object) as { key: string }[][];
  assert.ok(artifacts.length > 0, `${name}: an artifact object`);
  for (const a of artifacts) assert.ok(hclLiteral(a[0].key).startsWith(`${prefix}artifacts/`));
  const { pattern, prefix: grantPrefix } = grantPattern(path);
  const gcpIam = await terraformJson("iam.tf", files["terraform-gcp/iam.tf"]);
  const members = Object.values((gcpIam.resource as Blocks).google_storage_bucket_iam_member) as {
    condition: { expression: string }[];
  }[][];
  // A prefix read also matches the bucket (listing is checked on it).
  const conditions = members.map((m) =>
    hclLiteral(m[0].condition[0].expression).replace(
      /^resource\.type == "storage\.googleapis\.com\/Bucket" \|\| /,
      "",
    )
  );
  const expected = `projects/_/buckets/lake/objects/${grantPrefix}`;
  for (const c of conditions) {
    assert.match(c, /^resource\.name(?: == |\.startsWith\()"(?:[^"\\]|\\.)*"\)?$/s, "one CEL comparison");
  }
  assert.ok(
    conditions.some((c) =>
      JSON.parse(c.replace(/^resource\.name(?: == |\.startsWith\()/, "").replace(/\)$/, "")) === expected
    ),
    `terraform gcp: no condition is on exactly ${JSON.stringify(expected)}: ${JSON.stringify(conditions)}`,
  );

  // Azure: the read of the path is a role condition on exactly its prefix, or on the part
  // before a character a condition cannot hold.
  const azureIam = await terraformJson("iam.tf", files["terraform-azure/iam.tf"]);
  const assignments = Object.values((azureIam.resource as Blocks).azurerm_role_assignment) as {
    scope: string;
    condition?: string;
  }[][];
  const lake = assignments.find((a) =>
    /azurerm_storage_container\.lake\.resource_manager_id/.test(a[0].scope)
  )!;
  const azurePrefix = grantPrefix.slice(0, grantPrefix.search(/['\\\p{Cc}\u2028\u2029]/u) >>> 0);
  if (azurePrefix === "") assert.equal(lake[0].condition, undefined, "azure: the whole container");
  else {
    assert.ok(
      hclLiteral(lake[0].condition!).includes(
        `:path] ${
          azurePrefix === grantPrefix && pattern === grantPrefix ? "StringEquals" : "StringStartsWith"
        } '${azurePrefix}')`,
      ),
      `azure: no condition on ${JSON.stringify(azurePrefix)}: ${lake[0].condition}`,
    );
  }

  // CloudFormation: the description, and Fn::Sub references only to what the template declares.
  const template = yamlData(files["cloudformation/template.yaml"]) as Record<string, unknown>;
  assert.equal(template.Description, `Glacier pipeline inj${description ? `: ${description}` : ""}`);
  const benignTemplate = yamlData(outputsBenign()["cloudformation/template.yaml"]);
  assert.deepEqual(subRefs(template), subRefs(benignTemplate), "Fn::Sub references");
  assert.ok(
    subs(template).some((t) => t.replaceAll("${!", "${") === `arn:\${AWS::Partition}:s3:::lake/${pattern}`),
    "cloudformation: the read grant's resource",
  );

  // Pulumi: the read grant's path in its template literal, the description in Pulumi.yaml.
  assert.ok(
    programStrings(files["pulumi/index.ts"]).includes(`/${pattern}`),
    "pulumi: the read grant's path",
  );
  assert.equal(
    (yamlData(files["pulumi/Pulumi.yaml"]) as { description: string }).description,
    `Glacier pipeline inj${description ? `: ${description}` : ""}`,
  );

  // Step Functions: the staging prefix inside States.Format, and a definition asl-validator accepts.
  const asl = JSON.parse(files["step_functions/state_machine.asl.json"]);
  // asl-path-validator 0.16's grammar refuses the `\\` escape AWS documents for intrinsic strings.
  if (!prefix.includes("\\")) {
    const validated = aslValidator(asl);
    assert.ok(validated.isValid, `asl-validator: ${JSON.stringify(validated.errors)}`);
  }
  const key = findState(asl, "score").ItemReader.Parameters["Key.$"] as string;
  assert.equal(
    intrinsicLiteral(key.match(/^States\.Format\('((?:[^'\\]|\\.)*)'/s)![1]),
    `${prefix}runs/{}/ingest.out`,
  );
}

// A state by name, in the machine or any Parallel branch.
// deno-lint-ignore no-explicit-any
function findState(machine: { States: Record<string, any> }, name: string): any {
  for (const [id, state] of Object.entries(machine.States)) {
    if (id === name) return state;
    for (const branch of state.Branches ?? []) {
      const found = findState(branch, name);
      if (found) return found;
    }
  }
  return undefined;
}

// An Azure role assignment has a condition on blob paths unless its paths
// cover the container (an empty path, a leading glob): the path decides that,
// not its escaping. assertIntact checks the condition's text.
function withoutPathConditions(name: string, shape: unknown): unknown {
  if (name !== "terraform-azure/iam.tf") return shape;
  return JSON.parse(
    JSON.stringify(shape, (k, x) => (k === "condition" || k === "condition_version" ? undefined : x)),
  );
}

let benignFiles: GeneratedFiles | undefined;
const outputsBenign = () => benignFiles ??= outputs(BENIGN);

Deno.test("generated code: hostile text in every free-text field stays inside strings, in every output, and arrives intact", async () => {
  const base = await benignShapes();
  assert.ok(base.names.length >= 30, `${base.names.length} files`);
  await fc.assert(
    fc.asyncProperty(values, async (v) => {
      const files = outputs(v);
      const got = await shapesOf(files);
      assert.deepEqual(got.names, base.names);
      for (const name of base.names) {
        assert.deepEqual(
          withoutPathConditions(name, got.shapes[name]),
          withoutPathConditions(name, base.shapes[name]),
          `${name} has another structure than the benign file`,
        );
      }
      await assertIntact(v, files, got);
    }),
    { numRuns: 20, ...(Deno.env.get("FC_SEED") ? { seed: Number(Deno.env.get("FC_SEED")) } : {}) },
  );
});

Deno.test("generated code: the benign fixture's values arrive intact (the checks themselves hold)", async () => {
  const files = outputsBenign();
  await assertIntact(BENIGN, files, await shapesOf(files));
});

// ------------------------------------------------------------------ validated fields

const rejects = (fn: () => unknown, type: ErrorConstructor, ...parts: string[]) => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${e}`);
    for (const part of parts) {
      assert.ok((e as Error).message.includes(part), `"${part}" in: ${(e as Error).message}`);
    }
    return true;
  });
};

Deno.test("generated code: fields with strict rules refuse hostile text where they are given, naming the field and the value", () => {
  fc.assert(
    fc.property(hostile, (h) => {
      const shown = JSON.stringify(`s3://stage-bucket/${h}`);
      if (/^(?:[A-Za-z0-9._=-]+\/)*[A-Za-z0-9._=-]*$/.test(h) && !/(^|\/)\.{1,2}(\/|$)/.test(h)) {
        new AwsConfig({ stagingBucket: `s3://stage-bucket/${h}` });
      } else {
        rejects(
          () => new AwsConfig({ stagingBucket: `s3://stage-bucket/${h}` }),
          RangeError,
          "AwsConfig",
          "stagingBucket",
        );
        rejects(
          () => new GcpConfig({ project: "my-project", stagingBucket: `gs://stage-bucket/${h}` }),
          RangeError,
          "GcpConfig",
        );
        if (!/[\n\r\u2028\u2029]/.test(h)) {
          assert.throws(
            () => new AwsConfig({ stagingBucket: `s3://stage-bucket/${h}` }),
            (e: Error) => e.message.includes(shown),
          );
        }
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(h)) {
        rejects(
          () => new LambdaConfig({ environment: ["OK", h] }),
          RangeError,
          "LambdaConfig",
          '"environment[1]"',
          JSON.stringify(h),
        );
      }
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(h)) {
        rejects(() => new LambdaConfig({ functionName: h }), RangeError, "LambdaConfig", "functionName");
      }
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(h)) {
        rejects(
          () =>
            new DatabricksConfig({ newCluster: { sparkVersion: h, nodeTypeId: "i3.xlarge", numWorkers: 1 } }),
          h === "" ? TypeError : RangeError,
          "DatabricksConfig",
          "newCluster.sparkVersion",
        );
        rejects(
          () =>
            new DatabricksConfig({
              newCluster: { sparkVersion: "15.4.x-scala2.12", nodeTypeId: h, numWorkers: 1 },
            }),
          h === "" ? TypeError : RangeError,
          "newCluster.nodeTypeId",
        );
      }
      if (!/^[A-Za-z][\w-]{0,63}$/.test(h)) {
        rejects(
          () => new Provider({ config: new AwsConfig() }).serverless({ name: h, config: new LambdaConfig() }),
          RangeError,
          "Resource name",
        );
      }
      if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(h)) {
        rejects(() => aws.bucket({ bucket: h, path: "x" }), RangeError, "Bucket name");
      }
      const key = h.toWellFormed().replaceAll("..", "_").replace(/^\/+/, "").replaceAll("\\", "_");
      if (key !== key.normalize("NFC") && !key.split("/").some((p) => p === ".")) {
        rejects(() => aws.bucket({ bucket: "lake", path: key }), RangeError, "normal form C");
      }
      if (h !== "" && !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(h)) {
        // A task's own reads and writes: the bucket part of the URI is checked when code is generated.
        const dag = new PipelineDAG("inj", [
          node("ingest", AWS.lambda, { reads: [`s3://${h.replaceAll("/", "_")}/k`] }),
        ]);
        rejects(
          () =>
            generateInfrastructure({
              analysis: new PipelineAnalysis(dag, "static"),
              options: new Map(),
              providers: [new AwsConfig()],
              source: "p.ts",
            }, "terraform"),
          RangeError,
          'task "ingest"',
          "is not a bucket name",
        );
      }
      if (!/^[A-Za-z][\w-]{0,79}$/.test(h)) {
        assert.throws(() => pipeline({ name: h }, () => {}), TypeError);
      }
    }),
    { numRuns: 200 },
  );
});

// ------------------------------------------------------------------ Airflow's Jinja

const JINJA_PROGRAM = STUB_RUN_PROGRAM.replace(
  "class Stub:",
  "RECORDED = []\n\nclass Stub:",
).replace(
  "    def __call__(self, *a, **k):\n",
  "    def __call__(self, *a, **k):\n        if k: RECORDED.append(k)\n",
).replace(
  'source = sys.stdin.read()\nexec(compile(source, "generated.py", "exec"), {"__name__": "generated"})\nprint("GLACIER_MODULE_RAN")',
  String.raw`import json, shlex, jinja2, jinja2.sandbox
import airflow.decorators

class MappedGroup:
    """A mapped task group: its function runs once, as Airflow parses it; its operators render per mapped task instance."""
    def __init__(self, fn): self.fn = fn
    def expand(self, **kwargs): return self.fn(**{k: Stub() for k in kwargs})

airflow.decorators.task_group = lambda **kwargs: MappedGroup
source = json.load(sys.stdin)
exec(compile(source, "generated.py", "exec"), {"__name__": "generated"})

class Connections:
    """What {{ conn.<id> }} gives in Airflow: every field of any connection is a secret."""
    def __getattr__(self, name):
        return types.SimpleNamespace(password="GLACIER_SECRET", login="GLACIER_SECRET", host="GLACIER_SECRET")

env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
context = {
    "run_id": "manual__1",
    "ti": types.SimpleNamespace(try_number=1, map_index=0),
    "dag_run": types.SimpleNamespace(conf={"mode": "full"}),
    "conn": Connections(),
}

def render(value):
    if isinstance(value, str):
        return env.from_string(value).render(**context)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v) for v in value]
    return value

out = []
for kwargs in RECORDED:
    if "task_id" not in kwargs:
        continue
    for field in ("payload", "command", "bash_command", "json"):
        if field in kwargs:
            rendered = render(kwargs[field])
            if field == "json":
                payload = rendered["tasks"][0]["spark_python_task"]["parameters"][-1]
            elif field == "payload":
                payload = rendered
            else:
                payload = shlex.split(rendered)[-1]
            out.append({"task": kwargs["task_id"], "field": field, "rendered": rendered, "payload": json.loads(payload)})
print(json.dumps(out))`,
);

Deno.test("deploy airflow: Jinja renders the run id, attempt, params and map index, and leaves {{ conn.… }} in any value as text", async () => {
  const python = await findJinjaPython();
  const secret = "{{ conn.glacier_api.password }}";
  const v: Values = {
    ...BENIGN,
    description: `Orders ${secret}`,
    source: `pipelines/${secret}{% if true %}x{% endif %}{# note #}.ts`,
    module: `pipelines/tasks{{ var.value.x }}.ts`,
    prefix: `${secret}/{%raw%}/`,
  };
  const codegen = input("aws", v);
  // A job cluster spec that only a forged config could hold: Jinja must leave it as written too.
  const jobs = resourceFromInfo(AWS.spark, "aws");
  const spark = new ExecutionResource({
    kind: jobs.kind,
    service: jobs.service,
    name: jobs.name,
    cloud: jobs.cloud,
    config: forged(DatabricksConfig, {
      ...jobs.config,
      newCluster: { sparkVersion: secret, nodeTypeId: "i3.xlarge", numWorkers: 1 },
    }),
  });
  const dag = new PipelineDAG(
    "inj",
    codegen.analysis.dag.nodes.map((n): DAGNodeInit => ({
      id: n.id,
      task: n.task,
      executor: n.resource.service === "databricks" ? spark : n.executor,
      inputs: n.inputs.map((i) => i.id),
      reads: n.reads,
      writes: n.writes,
      dynamic: n.dynamic,
      ...(n.condition === undefined ? {} : { condition: n.condition }),
    })),
  );
  const { files } = planDeployment({ ...codegen, analysis: new PipelineAnalysis(dag, "static") }, {
    orchestrator: "airflow",
  }).result;
  const source = Object.values(files)[0];
  const results = await runPython(python, JINJA_PROGRAM, source) as {
    task: string;
    field: string;
    rendered: unknown;
    payload: Record<string, unknown>;
  }[];
  assert.deepEqual(
    results.map((r) => `${r.task}.${r.field}`).sort(),
    ["crunch.command", "ingest.payload", "publish.bash_command", "score.payload", "train.json"],
  );
  for (const r of results) {
    assert.ok(
      !JSON.stringify(r.rendered).includes("GLACIER_SECRET"),
      `${r.task}: a connection secret was rendered`,
    );
    assert.equal(r.payload.source, v.source, `${r.task}: source`);
    assert.equal(r.payload.module, v.module, `${r.task}: module`);
    assert.equal(r.payload.staging, `s3://stage-bucket/${v.prefix}runs/manual__1/`, `${r.task}: staging`);
    // What must be rendered still is.
    assert.equal(r.payload.runId, "manual__1");
    assert.equal(r.payload.attempt, 1);
    assert.deepEqual(r.payload.params, { mode: "full" });
    // A mapped task instance's map index (score maps over ingest's output).
    assert.deepEqual(r.payload.item, r.task === "score" ? { index: 0 } : undefined, `${r.task}: item`);
    assert.equal(r.payload.output, r.task === "score" ? "score/0.out" : `${r.task}.out`, `${r.task}: output`);
  }
  const json = results.find((r) => r.field === "json")!.rendered as {
    tasks: { new_cluster: { spark_version: string } }[];
  };
  assert.equal(json.tasks[0].new_cluster.spark_version, secret);
});
