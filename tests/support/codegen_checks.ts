// Real validators for generated infrastructure: Terraform through
// @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly), CloudFormation
// against the CloudFormation resource specification (@aws-cdk/cfnspec), Pulumi
// through `deno check` against @pulumi/aws, and IAM statements structurally.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse as parseHcl } from "@cdktf/hcl2json";
import * as cfnspec from "@aws-cdk/cfnspec";
import { parse as parseYaml } from "yaml";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

// ------------------------------------------------------------------ Terraform

type Json = Record<string, unknown>;

/** Parses every .tf file and returns the merged JSON per file. */
export async function parseTerraform(files: Record<string, string>): Promise<Record<string, Json>> {
  const out: Record<string, Json> = {};
  for (const [name, text] of Object.entries(files)) {
    if (!name.endsWith(".tf")) continue;
    out[name] = await parseHcl(name, text) as Json;
  }
  return out;
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

// The expressions inside a string: `${ ... }` with nested braces.
function expressions(text: string): string[] {
  const out: string[] = [];
  for (let i = text.indexOf("${"); i >= 0; i = text.indexOf("${", i + 2)) {
    if (text[i - 1] === "$") continue;
    let depth = 0, j = i + 1;
    for (; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && --depth === 0) break;
    }
    out.push(text.slice(i + 2, j));
  }
  return out;
}

/**
 * Every reference in every expression resolves to a declaration of the same
 * configuration: `var.x`, `local.x`, `data.t.n`, `t.n` (resources).
 * Returns the references found, for assertions.
 */
export function checkTerraformReferences(parsed: Record<string, Json>): string[] {
  const declared = new Set<string>();
  for (const json of Object.values(parsed)) {
    for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Json>)) {
      for (const name of Object.keys(byName)) declared.add(`${type}.${name}`);
    }
    for (const [type, byName] of Object.entries((json.data ?? {}) as Record<string, Json>)) {
      for (const name of Object.keys(byName)) declared.add(`data.${type}.${name}`);
    }
    for (const name of Object.keys((json.variable ?? {}) as Json)) declared.add(`var.${name}`);
    for (const block of (json.locals ?? []) as Json[]) {
      for (const name of Object.keys(block)) declared.add(`local.${name}`);
    }
  }
  const found: string[] = [];
  for (const [file, json] of Object.entries(parsed)) {
    for (const text of strings(json)) {
      for (const expr of expressions(text)) {
        // Drop string literals inside the expression (policy text, ARNs), then find references.
        const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        for (
          const m of code.matchAll(
            /(?<![\w.])(var|local|data\.[a-z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)/g,
          )
        ) {
          const ref = `${m[1]}.${m[2]}`;
          if (/^(path|each|count|self|terraform)\./.test(ref)) continue;
          found.push(ref);
          assert.ok(
            declared.has(ref),
            `${file}: reference ${ref} in \${${expr.slice(0, 80)}} is not declared`,
          );
        }
      }
    }
  }
  return found;
}

/** Actions and resources of every `Statement` written with jsonencode in Terraform text. */
export function terraformPolicyLines(text: string): { actions: string[]; resources: string[] } {
  const actions = [...text.matchAll(/^\s*Action = (\[.*\]|".*")$/gm)].flatMap((m) =>
    [].concat(JSON.parse(m[1]))
  );
  const resources = [...text.matchAll(/^\s*Resource = \[(.*)\]$/gm)].flatMap((m) => m[1].split(", "));
  return { actions, resources };
}

// ------------------------------------------------------------------ CloudFormation

interface SpecProperty {
  Required?: boolean;
  Type?: string;
  ItemType?: string;
  PrimitiveType?: string;
  PrimitiveItemType?: string;
}
interface Spec {
  ResourceTypes: Record<
    string,
    { Properties?: Record<string, SpecProperty>; Attributes?: Record<string, unknown> }
  >;
  PropertyTypes: Record<string, { Properties?: Record<string, SpecProperty> }>;
}

const spec = (cfnspec as unknown as { specification(): Spec }).specification();

const isIntrinsic = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 &&
  /^(Ref|Fn::)/.test(Object.keys(v)[0]);

function checkValue(where: string, resourceType: string, prop: SpecProperty, value: unknown): void {
  if (isIntrinsic(value)) return;
  const struct = (typeName: string, v: unknown) => {
    const def = spec.PropertyTypes[`${resourceType}.${typeName}`] ?? spec.PropertyTypes[typeName];
    assert.ok(def, `${where}: no property type ${typeName} in the specification`);
    assert.ok(
      v && typeof v === "object" && !Array.isArray(v),
      `${where}: expected an object for ${typeName}`,
    );
    checkProperties(where, resourceType, def.Properties ?? {}, v as Json);
  };
  if (prop.Type === "List" || prop.Type === "Map") {
    const items = prop.Type === "List" ? value : Object.values(value as Json);
    assert.ok(prop.Type === "Map" || Array.isArray(items), `${where}: expected a list`);
    for (const [i, item] of (items as unknown[]).entries()) {
      if (isIntrinsic(item)) continue;
      if (prop.ItemType) struct(prop.ItemType, item);
      else checkPrimitive(`${where}[${i}]`, prop.PrimitiveItemType, item);
    }
  } else if (prop.Type) {
    struct(prop.Type, value);
  } else {
    checkPrimitive(where, prop.PrimitiveType, value);
  }
}

function checkPrimitive(where: string, type: string | undefined, value: unknown): void {
  if (isIntrinsic(value) || type === undefined || type === "Json") return;
  const ok = type === "String" || type === "Timestamp"
    ? typeof value === "string"
    : type === "Integer" || type === "Long" || type === "Double"
    ? typeof value === "number"
    : type === "Boolean"
    ? typeof value === "boolean"
    : true;
  assert.ok(ok, `${where}: ${JSON.stringify(value)} is not a ${type}`);
}

function checkProperties(
  where: string,
  resourceType: string,
  props: Record<string, SpecProperty>,
  value: Json,
): void {
  for (const [name, prop] of Object.entries(props)) {
    if (prop.Required) assert.ok(name in value, `${where}: required property ${name} is missing`);
  }
  for (const [name, v] of Object.entries(value)) {
    assert.ok(props[name], `${where}: ${resourceType} has no property ${name}`);
    checkValue(`${where}.${name}`, resourceType, props[name], v);
  }
}

/**
 * Parses a CloudFormation YAML template and checks it against the resource
 * specification: resource types and properties exist, required properties are
 * present, nested property types match, and every Ref, GetAtt, Sub and
 * DependsOn target exists (GetAtt attributes per the specification).
 */
export function checkCloudFormation(text: string): Json {
  const template = parseYaml(text) as Json;
  assert.equal(template.AWSTemplateFormatVersion, "2010-09-09");
  const resources = template.Resources as Record<
    string,
    { Type: string; Properties?: Json; DependsOn?: string[] }
  >;
  const parameters = Object.keys((template.Parameters ?? {}) as Json);
  const names = new Set([...Object.keys(resources), ...parameters]);
  for (const [id, r] of Object.entries(resources)) {
    assert.match(id, /^[A-Za-z0-9]+$/, `logical id ${id}`);
    const type = spec.ResourceTypes[r.Type];
    assert.ok(type, `${id}: resource type ${r.Type} is not in the CloudFormation specification`);
    checkProperties(id, r.Type, type.Properties ?? {}, r.Properties ?? {});
    for (const d of r.DependsOn ?? []) assert.ok(resources[d], `${id}: DependsOn ${d} does not exist`);
  }
  const visit = (v: unknown, where: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, `${where}[${i}]`));
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v as Json)) {
      if (k === "Ref") {
        assert.ok(names.has(x as string) || /^AWS::/.test(x as string), `${where}: Ref ${x} does not exist`);
      } else if (k === "Fn::GetAtt") {
        const [target, attr] = x as [string, string];
        assert.ok(resources[target], `${where}: GetAtt target ${target} does not exist`);
        const attrs = spec.ResourceTypes[resources[target].Type].Attributes ?? {};
        assert.ok(attr in attrs, `${where}: ${resources[target].Type} has no attribute ${attr}`);
      } else if (k === "Fn::Sub") {
        for (const m of String(x).matchAll(/\$\{([^}!]+)\}/g)) {
          const [target, attr] = m[1].split(".");
          assert.ok(
            names.has(target) || /^AWS::/.test(target),
            `${where}: Sub target ${m[1]} does not exist`,
          );
          if (attr) {
            const attrs = spec.ResourceTypes[resources[target].Type].Attributes ?? {};
            assert.ok(attr in attrs, `${where}: ${resources[target].Type} has no attribute ${attr}`);
          }
        }
      } else {
        visit(x, `${where}.${k}`);
      }
    }
  };
  visit(template.Resources, "Resources");
  visit(template.Outputs, "Outputs");
  return template;
}

/** Every IAM statement in a parsed template (role inline policies and managed policies). */
export function cloudFormationStatements(
  template: Json,
): { Action: string[]; Resource: unknown[]; Sid: string }[] {
  const out: { Action: string[]; Resource: unknown[]; Sid: string }[] = [];
  for (const r of Object.values(template.Resources as Record<string, { Properties?: Json }>)) {
    const docs = [
      ...((r.Properties?.Policies ?? []) as { PolicyDocument: Json }[]).map((p) => p.PolicyDocument),
      ...(r.Properties?.PolicyDocument ? [r.Properties.PolicyDocument as Json] : []),
    ];
    for (const doc of docs) out.push(...(doc.Statement as typeof out));
  }
  return out;
}

/** No wildcard action; no data resource that is `*` or a whole-account pattern. */
export function assertLeastPrivilege(statements: { Action: string[]; Resource: unknown[] }[]): void {
  assert.ok(statements.length > 0);
  for (const s of statements) {
    for (const a of s.Action) assert.ok(!a.includes("*"), `wildcard action ${a}`);
    for (const r of s.Resource) {
      const text = JSON.stringify(r);
      assert.notEqual(r, "*", "a statement grants Resource *");
      assert.ok(!/s3:::\*|s3:::"|:::\$\{?\*/.test(text), `a data resource is too wide: ${text}`);
    }
  }
}

// ------------------------------------------------------------------ Pulumi

/**
 * Type-checks a generated Pulumi program with `deno check` against
 * npm:@pulumi/aws, using the tests' config (tests/deno.test.json) and lock (frozen, so the
 * check never reaches the network).
 */
export async function denoCheckPulumi(files: Record<string, string>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-pulumi-" });
  try {
    // Only the program: a package.json beside it would switch Deno to node_modules resolution.
    await Deno.writeTextFile(`${dir}/index.ts`, files["index.ts"]);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--frozen", "--config", `${ROOT}tests/deno.test.json`, `${dir}/index.ts`],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.equal(
      out.code,
      0,
      `deno check of the Pulumi program failed:\n${decode(out.stderr)}${decode(out.stdout)}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ------------------------------------------------------------------ Service rules

/** Lambda's cap on code uploaded inline with CreateFunction (a 50 MB zip); larger code must come from S3. */
export const LAMBDA_INLINE_LIMIT = 50 * 1024 * 1024;

/**
 * Rules the services enforce that no schema says, checked on parsed AWS Terraform:
 * every function reads its code from S3 (not an inline `filename`, refused over 50 MB),
 * the uploaded object is the `glacier build` artifact, every instance's AMI is of its
 * instance type's architecture, and each function's timeout covers its tasks' timeouts.
 */
export function checkAwsServiceRules(
  parsed: Record<string, Json>,
  taskTimeouts: Readonly<Record<string, number>> = {},
): void {
  const all = (kind: "resource" | "data", type: string) =>
    Object.values(parsed).flatMap((j) =>
      Object.entries(((j[kind] ?? {}) as Record<string, Record<string, Json[]>>)[type] ?? {})
    );
  const objects = new Map(all("resource", "aws_s3_object").map(([n, b]) => [n, b[0]]));
  for (const [name, [fn]] of all("resource", "aws_lambda_function")) {
    assert.equal(
      fn.filename,
      undefined,
      `${name}: inline code is refused by Lambda over 50 MB; upload to S3`,
    );
    const key = String(fn.s3_key);
    const m = key.match(/^\$\{aws_s3_object\.([a-z0-9_]+)\.key\}$/);
    assert.ok(m && objects.has(m[1]), `${name}: s3_key ${key} is not an uploaded artifact object`);
    assert.match(String(objects.get(m![1])!.source), /\.glacier\/build\/[^/]+\/[^/]+\.zip$/);
    assert.deepEqual(fn.architectures, ["x86_64"], `${name}: glacier build builds x86_64 only`);
    const timeout = Number(fn.timeout);
    assert.ok(timeout >= 1 && timeout <= 900, `${name}: Lambda timeout ${timeout} is outside 1-900 s`);
    const task = taskTimeouts[name];
    if (task !== undefined) {
      assert.ok(timeout >= task, `${name}: timeout ${timeout} s < task timeout ${task} s`);
    }
  }
  const amis = new Map(all("data", "aws_ssm_parameter").map(([n, b]) => [n, String(b[0].name)]));
  for (const [name, [vm]] of all("resource", "aws_instance")) {
    const m = String(vm.ami).match(/^\$\{data\.aws_ssm_parameter\.([a-z0-9_]+)\.value\}$/);
    assert.ok(m && amis.has(m[1]), `${name}: the AMI is not read from an SSM parameter`);
    const graviton = /^(a1|[a-z]+[0-9]+g[a-z0-9]*)\./.test(String(vm.instance_type));
    assert.ok(
      amis.get(m![1])!.endsWith(graviton ? "-arm64" : "-x86_64"),
      `${name}: ${vm.instance_type} gets AMI ${amis.get(m![1])}`,
    );
  }
}

/** The name of the S3 bucket a Terraform configuration creates for staging, or undefined when it looks one up. */
export function createdStagingBucket(parsed: Record<string, Json>): string | undefined {
  const s3 = parsed["s3.tf"] as { resource?: { aws_s3_bucket?: { staging?: Json[] } } };
  return s3.resource?.aws_s3_bucket?.staging?.[0].bucket as string | undefined;
}

// ------------------------------------------------------------------ IAM simulation

/** The random suffix {@linkcode resolvedCloudFormationPolicies} gives secret ARNs. */
export const SECRET_SUFFIX = "AbC123";

/**
 * The concrete ARN of a resource of a parsed CloudFormation template (what
 * `Fn::GetAtt [id, Arn]` or `${id.Arn}` resolves to once deployed).
 */
function cfnArn(template: Json, id: string, account: string, region: string): string {
  const r = (template.Resources as Record<string, { Type: string; Properties: Json }>)[id];
  assert.ok(r, `no resource ${id}`);
  const p = r.Properties;
  switch (r.Type) {
    case "AWS::S3::Bucket":
      return `arn:aws:s3:::${p.BucketName}`;
    case "AWS::Logs::LogGroup":
      return `arn:aws:logs:${region}:${account}:log-group:${p.LogGroupName}:*`;
    case "AWS::Lambda::Function":
      return `arn:aws:lambda:${region}:${account}:function:${p.FunctionName}`;
    case "AWS::SecretsManager::Secret":
      // Secrets Manager appends a hyphen and six random characters to the name.
      return `arn:aws:secretsmanager:${region}:${account}:secret:${p.Name}-${SECRET_SUFFIX}`;
    default:
      throw new Error(`no ARN rule for ${r.Type}`);
  }
}

/** Every role's and managed policy's documents with intrinsic functions resolved to concrete ARNs. */
export function resolvedCloudFormationPolicies(
  template: Json,
  account: string,
  region: string,
): Record<string, Json[]> {
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (!v || typeof v !== "object") return v;
    const o = v as Json;
    if ("Ref" in o && Object.keys(o).length === 1) {
      // Ref of a secret is its ARN; no other Ref appears in a policy.
      return cfnArn(template, o.Ref as string, account, region);
    }
    if ("Fn::GetAtt" in o) {
      const [id, attr] = o["Fn::GetAtt"] as [string, string];
      assert.equal(attr, "Arn");
      return cfnArn(template, id, account, region);
    }
    if ("Fn::Sub" in o) {
      return String(o["Fn::Sub"]).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name === "AWS::Partition") return "aws";
        if (name === "AWS::Region") return region;
        if (name === "AWS::AccountId") return account;
        const [id] = name.split(".");
        return cfnArn(template, id, account, region);
      });
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  };
  const out: Record<string, Json[]> = {};
  for (
    const [id, r] of Object.entries(template.Resources as Record<string, { Type: string; Properties: Json }>)
  ) {
    if (r.Type === "AWS::IAM::Role") {
      out[id] = ((r.Properties.Policies ?? []) as { PolicyDocument: Json }[]).map((p) =>
        resolve(p.PolicyDocument) as Json
      );
    } else if (r.Type === "AWS::IAM::ManagedPolicy") {
      out[id] = [resolve(r.Properties.PolicyDocument) as Json];
    }
  }
  return out;
}
