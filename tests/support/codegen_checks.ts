// Real validators for generated infrastructure: Terraform through
// @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly) and against
// the AWS/Google/AzureRM/Databricks provider schemas (extracted from the
// @cdktf/provider-* packages into tests/fixtures/terraform_schemas.json by
// tools/terraform_schemas.ts), CloudFormation against the CloudFormation registry
// schemas (@aws-cdk/aws-service-spec), Pulumi
// through `deno check` against @pulumi/aws, and IAM statements structurally.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { loadAwsServiceSpecSync } from "@aws-cdk/aws-service-spec";
import { parse as parseYaml } from "yaml";
import { DENO_VERSION } from "../../src/codegen/_scripts.ts";

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

// ------------------------------------------------------------------ Terraform provider schemas

/** One block of tests/fixtures/terraform_schemas.json (tools/terraform_schemas.ts documents the format). */
interface SchemaBlock {
  a?: string;
  c?: string;
  b?: Record<string, SchemaBlock>;
  r?: 1;
}
/** One provider's schema as tools/terraform_schemas.ts extracted it from its @cdktf/provider-* package. */
export interface ProviderSchema {
  readonly package: string;
  readonly provider: string;
  readonly providerVersion: string;
  /** No version of the package has a newer provider release of the same major version. */
  readonly newestOfMajor: boolean;
  readonly providerConfig: SchemaBlock;
  readonly resources: Record<string, SchemaBlock>;
  readonly dataSources: Record<string, SchemaBlock>;
}

let providerSchemas: Record<string, ProviderSchema> | undefined;

/** The provider schemas the tests check Terraform against, by provider local name (aws, google, azurerm, databricks). */
export function terraformSchemas(): Record<string, ProviderSchema> {
  if (!providerSchemas) {
    const { about: _, ...providers } = JSON.parse(
      Deno.readTextFileSync(`${ROOT}tests/fixtures/terraform_schemas.json`),
    );
    providerSchemas = providers as Record<string, ProviderSchema>;
  }
  return providerSchemas;
}

interface Unpacked {
  readonly args: Map<string, boolean>;
  readonly computed: Set<string>;
  readonly blocks: Record<string, SchemaBlock>;
}
const unpacked = new WeakMap<SchemaBlock, Unpacked>();
function unpack(block: SchemaBlock): Unpacked {
  let u = unpacked.get(block);
  if (!u) {
    const args = new Map<string, boolean>();
    for (const a of block.a?.split(" ") ?? []) args.set(a.replace(/!$/, ""), a.endsWith("!"));
    u = { args, computed: new Set(block.c?.split(" ") ?? []), blocks: block.b ?? {} };
    unpacked.set(block, u);
  }
  return u;
}

const RESOURCE_META = new Set([
  "count",
  "for_each",
  "provider",
  "depends_on",
  "lifecycle",
  "provisioner",
  "connection",
]);
const DATA_META = new Set(["count", "for_each", "provider", "depends_on", "lifecycle"]);

// Checks a block body: every key is an argument or a block that may be written, required ones are there.
function checkBody(where: string, what: string, schema: SchemaBlock, body: Json, meta: Set<string>): void {
  const { args, computed, blocks } = unpack(schema);
  const dynamic = new Set(Object.keys((body.dynamic ?? {}) as Json));
  for (const [name, required] of args) {
    if (required) assert.ok(name in body, `${where}: required argument ${name} of ${what} is missing`);
  }
  for (const [name, b] of Object.entries(blocks)) {
    if (b.r && !computed.has(name)) {
      assert.ok(name in body || dynamic.has(name), `${where}: required block ${name} of ${what} is missing`);
    }
  }
  for (const [key, value] of Object.entries(body)) {
    if (meta.has(key) || args.has(key)) continue;
    if (key === "dynamic") {
      for (const [name, defs] of Object.entries(value as Record<string, Json[]>)) {
        assert.ok(blocks[name] && !computed.has(name), `${where}: ${what} has no block ${name} (dynamic)`);
        for (const def of defs) {
          for (const content of (def.content ?? []) as Json[]) {
            checkBody(`${where}.${name}`, `${what}.${name}`, blocks[name], content, new Set());
          }
        }
      }
      continue;
    }
    const nested = blocks[key];
    assert.ok(
      nested && !computed.has(key),
      `${where}: ${what} has no argument or block ${key}${
        computed.has(key) ? " that can be set (it is exported only)" : ""
      }`,
    );
    if (typeof value === "string") continue; // an expression for the whole object
    for (const [i, item] of [value].flat().entries()) {
      if (item && typeof item === "object") {
        checkBody(`${where}.${key}[${i}]`, `${what}.${key}`, nested, item as Json, new Set());
      }
    }
  }
}

function versionParts(v: string): number[] {
  return v.split(".").map((x) => Number(x));
}
function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether a version satisfies a Terraform version constraint (`~> 5.0`, `>= 1.2, < 2.0`, `= 1.0.0`). */
export function satisfiesTerraformConstraint(version: string, constraint: string): boolean {
  const v = versionParts(version);
  return constraint.split(",").every((part) => {
    const m = part.trim().match(/^(~>|>=|<=|!=|>|<|=)?\s*v?([0-9][0-9.]*)$/);
    assert.ok(m, `version constraint ${JSON.stringify(constraint)} is not one Terraform reads`);
    const c = versionParts(m[2]);
    const d = compareVersions(v, c);
    switch (m[1] ?? "=") {
      case "~>": {
        // ~> 5.0 allows 5.x; ~> 1.50.2 allows 1.50.x from .2: the last given part may grow.
        const upper = c.length === 1 ? [c[0] + 1] : [...c.slice(0, -2), c[c.length - 2] + 1];
        return d >= 0 && compareVersions(v, upper) < 0;
      }
      case ">=":
        return d >= 0;
      case "<=":
        return d <= 0;
      case ">":
        return d > 0;
      case "<":
        return d < 0;
      case "!=":
        return d !== 0;
      default:
        return d === 0;
    }
  });
}

/**
 * Checks parsed Terraform against the real provider schemas
 * (tests/fixtures/terraform_schemas.json, from the pinned @cdktf/provider-aws,
 * -google, -azurerm and -databricks packages): every provider is required
 * from its registry source with a version constraint that the checked schema's
 * version satisfies, every provider block's, resource's and data source's
 * type exists and each of its arguments and nested blocks is one the schema
 * has (required ones present, exported-only attributes never written), and
 * every reference `type.name.attr` (`data.type.name.attr`, `x[0].field`)
 * names an argument or exported attribute of that type.
 * A constraint that asks for a newer release of the same major version than
 * any package has (`~> 1.106` where the newest @cdktf/provider-databricks has
 * 1.99.0) is checked against that newest schema and listed in `olderSchemas`.
 * Returns what was checked, for assertions.
 */
export function checkTerraformSchemas(
  parsed: Record<string, Json>,
): { types: string[]; references: string[]; olderSchemas: string[] } {
  const schemas = terraformSchemas();
  const used = new Set<string>();
  const types = new Set<string>();
  const required = new Map<string, { source: string; version: string }>();
  const declared = new Map<string, string>(); // resource address -> type
  const providerOf = (type: string) => {
    const name = type.split("_")[0];
    assert.ok(
      schemas[name],
      `${type}: no schema for provider "${name}" in tests/fixtures/terraform_schemas.json`,
    );
    used.add(name);
    return schemas[name];
  };
  for (const json of Object.values(parsed)) {
    for (const block of (json.terraform ?? []) as Json[]) {
      for (const rp of (block.required_providers ?? []) as Json[]) {
        for (const [name, req] of Object.entries(rp as Record<string, { source: string; version: string }>)) {
          required.set(name, req);
        }
      }
    }
  }
  for (const [file, json] of Object.entries(parsed)) {
    for (const [name, blocks] of Object.entries((json.provider ?? {}) as Record<string, Json[]>)) {
      const schema = providerOf(`${name}_`);
      for (const body of blocks) {
        checkBody(
          `${file}: provider "${name}"`,
          `the ${schema.provider} provider`,
          schema.providerConfig,
          body,
          new Set(["alias"]),
        );
      }
    }
    for (const kind of ["resource", "data"] as const) {
      for (
        const [type, byName] of Object.entries((json[kind] ?? {}) as Record<string, Record<string, Json[]>>)
      ) {
        const schema = providerOf(type);
        const block = (kind === "resource" ? schema.resources : schema.dataSources)[type];
        assert.ok(
          block,
          `${file}: ${type} is not a ${
            kind === "resource" ? "resource" : "data source"
          } type of ${schema.provider} ${schema.providerVersion}`,
        );
        types.add(kind === "data" ? `data.${type}` : type);
        for (const [name, bodies] of Object.entries(byName)) {
          declared.set(`${kind === "data" ? "data." : ""}${type}.${name}`, type);
          for (const body of bodies) {
            checkBody(
              `${file}: ${kind === "data" ? "data." : ""}${type}.${name}`,
              type,
              block,
              body,
              kind === "resource" ? RESOURCE_META : DATA_META,
            );
          }
        }
      }
    }
  }
  const olderSchemas: string[] = [];
  for (const name of used) {
    const schema = schemas[name];
    const req = required.get(name);
    assert.ok(req, `provider "${name}" is used but not in terraform.required_providers`);
    assert.equal(req.source, schema.provider, `provider "${name}": source`);
    if (satisfiesTerraformConstraint(schema.providerVersion, req.version)) continue;
    // A constraint above every release a package has (cdktf's prebuilt providers stopped at some
    // release): the newest schema of the same major version is checked, and the caller is told.
    const [major] = versionParts(schema.providerVersion);
    const lowerBounds = req.version.split(",").flatMap((part) => {
      const m = part.trim().match(/^(~>|>=|>|=)?\s*v?([0-9][0-9.]*)$/);
      return m ? [versionParts(m[2])] : [];
    });
    const sameMajorNewer = !satisfiesTerraformConstraint(`${major + 1}.0.0`, req.version) &&
      lowerBounds.length > 0 &&
      lowerBounds.every((v) =>
        v[0] === major && compareVersions(v, versionParts(schema.providerVersion)) > 0
      );
    assert.ok(
      schema.newestOfMajor && sameMajorNewer,
      `provider "${name}": version "${req.version}" does not allow ${schema.providerVersion}, the version whose schema is checked (${schema.package}): pin the package that fits in tools/terraform_schemas.ts and run it`,
    );
    olderSchemas.push(`${name} "${req.version}" against ${schema.providerVersion} (${schema.package})`);
  }
  const references: string[] = [];
  for (const [file, json] of Object.entries(parsed)) {
    for (const text of strings(json)) {
      for (const expr of expressions(text)) {
        const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        const re =
          /(?<![\w.])((?:data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.[A-Za-z0-9_-]+)(?:\[[^\]]*\])?((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[^\]]*\])+)/g;
        for (const m of code.matchAll(re)) {
          const [, address, type, tail] = m;
          if (!declared.has(address)) continue; // checkTerraformReferences reports it
          const schema = schemas[type.split("_")[0]];
          let block: SchemaBlock | undefined = address.startsWith("data.")
            ? schema.dataSources[type]
            : schema.resources[type];
          let path = address;
          for (const step of tail.match(/\.[A-Za-z_][A-Za-z0-9_-]*|\[[^\]]*\]/g) ?? []) {
            if (step.startsWith("[")) {
              path += step;
              continue;
            }
            const attr = step.slice(1);
            const { args, computed, blocks } = unpack(block!);
            assert.ok(
              args.has(attr) || computed.has(attr) || blocks[attr],
              `${file}: ${path}.${attr} in \${${
                expr.slice(0, 80)
              }}: ${type} has no attribute ${attr} at ${path}`,
            );
            path += step;
            block = blocks[attr];
            if (!block) break; // a plain value (a string, a list, a map): its inside is not in the schema
          }
          references.push(`${address}${tail}`);
        }
      }
    }
  }
  return { types: [...types].sort(), references, olderSchemas };
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

// The CloudFormation registry schemas as the AWS CDK reads them
// (@aws-cdk/aws-service-spec, a gzipped database loaded once, in well under a second).
type SpecType =
  | { type: "string" | "number" | "integer" | "boolean" | "json" | "date-time" | "null" | "tag" }
  | { type: "ref"; reference: { $ref: string } }
  | { type: "array" | "map"; element: SpecType }
  | { type: "union"; types: SpecType[] };
interface SpecProperty {
  type: SpecType;
  previousTypes?: SpecType[];
  required?: boolean;
  relationshipRefs?: { cloudFormationType: string; propertyName: string }[];
}
interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
  primaryIdentifier?: string[];
  cfnRefIdentifier?: string[];
}

let specDb: ReturnType<typeof loadAwsServiceSpecSync> | undefined;
const specDatabase = () => specDb ??= loadAwsServiceSpecSync();

/** The registry schema of a CloudFormation resource type, or undefined when there is none. */
export function cloudFormationResourceSpec(type: string): SpecResource | undefined {
  const found = specDatabase().lookup("resource", "cloudFormationType", "equals", type);
  return found.length === 1 ? found[0] as unknown as SpecResource : undefined;
}

const specTypeDefinition = (ref: { $ref: string }) =>
  specDatabase().get("typeDefinition", ref) as unknown as {
    name: string;
    properties: Record<string, SpecProperty>;
  };

/** What `Ref` gives for a resource: its CloudFormation identifier (a name, an id or an ARN). */
function refIdentifier(spec: SpecResource): string | undefined {
  const id = spec.cfnRefIdentifier ?? spec.primaryIdentifier ?? [];
  return id.length === 1 ? id[0] : undefined;
}

// The pseudo parameters a template may Ref.
const PSEUDO_PARAMETERS = new Set([
  "AWS::AccountId",
  "AWS::NotificationARNs",
  "AWS::NoValue",
  "AWS::Partition",
  "AWS::Region",
  "AWS::StackId",
  "AWS::StackName",
  "AWS::URLSuffix",
]);

const isIntrinsic = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 &&
  /^(Ref|Fn::)/.test(Object.keys(v)[0]);

const describe = (t: SpecType): string =>
  t.type === "ref"
    ? specTypeDefinition(t.reference).name
    : t.type === "array" || t.type === "map"
    ? `${t.type} of ${describe(t.element)}`
    : t.type === "union"
    ? t.types.map(describe).join(" | ")
    : t.type;

// Asserts `value` is of type `t`; intrinsic functions stand for any value.
function checkType(where: string, resourceType: string, t: SpecType, value: unknown): void {
  if (isIntrinsic(value)) return;
  const expect = (ok: boolean) =>
    assert.ok(ok, `${where}: ${JSON.stringify(value)} is not of type ${describe(t)}`);
  switch (t.type) {
    case "string":
    case "date-time":
      return expect(typeof value === "string");
    case "number":
      return expect(typeof value === "number");
    case "integer":
      return expect(Number.isInteger(value));
    case "boolean":
      return expect(typeof value === "boolean");
    case "null":
      return expect(value === null);
    case "json":
      return;
    case "tag":
      expect(value !== null && typeof value === "object" && !Array.isArray(value));
      return checkProperties(where, resourceType, {
        Key: { type: { type: "string" }, required: true },
        Value: { type: { type: "string" }, required: true },
      }, value as Json);
    case "ref": {
      const def = specTypeDefinition(t.reference);
      assert.ok(
        value !== null && typeof value === "object" && !Array.isArray(value),
        `${where}: expected an object for ${def.name}`,
      );
      return checkProperties(where, resourceType, def.properties, value as Json);
    }
    case "array":
      assert.ok(Array.isArray(value), `${where}: expected a list`);
      return value.forEach((item, i) => checkType(`${where}[${i}]`, resourceType, t.element, item));
    case "map":
      expect(value !== null && typeof value === "object" && !Array.isArray(value));
      for (const [k, v] of Object.entries(value as Json)) {
        checkType(`${where}.${k}`, resourceType, t.element, v);
      }
      return;
    case "union":
      return checkOneOf(where, resourceType, t.types, value);
  }
}

function checkOneOf(where: string, resourceType: string, types: SpecType[], value: unknown): void {
  const errors: string[] = [];
  for (const t of types) {
    try {
      return checkType(where, resourceType, t, value);
    } catch (error) {
      if (!(error instanceof assert.AssertionError)) throw error;
      errors.push(error.message);
    }
  }
  assert.fail(types.length === 1 ? errors[0] : `${where}: matches none of its types: ${errors.join("; ")}`);
}

function checkProperties(
  where: string,
  resourceType: string,
  props: Record<string, SpecProperty>,
  value: Json,
): void {
  for (const [name, prop] of Object.entries(props)) {
    if (prop.required) assert.ok(name in value, `${where}: required property ${name} is missing`);
  }
  for (const [name, v] of Object.entries(value)) {
    const prop = props[name];
    assert.ok(prop, `${where}: ${resourceType} has no property ${name}`);
    // A value of a type the property had before is still accepted.
    checkOneOf(`${where}.${name}`, resourceType, [prop.type, ...prop.previousTypes ?? []], v);
  }
}

/**
 * Parses a CloudFormation YAML template and checks it against the CloudFormation
 * registry schemas (@aws-cdk/aws-service-spec): resource types and properties
 * exist, required properties are present, values and nested property types
 * match; every Ref names a resource, parameter or pseudo parameter, every
 * GetAtt (and `${X.Attr}` in Sub) an attribute the target's type has, every
 * DependsOn a resource; and a property that takes another resource's
 * identifier gets the one it documents: `Role: {Ref: R}` where the property
 * takes the role's Arn (Ref gives its RoleName) is refused.
 */
export function checkCloudFormation(text: string): Json {
  const template = parseYaml(text) as Json;
  assert.equal(template.AWSTemplateFormatVersion, "2010-09-09");
  const resources = template.Resources as Record<
    string,
    { Type: string; Properties?: Json; DependsOn?: string[] | string }
  >;
  const parameters = new Set(Object.keys((template.Parameters ?? {}) as Json));
  const specs = new Map<string, SpecResource>();
  for (const [id, r] of Object.entries(resources)) {
    assert.match(id, /^[A-Za-z0-9]+$/, `logical id ${id}`);
    assert.ok(!parameters.has(id), `${id} is both a parameter and a resource`);
    const spec = cloudFormationResourceSpec(r.Type);
    assert.ok(spec, `${id}: resource type ${r.Type} is not in the CloudFormation specification`);
    specs.set(id, spec);
    checkProperties(id, r.Type, spec.properties, r.Properties ?? {});
    for (const d of [r.DependsOn ?? []].flat()) {
      assert.ok(resources[d], `${id}: DependsOn ${d} does not exist`);
    }
  }
  const checkRef = (where: string, target: string) =>
    assert.ok(
      resources[target] || parameters.has(target) || PSEUDO_PARAMETERS.has(target),
      `${where}: Ref ${target} is not a resource, parameter or pseudo parameter of the template`,
    );
  const checkGetAtt = (where: string, target: string, attr: string) => {
    assert.ok(resources[target], `${where}: GetAtt target ${target} does not exist`);
    assert.ok(
      attr in specs.get(target)!.attributes,
      `${where}: ${resources[target].Type} has no attribute ${attr} (it has ${
        Object.keys(specs.get(target)!.attributes).join(", ")
      })`,
    );
  };
  const getAtt = (x: unknown): [string, string] => {
    if (typeof x === "string") {
      const dot = x.indexOf(".");
      return [x.slice(0, dot), x.slice(dot + 1)];
    }
    return x as [string, string];
  };
  const visit = (v: unknown, where: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, `${where}[${i}]`));
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v as Json)) {
      if (k === "Ref") {
        assert.equal(typeof x, "string", `${where}: Ref takes a logical id`);
        checkRef(where, x as string);
      } else if (k === "Fn::GetAtt") {
        checkGetAtt(where, ...getAtt(x));
      } else if (k === "Fn::Sub") {
        const [body, vars] = Array.isArray(x) ? x as [string, Json] : [x as string, {}];
        for (const m of String(body).matchAll(/\$\{([^}!][^}]*)\}/g)) {
          if (m[1] in vars) continue;
          const dot = m[1].indexOf(".");
          if (dot < 0 || PSEUDO_PARAMETERS.has(m[1])) checkRef(`${where} (Sub)`, m[1]);
          else checkGetAtt(`${where} (Sub)`, m[1].slice(0, dot), m[1].slice(dot + 1));
        }
        visit(vars, `${where}.Fn::Sub`);
      } else {
        visit(x, `${where}.${k}`);
      }
    }
  };
  visit(template.Resources, "Resources");
  visit(template.Outputs, "Outputs");
  visit(template.Conditions, "Conditions");
  // A property that refers to another resource gets the identifier the property documents.
  for (const [id, r] of Object.entries(resources)) {
    for (const [name, value] of Object.entries(r.Properties ?? {})) {
      const refs = specs.get(id)!.properties[name]?.relationshipRefs;
      if (!refs) continue;
      for (const [i, item] of [value].flat().entries()) {
        if (!isIntrinsic(item)) continue;
        const [fn, arg] = Object.entries(item as Json)[0];
        let target: string, gives: string | undefined;
        if (fn === "Ref" && resources[arg as string]) {
          target = arg as string;
          gives = refIdentifier(specs.get(target)!);
        } else if (fn === "Fn::GetAtt") {
          [target, gives] = getAtt(arg);
        } else {
          continue;
        }
        const type = resources[target].Type;
        const wanted = refs.filter((ref) => ref.cloudFormationType === type).map((ref) => ref.propertyName);
        const at = `${id}.${name}${Array.isArray(value) ? `[${i}]` : ""}`;
        assert.ok(
          wanted.length > 0,
          `${at}: refers to ${target} (${type}), but ${name} takes one of: ${
            [...new Set(refs.map((ref) => ref.cloudFormationType))].join(", ")
          }`,
        );
        assert.ok(
          gives !== undefined && wanted.includes(gives),
          `${at}: takes the ${wanted.join(" or ")} of ${type}, but ${fn} ${target} gives ${
            gives ?? "a composite id"
          }`,
        );
      }
    }
  }
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
  // Workspace files over 10 MiB (a glacier build zip is ~60 MB) need the Files API upload of
  // databricks/databricks 1.106+; older versions import at most 10 MiB and apply fails.
  const artifacts = all("resource", "databricks_workspace_file").filter(([, [f]]) =>
    /\.glacier\/build\/.+\.zip"?\)?$/.test(String(f.source))
  );
  if (artifacts.length) {
    const providers = Object.values(parsed).flatMap((j) =>
      ((j.terraform ?? []) as Json[]).flatMap((t) => (t.required_providers ?? []) as Json[])
    );
    const constraint = String((providers.find((p) => p.databricks)?.databricks as Json)?.version);
    assert.ok(
      satisfiesTerraformConstraint("1.106.0", constraint) &&
        !satisfiesTerraformConstraint("1.105.9", constraint),
      `${
        artifacts.map(([n]) => n).join(", ")
      }: a zip over 10 MiB needs databricks/databricks >= 1.106, but the constraint is ${constraint}`,
    );
  }
}

/** The line of every VM boot script that installs the pinned Deno (as the cluster init script does). */
export const DENO_INSTALL_LINE =
  `curl -fsSL https://deno.land/install.sh | DENO_INSTALL=/usr/local sh -s -- --yes v${DENO_VERSION}`;

/**
 * Rules a generated VM must meet to be reachable and ready, checked on parsed
 * Terraform of any cloud (no schema says them): every VM has a network path
 * (a subnet this configuration looks up or creates, and a public address
 * unless it is in a private subnet the config names); SSH ingress to it comes
 * only from a variable with no default (never 0.0.0.0/0 or any literal), on
 * port 22 alone; it gets the SSH public key from a variable; and its boot
 * script installs the pinned Deno, makes the SSH user and the project folder.
 * Returns what it checked, by VM.
 */
export function checkVmServiceRules(parsed: Record<string, Json>): Record<string, string[]> {
  const all = (kind: "resource" | "data", type: string) =>
    Object.values(parsed).flatMap((j) =>
      Object.entries(((j[kind] ?? {}) as Record<string, Record<string, Json[]>>)[type] ?? {})
    );
  const one = (kind: "resource" | "data", type: string, name: string) =>
    all(kind, type).find(([n]) => n === name)?.[1][0];
  const variables = new Map(
    Object.values(parsed).flatMap((j) =>
      Object.entries((j.variable ?? {}) as Record<string, Json[]>).map(([n, [v]]) => [n, v] as const)
    ),
  );
  const checked: Record<string, string[]> = {};
  const note = (vm: string, what: string) => (checked[vm] ??= []).push(what);
  // An ingress source: one variable with no default, so apply asks for it.
  const fromVariable = (where: string, value: unknown) => {
    const m = String(value).match(/^\$\{var\.([a-z0-9_]+)\}$/);
    assert.ok(
      m,
      `${where}: SSH ingress from ${JSON.stringify(value)}, not from a variable the person applying gives`,
    );
    const v = variables.get(m![1]);
    assert.ok(v, `${where}: variable ${m![1]} is not declared`);
    assert.equal(
      v!.default,
      undefined,
      `${where}: ${m![1]} has a default, so SSH may be open without anyone choosing`,
    );
    return m![1];
  };
  const bootScript = (where: string, text: unknown, user: string) => {
    const script = String(text);
    assert.ok(
      script.includes(DENO_INSTALL_LINE),
      `${where}: the boot script does not install Deno ${DENO_VERSION}`,
    );
    assert.ok(
      script.includes(`grep -q "^deno ${DENO_VERSION.replaceAll(".", "\\.")} "`),
      `${where}: the boot script keeps an image's other Deno`,
    );
    assert.ok(
      script.includes(`id -u ${user} `) && script.includes(`useradd `),
      `${where}: the SSH user ${user} is not made`,
    );
    assert.match(
      script,
      new RegExp(`install -d -m 755 -o ${user} -g ${user} /`),
      `${where}: no project folder for ${user}`,
    );
  };
  const sshKey = (where: string, value: unknown) => {
    assert.match(String(value), /\$\{var\.([a-z0-9_]+)\}$/, `${where}: the SSH key is not a variable`);
    const name = String(value).match(/\$\{var\.([a-z0-9_]+)\}$/)![1];
    assert.ok(
      variables.has(name) && variables.get(name)!.default === undefined,
      `${where}: ${name} is not a required variable`,
    );
  };

  // AWS: a looked-up subnet, a security group admitting only SSH from the variable, the key pair from a
  // variable, an Elastic IP unless the subnet is the config's (private) one.
  const ingress = all("resource", "aws_vpc_security_group_ingress_rule");
  const eips = all("resource", "aws_eip");
  for (const [name, [vm]] of all("resource", "aws_instance")) {
    const where = `aws_instance.${name}`;
    const subnet = String(vm.subnet_id);
    const configured = subnet.match(/^\$\{data\.aws_subnet\.([a-z0-9_]+)\.id\}$/);
    const fallback = subnet.match(/^\$\{sort\(data\.aws_subnets\.([a-z0-9_]+)\.ids\)\[0\]\}$/);
    assert.ok(
      (configured && one("data", "aws_subnet", configured[1])) ||
        (fallback && one("data", "aws_subnets", fallback[1])),
      `${where}: subnet_id ${subnet} is not a subnet this configuration looks up`,
    );
    const groups = (vm.vpc_security_group_ids ?? []) as string[];
    assert.ok(groups.length > 0, `${where}: no security group`);
    let ssh = 0;
    for (const g of groups) {
      const id = g.match(/^\$\{aws_security_group\.([a-z0-9_]+)\.id\}$/)?.[1];
      assert.ok(id && one("resource", "aws_security_group", id), `${where}: group ${g} is not declared`);
      assert.equal(
        one("resource", "aws_security_group", id!)!.ingress,
        undefined,
        `${where}: inline ingress rules`,
      );
      for (const [rule, [r]] of ingress.filter(([, [r]]) => r.security_group_id === g)) {
        assert.equal(r.cidr_ipv6, undefined, `${rule}: IPv6 ingress`);
        assert.ok(
          r.ip_protocol === "tcp" && r.from_port === 22 && r.to_port === 22,
          `${rule}: ingress beyond SSH`,
        );
        fromVariable(`aws_vpc_security_group_ingress_rule.${rule}`, r.cidr_ipv4);
        ssh++;
      }
    }
    assert.ok(ssh > 0, `${where}: no SSH ingress, so Glacier cannot reach it`);
    const key = String(vm.key_name).match(/^\$\{aws_key_pair\.([a-z0-9_]+)\.key_name\}$/)?.[1];
    assert.ok(
      key && one("resource", "aws_key_pair", key),
      `${where}: the key pair is not this configuration's`,
    );
    sshKey(`aws_key_pair.${key}`, one("resource", "aws_key_pair", key!)!.public_key);
    const eip = eips.find(([, [e]]) => e.instance === `\${aws_instance.${name}.id}`);
    assert.ok(eip || configured, `${where}: in the default VPC without a public address`);
    note(name, eip ? "public address" : "private subnet");
    const user = String(vm.user_data).match(/useradd [^\n]* ([a-z_][a-z0-9_.-]*)\n/i)?.[1] ?? "";
    bootScript(where, vm.user_data, user);
    assert.ok(
      String(vm.user_data).includes("/latest/meta-data/public-keys/0/openssh-key"),
      `${where}: the user never gets the key`,
    );
    assert.deepEqual(
      (vm.metadata_options as Json[] | undefined)?.[0]?.http_tokens,
      "required",
      `${where}: IMDSv1 on`,
    );
    note(name, "ssh from variable");
  }

  // GCP: a subnetwork this configuration creates, an external address, a firewall rule for the VM's tag.
  const firewalls = all("resource", "google_compute_firewall");
  for (const [name, [vm]] of all("resource", "google_compute_instance")) {
    const where = `google_compute_instance.${name}`;
    const nic = (vm.network_interface as Json[])[0];
    const sub = String(nic.subnetwork).match(/^\$\{google_compute_subnetwork\.([a-z0-9_]+)\.id\}$/)?.[1];
    assert.ok(
      sub && one("resource", "google_compute_subnetwork", sub),
      `${where}: no subnetwork of this configuration`,
    );
    assert.ok(
      Array.isArray(nic.access_config) && nic.access_config.length === 1,
      `${where}: no external address`,
    );
    const tags = (vm.tags ?? []) as string[];
    const rules = firewalls.filter(([, [f]]) =>
      ((f.target_tags ?? []) as string[]).some((t) => tags.includes(t))
    );
    assert.ok(rules.length > 0, `${where}: no firewall rule admits SSH to it`);
    for (const [rule, [f]] of rules) {
      assert.deepEqual(f.allow, [{ protocol: "tcp", ports: ["22"] }], `${rule}: allows beyond SSH`);
      for (const source of f.source_ranges as string[]) {
        fromVariable(`google_compute_firewall.${rule}`, source);
      }
    }
    const metadata = (Array.isArray(vm.metadata) ? vm.metadata[0] : vm.metadata) as Json;
    const [user, key] = String(metadata["ssh-keys"]).split(/:(.*)/s);
    sshKey(where, key);
    bootScript(where, vm.metadata_startup_script, user);
    note(name, "public address");
    note(name, "ssh from variable");
  }

  // Azure: the NIC's public address, the subnet's security group admitting only SSH from the variable.
  const associations = all("resource", "azurerm_subnet_network_security_group_association");
  for (const [name, [vm]] of all("resource", "azurerm_linux_virtual_machine")) {
    const where = `azurerm_linux_virtual_machine.${name}`;
    const nics = (vm.network_interface_ids as string[]).map((r) =>
      one("resource", "azurerm_network_interface", r.match(/azurerm_network_interface\.([a-z0-9_]+)\./)![1])!
    );
    const ip = (nics[0].ip_configuration as Json[])[0];
    const pip = String(ip.public_ip_address_id).match(/^\$\{azurerm_public_ip\.([a-z0-9_]+)\.id\}$/)?.[1];
    assert.ok(pip && one("resource", "azurerm_public_ip", pip), `${where}: no public address`);
    const subnet = String(ip.subnet_id);
    const nsgs = associations.filter(([, [a]]) => a.subnet_id === subnet).map(([, [a]]) =>
      one(
        "resource",
        "azurerm_network_security_group",
        String(a.network_security_group_id).match(/azurerm_network_security_group\.([a-z0-9_]+)\./)![1],
      )!
    );
    assert.ok(
      nsgs.length > 0,
      `${where}: its subnet has no security group, and a Standard address admits nothing`,
    );
    const inbound = nsgs.flatMap((g) => (g.security_rule ?? []) as Json[]).filter((r) =>
      r.direction === "Inbound" && r.access === "Allow"
    );
    assert.ok(inbound.length > 0, `${where}: no rule admits SSH`);
    for (const r of inbound) {
      assert.ok(
        r.protocol === "Tcp" && r.destination_port_range === "22",
        `${where}: rule ${r.name} admits beyond SSH`,
      );
      fromVariable(`${where} rule ${r.name}`, r.source_address_prefix);
    }
    const key = (vm.admin_ssh_key as Json[])[0];
    assert.equal(key.username, vm.admin_username);
    sshKey(where, key.public_key);
    bootScript(where, vm.custom_data, String(vm.admin_username));
    note(name, "public address");
    note(name, "ssh from variable");
  }
  return checked;
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

/**
 * Rules Azure enforces that no schema says, checked on parsed Azure Terraform:
 * a Linux Consumption (Y1) function app runs only from a package URL (no zip
 * deploy), fetched here as a blob with a user-assigned identity that holds a
 * role on the blob's container before the app exists; a Flex Consumption app's
 * deployment container is one the configuration declares, reachable by the
 * identity it authenticates with; and every role assignment targets a container
 * the configuration creates or looks up (or a storage account), never a path
 * written out to a container that may not exist.
 */
export function checkAzureServiceRules(parsed: Record<string, Json>): void {
  const all = (kind: "resource" | "data", type: string) =>
    Object.values(parsed).flatMap((j) =>
      Object.entries(((j[kind] ?? {}) as Record<string, Record<string, Json[]>>)[type] ?? {})
    );
  const one = (kind: "resource" | "data", type: string, name: string) =>
    all(kind, type).find(([n]) => n === name)?.[1][0];
  const containers = new Set([
    ...all("resource", "azurerm_storage_container").map(([n]) => `azurerm_storage_container.${n}`),
    ...all("data", "azurerm_storage_container").map(([n]) => `data.azurerm_storage_container.${n}`),
  ]);
  const accounts = new Set([
    ...all("resource", "azurerm_storage_account").map(([n]) => `azurerm_storage_account.${n}`),
    ...all("data", "azurerm_storage_account").map(([n]) => `data.azurerm_storage_account.${n}`),
  ]);
  const assignments = all("resource", "azurerm_role_assignment");
  for (const [name, [a]] of assignments) {
    const scope = String(a.scope);
    const container = scope.match(
      /^\$\{((?:data\.)?azurerm_storage_container\.[a-z0-9_]+)\.resource_manager_id\}$/,
    );
    const account = scope.match(/^\$\{((?:data\.)?azurerm_storage_account\.[a-z0-9_]+)\.id\}$/);
    assert.ok(
      (container && containers.has(container[1])) || (account && accounts.has(account[1])),
      `role assignment ${name}: scope ${scope} is not a container or storage account this configuration declares`,
    );
  }
  // The roles held by a user-assigned identity, by the container they are on.
  const rolesOf = (identity: string) =>
    assignments.filter(([, [a]]) =>
      a.principal_id === `\${azurerm_user_assigned_identity.${identity}.principal_id}`
    )
      .map(([n, [a]]) => ({
        name: n,
        role: String(a.role_definition_name),
        container: String(a.scope).match(/azurerm_storage_container\.([a-z0-9_]+)\./)?.[1],
      }));
  const identityOf = (ref: unknown) =>
    String(ref).match(/^\$\{azurerm_user_assigned_identity\.([a-z0-9_]+)\.id\}$/)?.[1];
  const plans = new Map(all("resource", "azurerm_service_plan").map(([n, [p]]) => [n, String(p.sku_name)]));
  for (const [name, [app]] of all("resource", "azurerm_linux_function_app")) {
    const plan = plans.get(
      String(app.service_plan_id).match(/azurerm_service_plan\.([a-z0-9_]+)\./)?.[1] ?? "",
    );
    const settings = (app.app_settings ?? {}) as Json[] | Json;
    const s = (Array.isArray(settings) ? settings[0] : settings) as Record<string, unknown>;
    if (plan === "Y1") {
      assert.equal(app.zip_deploy_file, undefined, `${name}: Linux Consumption does not support zip deploy`);
    }
    if (app.zip_deploy_file !== undefined) {
      assert.ok(
        s.WEBSITE_RUN_FROM_PACKAGE === "1" || s.SCM_DO_BUILD_DURING_DEPLOYMENT === "true",
        `${name}: zip_deploy_file needs WEBSITE_RUN_FROM_PACKAGE=1 or a remote build`,
      );
      continue;
    }
    const url = String(s.WEBSITE_RUN_FROM_PACKAGE ?? "");
    const blobName = url.match(/^\$\{azurerm_storage_blob\.([a-z0-9_]+)\.url\}$/)?.[1];
    assert.ok(blobName, `${name}: no zip deploy, so WEBSITE_RUN_FROM_PACKAGE must be the package blob's URL`);
    const blob = one("resource", "azurerm_storage_blob", blobName!)!;
    assert.match(
      String(blob.source),
      /\.glacier\/build\/[^/]+\/[^/]+\.zip"?\)?$/,
      `${name}: the blob is a glacier build zip`,
    );
    const blobContainer = String(blob.storage_container_name).match(
      /azurerm_storage_container\.([a-z0-9_]+)\./,
    )?.[1];
    const identity = identityOf(s.WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID);
    assert.ok(identity, `${name}: the package URL has no SAS, so a user-assigned identity must fetch it`);
    const ids = ((app.identity as Json[])[0].identity_ids ?? []) as string[];
    assert.ok(
      ids.includes(`\${azurerm_user_assigned_identity.${identity}.id}`),
      `${name}: the app does not hold ${identity}`,
    );
    const role = rolesOf(identity!).find((r) =>
      r.container === blobContainer && /^Storage Blob Data (Reader|Contributor|Owner)$/.test(r.role)
    );
    assert.ok(role, `${name}: ${identity} has no role on the package container ${blobContainer}`);
    assert.ok(
      ((app.depends_on ?? []) as string[]).includes(`\${azurerm_role_assignment.${role!.name}}`),
      `${name}: the app may start before its identity can read the package`,
    );
  }
  // Host storage (AzureWebJobsStorage): Azure documents Storage Blob Data Owner on the account for the
  // Functions host. Least privilege: the account is the app's own (no data container or package blob in
  // it, no other app's host), reached by a user-assigned identity that holds that one role and holds it
  // before the app starts, named to the host by client id.
  const settingsOf = (app: Json) => {
    const settings = (app.app_settings ?? {}) as Json[] | Json;
    return (Array.isArray(settings) ? settings[0] : settings) as Record<string, unknown>;
  };
  const hostAccounts = new Map<string, string>();
  const apps = [
    ...all("resource", "azurerm_linux_function_app").map(([n, [a]]) =>
      [`azurerm_linux_function_app.${n}`, a] as const
    ),
    ...all("resource", "azurerm_function_app_flex_consumption").map(([n, [a]]) =>
      [`azurerm_function_app_flex_consumption.${n}`, a] as const
    ),
  ];
  for (const [name, app] of apps) {
    const s = settingsOf(app);
    assert.equal(
      app.storage_account_access_key,
      undefined,
      `${name}: the host storage is reached with a key`,
    );
    assert.equal(s.AzureWebJobsStorage, undefined, `${name}: a host storage connection string`);
    const flex = name.startsWith("azurerm_function_app_flex_consumption.");
    if (!flex) {
      assert.equal(app.storage_uses_managed_identity, true, `${name}: host storage without an identity`);
    }
    const accountRef = String(flex ? s.AzureWebJobsStorage__accountName : app.storage_account_name);
    const account = accountRef.match(/^\$\{azurerm_storage_account\.([a-z0-9_]+)\.name\}$/)?.[1];
    assert.ok(
      account && accounts.has(`azurerm_storage_account.${account}`),
      `${name}: host storage ${accountRef} is not an account this configuration creates`,
    );
    assert.ok(
      !hostAccounts.has(account!),
      `${name}: shares host storage ${account} with ${hostAccounts.get(account!)}`,
    );
    hostAccounts.set(account!, name);
    assert.equal(
      s.AzureWebJobsStorage__credential,
      "managedidentity",
      `${name}: the host does not authenticate with an identity`,
    );
    const identity = String(s.AzureWebJobsStorage__clientId).match(
      /^\$\{azurerm_user_assigned_identity\.([a-z0-9_]+)\.client_id\}$/,
    )?.[1];
    assert.ok(identity, `${name}: AzureWebJobsStorage__clientId does not name a user-assigned identity`);
    const ids = ((app.identity as Json[])[0].identity_ids ?? []) as string[];
    assert.ok(
      ids.includes(`\${azurerm_user_assigned_identity.${identity}.id}`),
      `${name}: the app does not hold ${identity}`,
    );
    const roles = assignments.filter(([, [a]]) =>
      a.principal_id === `\${azurerm_user_assigned_identity.${identity}.principal_id}`
    );
    const owner = roles.find(([, [a]]) =>
      a.scope === `\${azurerm_storage_account.${account}.id}` &&
      a.role_definition_name === "Storage Blob Data Owner"
    );
    assert.ok(owner, `${name}: ${identity} is not Storage Blob Data Owner of its host storage ${account}`);
    assert.equal(
      roles.length,
      1,
      `${name}: the host identity ${identity} holds more than its host storage role`,
    );
    assert.ok(
      ((app.depends_on ?? []) as string[]).includes(`\${azurerm_role_assignment.${owner![0]}}`),
      `${name}: the host may start before its identity owns the host storage`,
    );
    const others = assignments.filter(([, [a]]) =>
      String(a.scope).startsWith(`\${azurerm_storage_account.${account}.`) && a !== owner![1][0]
    );
    assert.deepEqual(others.map(([n]) => n), [], `${name}: others hold roles on its host storage`);
  }
  for (const type of ["azurerm_storage_container", "azurerm_storage_blob"]) {
    for (const [n, [r]] of all("resource", type)) {
      const inAccount = String(r.storage_account_id ?? r.storage_account_name).match(
        /azurerm_storage_account\.([a-z0-9_]+)\./,
      )?.[1];
      assert.ok(
        !inAccount || !hostAccounts.has(inAccount),
        `${type}.${n} is in host storage ${inAccount}, which its host identity owns`,
      );
    }
  }

  for (const [name, [app]] of all("resource", "azurerm_function_app_flex_consumption")) {
    const container = String(app.storage_container_endpoint).match(
      /\$\{azurerm_storage_container\.([a-z0-9_]+)\.name\}$/,
    )?.[1];
    assert.ok(
      container && containers.has(`azurerm_storage_container.${container}`),
      `${name}: the deployment container is not one this configuration creates`,
    );
    if (app.storage_authentication_type === "UserAssignedIdentity") {
      const identity = identityOf(app.storage_user_assigned_identity_id);
      assert.ok(identity, `${name}: no user-assigned identity for the deployment storage`);
      const role = rolesOf(identity!).find((r) =>
        r.container === container && /^Storage Blob Data (Contributor|Owner)$/.test(r.role)
      );
      assert.ok(role, `${name}: ${identity} cannot write the deployment container ${container}`);
      assert.ok(((app.depends_on ?? []) as string[]).includes(`\${azurerm_role_assignment.${role!.name}}`));
    }
  }
}
