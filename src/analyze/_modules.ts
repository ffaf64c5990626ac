// The module graph of static analysis: a module, the relative modules it
// imports (followed), Glacier's own modules (known by name, never read) and
// everything else (unknown values).
import { GlacierError } from "../errors.ts";
import { displayPath, type Node, parseModule } from "./_source.ts";
import { Interpreter } from "./_interpreter.ts";
import { type ModuleRecord, Scope, UNKNOWN, type Value } from "./_values.ts";

const ROOT = new URL("../../", import.meta.url).href;
const GLACIER_MOD = new URL("mod.ts", ROOT).href;
const GLACIER_SRC = new URL("src/", ROOT).href;
const GLACIER_SPECIFIER = /^(jsr:|npm:)?\/?@glacier\/glacier(@[^/]*)?(\/.*)?$/;

type Target = ModuleRecord | "glacier" | "external";

/** Loads every module reachable through relative imports, then evaluates them in ESM order. */
export class ModuleGraph {
  readonly interpreter: Interpreter = new Interpreter((m, n) => this.resolve(m, n));
  readonly #records = new Map<string, Promise<ModuleRecord>>();
  readonly #deps = new Map<ModuleRecord, ModuleRecord[]>();

  /** Loads a module and what it imports. */
  load(url: string): Promise<ModuleRecord> {
    let record = this.#records.get(url);
    if (!record) this.#records.set(url, record = this.#load(url));
    return record;
  }

  async #load(url: string): Promise<ModuleRecord> {
    const parsed = await parseModule(url);
    const record: ModuleRecord = {
      parsed,
      scope: new Scope(),
      exports: new Map(),
      reexports: new Map(),
      stars: [],
      evaluated: false,
    };
    const deps: Promise<ModuleRecord>[] = [];
    const target = (source: string): Target | Promise<ModuleRecord> => {
      if (GLACIER_SPECIFIER.test(source)) return "glacier";
      if (!/^(\.{1,2}\/|\/|file:)/.test(source)) return "external";
      const resolved = new URL(source, url).href;
      if (resolved === GLACIER_MOD || resolved.startsWith(GLACIER_SRC)) return "glacier";
      // A module imported by the pipeline's that cannot be read is left out: its values are unknown.
      const p = this.load(resolved).catch((error) => this.#unreadable(resolved, error));
      deps.push(p);
      return p;
    };
    const pending: Promise<void>[] = [];
    const later = (t: Target | Promise<ModuleRecord>, use: (t: Target) => void) => {
      if (t instanceof Promise) pending.push(t.then(use));
      else use(t);
    };
    for (const s of parsed.program.body as Node[]) {
      const source = (s.source as Node | null)?.value as string | undefined;
      if (s.type === "ImportDeclaration" && source !== undefined) {
        later(target(source), (t) => {
          for (const spec of s.specifiers as Node[]) {
            const local = (spec.local as Node).name as string;
            const imported = spec.type === "ImportDefaultSpecifier"
              ? "default"
              : spec.type === "ImportNamespaceSpecifier"
              ? "*"
              : nameOf(spec.imported as Node);
            record.scope.declare(local, importValue(t, imported));
          }
        });
      } else if (s.type === "ExportAllDeclaration" && source !== undefined) {
        later(target(source), (t) => {
          if (s.exported) record.reexports.set(nameOf(s.exported as Node), { module: t, name: "*" });
          else if (t !== "external") record.stars.push(t);
        });
      } else if (s.type === "ExportNamedDeclaration") {
        if (source !== undefined) {
          later(target(source), (t) => {
            for (const spec of s.specifiers as Node[]) {
              record.reexports.set(nameOf(spec.exported as Node), {
                module: t,
                name: nameOf(spec.local as Node),
              });
            }
          });
        } else if (s.declaration) {
          for (const name of declaredNames(s.declaration as Node)) record.exports.set(name, name);
        } else {
          for (const spec of s.specifiers as Node[]) {
            record.exports.set(nameOf(spec.exported as Node), nameOf(spec.local as Node));
          }
        }
      } else if (s.type === "ExportDefaultDeclaration") {
        record.exports.set("default", "*default*");
      }
    }
    await Promise.all(pending);
    this.#deps.set(record, await Promise.all(deps));
    return record;
  }

  #unreadable(url: string, error: unknown): ModuleRecord {
    if (!(error instanceof GlacierError) || !error.code.startsWith("USER:STATIC_")) throw error;
    this.interpreter.undecided.push(
      `${displayPath(url)}:1:1: not analyzed (${error.message}), so what it exports is unknown here`,
    );
    const program = { type: "Program", body: [], start: 0, end: 0 } as unknown as Node;
    return {
      parsed: { url, source: "", code: "", program },
      scope: new Scope(),
      exports: new Map(),
      reexports: new Map(),
      stars: [],
      evaluated: false,
    };
  }

  /** Evaluates a module after the modules it imports, each once. */
  evaluate(record: ModuleRecord): void {
    if (record.evaluated) return;
    record.evaluated = true;
    for (const dep of this.#deps.get(record) ?? []) this.evaluate(dep);
    this.interpreter.evalModule(record);
  }

  /** The value a module exports under a name. */
  resolve(module: ModuleRecord, name: string, depth = 0): Value {
    if (depth > 50) return UNKNOWN;
    if (name === "*") return { t: "ns", module, glacier: false };
    const local = module.exports.get(name);
    if (local !== undefined) {
      const v = module.scope.get(local);
      if (v?.t === "import") return this.resolve(v.module, v.name, depth + 1);
      return v ?? UNKNOWN;
    }
    const re = module.reexports.get(name);
    if (re) return this.#fromTarget(re.module, re.name, depth + 1);
    for (const star of module.stars) {
      if (star === "glacier") return { t: "glacier", name };
      const v = this.resolve(star, name, depth + 1);
      if (v.t !== "unknown") return v;
    }
    return UNKNOWN;
  }

  #fromTarget(t: Target, name: string, depth: number): Value {
    if (t === "glacier") return name === "*" ? { t: "ns", glacier: true } : { t: "glacier", name };
    if (t === "external") return UNKNOWN;
    return this.resolve(t, name, depth);
  }
}

function importValue(t: Target, name: string): Value {
  if (t === "glacier") return name === "*" ? { t: "ns", glacier: true } : { t: "glacier", name };
  if (t === "external") return UNKNOWN;
  return { t: "import", module: t, name };
}

function nameOf(node: Node): string {
  return node.type === "Identifier" ? node.name as string : String(node.value);
}

function declaredNames(decl: Node): string[] {
  if (decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") {
    return decl.id ? [(decl.id as Node).name as string] : [];
  }
  const out: string[] = [];
  const collect = (p: Node) => {
    if (p.type === "Identifier") out.push(p.name as string);
    else if (p.type === "ArrayPattern") (p.elements as (Node | null)[]).forEach((e) => e && collect(e));
    else if (p.type === "ObjectPattern") {
      (p.properties as Node[]).forEach((q) => collect(q.type === "RestElement" ? q : q.value as Node));
    } else if (p.type === "RestElement") collect(p.argument as Node);
    else if (p.type === "AssignmentPattern") collect(p.left as Node);
  };
  for (const d of (decl.declarations as Node[]) ?? []) collect(d.id as Node);
  return out;
}

/** Thrown when no pipeline of that name is declared where it was defined. */
export function noPipeline(
  name: string,
  module: string,
  found: readonly (string | undefined)[],
): GlacierError {
  return new GlacierError(
    "USER:STATIC_NO_PIPELINE",
    `Cannot find pipeline "${name}" in the source of ${module}${
      found.length ? ` (it declares ${found.map((n) => (n ? `"${n}"` : "an unnamed one")).join(", ")})` : ""
    }: its name must be a string literal in pipeline({ name }); or use analyze({ trace: true })`,
  );
}
