// Checks for code injection into generated files: each language's real
// parser (Python's ast, HashiCorp's HCL through hcl2json, the yaml package,
// JSON.parse, acorn for the Pulumi program) reads a file, and the file is
// reduced to its structure with every string's content replaced by "S". Two
// files that differ only in what their strings hold have the same structure,
// so a value that became code shows as a difference from the benign file.
import assert from "node:assert/strict";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { parse as parseYaml } from "yaml";
import * as acorn from "acorn";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

// ------------------------------------------------------------------ Python

/** Where a python3 is found: every `python3` on PATH in order, then Debian's. */
function pythonCandidates(): string[] {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  return [...new Set([...dirs.map((d) => `${d}/python3`), "/usr/bin/python3"])];
}

async function canImport(python: string, module: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", `import ${module}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // not there, or not executable
  }
}

let jinjaPython: Promise<string> | undefined;

/**
 * The first python3 on PATH that can import jinja2, else Debian's
 * /usr/bin/python3 with python3-jinja2. Fails (never skips) when neither has it.
 */
export function findJinjaPython(): Promise<string> {
  return jinjaPython ??= (async () => {
    for (const python of pythonCandidates()) {
      if (await canImport(python, "jinja2")) return python;
    }
    throw new Error(
      "No python3 here can import jinja2, which renders Airflow's templated fields in this test: run apt-get install python3-jinja2",
    );
  })();
}

/** Runs a Python program with JSON on stdin; returns its JSON output. */
export async function runPython(python: string, program: string, input: unknown): Promise<unknown> {
  const child = new Deno.Command(python, {
    args: ["-c", program],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, `${python} failed: ${decode(out.stderr)}`);
  return JSON.parse(decode(out.stdout));
}

const AST_PROGRAM = String.raw`
import ast, json, sys
out = []
for source in json.load(sys.stdin):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
        continue
    doc = ast.get_docstring(tree, clean=False)
    strings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
            node.value = "S"
    out.append({"dump": ast.dump(tree), "doc": doc, "strings": strings})
json.dump(out, sys.stdout)
`;

/** A Python file as its parser sees it. */
export interface PythonShape {
  /** The AST with every string constant replaced by "S". */
  readonly dump: string;
  /** The module docstring. */
  readonly doc: string | null;
  /** Every string constant, in walk order. */
  readonly strings: readonly string[];
}

/** Parses many Python sources with one python3 process; a source that does not parse fails the test. */
export async function pythonShapes(sources: readonly string[]): Promise<PythonShape[]> {
  const results = await runPython("python3", AST_PROGRAM, sources) as (PythonShape | { error: string })[];
  return results.map((r, i) => {
    assert.ok(!("error" in r), `Python file ${i} does not parse: ${"error" in r ? r.error : ""}`);
    return r as PythonShape;
  });
}

/**
 * Runs a generated Python module for real, with Airflow, Prefect, Dagster,
 * pendulum, boto3 and requests replaced by permissive stubs, so every
 * top-level statement executes. Prints "GLACIER_MODULE_RAN" when the module
 * ran to its end.
 */
export const STUB_RUN_PROGRAM = String.raw`
import importlib.abc, importlib.machinery, sys, types

class Stub:
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k):
        return Stub()
    def __getattr__(self, name): return Stub()
    def __getitem__(self, key): return Stub()
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def __rshift__(self, other): return other
    def __rrshift__(self, other): return self
    def __or__(self, other): return self
    def __ror__(self, other): return self
    def __iter__(self): return iter([Stub(), Stub()])

STUBBED = {"airflow", "pendulum", "prefect", "dagster", "boto3", "requests"}

class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda attr: Stub()
        return module
    def exec_module(self, module): pass

sys.meta_path.insert(0, Finder())
source = sys.stdin.read()
exec(compile(source, "generated.py", "exec"), {"__name__": "generated"})
print("GLACIER_MODULE_RAN")
`;

// ------------------------------------------------------------------ HCL

// The structure of an HCL template (as hcl2json returns strings, with `$${`
// and `%%{` kept): literal text becomes "S", sequences keep their expression
// skeleton. In nested strings (inside an expression) backslash escapes apply
// and an unescaped quote ends the string; `end` is where it did.
function template(text: string, start: number, nested: boolean): { shape: string; end: number } {
  let shape = "";
  let i = start;
  const literal = () => {
    if (!shape.endsWith("S")) shape += "S";
  };
  while (i < text.length) {
    const c = text[i];
    if (nested && c === '"') return { shape: shape || "S", end: i + 1 };
    if (nested && c === "\\") {
      literal();
      i += 2;
      continue;
    }
    if ((c === "$" || c === "%") && text[i + 1] === c && text[i + 2] === "{") {
      literal();
      i += 3;
      continue;
    }
    if ((c === "$" || c === "%") && text[i + 1] === "{") {
      const inner = expression(text, i + 2);
      shape += `${c}{${inner.shape}}`;
      i = inner.end;
      continue;
    }
    literal();
    i++;
  }
  assert.ok(!nested, `an HCL string is not closed in ${JSON.stringify(text.slice(start, start + 60))}`);
  return { shape: shape || "S", end: i };
}

// An expression up to its closing `}`: nested strings and heredocs reduced,
// whitespace and trailing commas (layout only) dropped.
function expression(text: string, start: number): { shape: string; end: number } {
  let shape = "";
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const s = template(text, i + 1, true);
      shape += `"${s.shape}"`;
      i = s.end;
      continue;
    }
    const heredoc = /^<<-?([A-Za-z_][\w-]*)\n/.exec(text.slice(i));
    if (heredoc) {
      const close = new RegExp(`\\n[ \\t]*${heredoc[1]}(?=\\n|\\)|$)`).exec(
        text.slice(i + heredoc[0].length),
      );
      assert.ok(close, `heredoc ${heredoc[1]} is not closed`);
      const body = text.slice(i + heredoc[0].length, i + heredoc[0].length + close.index);
      shape += `<<${template(body, 0, false).shape}>>`;
      i += heredoc[0].length + close.index + close[0].length;
      continue;
    }
    if (c === "{" || c === "(" || c === "[") depth++;
    if (c === "}" || c === ")" || c === "]") {
      if (c === "}" && depth === 0) return { shape: shape.replace(/,(?=[\])}])/g, ""), end: i + 1 };
      depth--;
    }
    if (!/\s/.test(c)) shape += c;
    i++;
  }
  return { shape: shape.replace(/,(?=[\])}])/g, ""), end: i };
}

/** The structure of one hcl2json string. */
export function hclTemplateShape(text: string): string {
  return template(text, 0, false).shape;
}

/** The literal text of an hcl2json string that holds no sequence: `$${` → `${`, `%%{` → `%{`. */
export function hclLiteral(text: string): string {
  assert.equal(hclTemplateShape(text), "S", `${JSON.stringify(text)} holds an HCL sequence`);
  return text.replace(/([$%])\1\{/g, "$1{");
}

function hclShape(v: unknown): unknown {
  if (typeof v === "string") return hclTemplateShape(v);
  if (Array.isArray(v)) return v.map(hclShape);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, hclShape(x)]));
  }
  return v;
}

// resource.<type>.<name> and data.<type>.<name>: generated names (from bucket
// names and prefixes) are compared by position, not by text.
function relabel(v: unknown): unknown {
  if (!v || typeof v !== "object" || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if ((k === "resource" || k === "data") && x && typeof x === "object") {
      out[k] = Object.fromEntries(
        Object.entries(x as Record<string, Record<string, unknown>>).map(([type, byName]) => [
          type,
          Object.values(byName),
        ]),
      );
    } else {
      out[k] = x;
    }
  }
  return out;
}

/** Parses a .tf file with hcl2json and returns its structure (strings reduced, generated names by position). */
export async function terraformShape(name: string, text: string): Promise<unknown> {
  const json = await parseHcl(name, text);
  return hclShape(relabel(json));
}

/** Parses a .tf file with hcl2json. */
export async function terraformJson(name: string, text: string): Promise<Record<string, unknown>> {
  return await parseHcl(name, text) as Record<string, unknown>;
}

// ------------------------------------------------------------------ JSON, YAML, TS

/** JSON-shaped data with every string replaced by "S" (keys kept). */
export function dataShape(v: unknown): unknown {
  if (typeof v === "string") return "S";
  if (Array.isArray(v)) return v.map(dataShape);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, dataShape(x)]),
    );
  }
  return v;
}

/** A YAML file read as YAML 1.2 and as YAML 1.1 (what older parsers such as CloudFormation's assume); both must agree. */
export function yamlData(text: string): unknown {
  const modern = parseYaml(text, { uniqueKeys: true, strict: true });
  const legacy = parseYaml(text, { version: "1.1", uniqueKeys: true, strict: true });
  assert.deepEqual(legacy, modern, "YAML 1.1 and 1.2 read the file differently");
  return modern;
}

/**
 * The structure of a Step Functions intrinsic function call such as
 * `States.Format('s3://b/{}/', $$.Execution.Name)`: string literals reduced to
 * their `{}` placeholders, everything else kept.
 */
export function intrinsicShape(text: string): string {
  let shape = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "'") {
      shape += text[i];
      continue;
    }
    let literal = "";
    for (i++; i < text.length && text[i] !== "'"; i++) {
      if (text[i] === "\\") {
        literal += "S";
        i++;
      } else literal += text[i] === "{" && text[i + 1] === "}" ? "{}" : text[i] === "}" ? "}" : "S";
    }
    assert.ok(i < text.length, `an intrinsic string is not closed in ${JSON.stringify(text)}`);
    shape += `'${literal.replace(/S+/g, "S")}'`;
  }
  return shape;
}

/** The literal text of an intrinsic string argument (its escapes undone). */
export function intrinsicLiteral(text: string): string {
  return text.replace(/\\(.)/gs, "$1");
}

/** ASL with strings reduced, except the values of `.$` keys, whose intrinsic structure is kept. */
export function aslShape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(aslShape);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [
        k,
        k.endsWith(".$") && typeof x === "string" ? intrinsicShape(x) : aslShape(x),
      ]),
    );
  }
  return typeof v === "string" ? "S" : v;
}

/** The Pulumi program (plain JavaScript syntax) parsed by acorn: its AST with strings reduced, and its comment count. */
export function programShape(text: string): { ast: string; comments: number } {
  let comments = 0;
  const ast = acorn.parse(text, {
    ecmaVersion: "latest",
    sourceType: "module",
    onComment: () => {
      comments++;
    },
  });
  return {
    ast: JSON.stringify(
      ast,
      (k, v) =>
        k === "start" || k === "end" || k === "raw"
          ? undefined
          : (k === "value" || k === "cooked") && typeof v === "string"
          ? "S"
          : v,
    ),
    comments,
  };
}

/** The string literals of the Pulumi program, in source order. */
export function programStrings(text: string): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== "object") return;
    const node = n as Record<string, unknown>;
    if (node.type === "Literal") {
      if (typeof node.value === "string") out.push(node.value);
      return;
    }
    if (node.type === "TemplateElement") return void out.push((node.value as { cooked: string }).cooked);
    Object.values(node).forEach(walk);
  };
  walk(acorn.parse(text, { ecmaVersion: "latest", sourceType: "module" }));
  return out;
}

/** A shell script's lines with comments reduced: the commands must stay the same. */
export function scriptShape(text: string): string[] {
  return text.split("\n").map((l) => l.startsWith("#") && !l.startsWith("#!") ? "#" : l);
}
