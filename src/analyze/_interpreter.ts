// Abstract interpretation of module top levels and pipeline functions. Every
// branch is followed; nothing the user wrote runs. Glacier's own classes
// (Provider, the configs) are built for real from literal arguments so names
// and URIs match a run exactly.
import * as configs from "../config/mod.ts";
import { Provider } from "../provider.ts";
import { ExecutionResource } from "../resources/execution.ts";
import { Bucket } from "../resources/storage.ts";
import { bucketGrants, type UsageContext, usesOf } from "./bucket_usage.ts";
import { displayPath, type Node, textOf, where } from "./_source.ts";
import {
  depsOf,
  type FnValue,
  fromPlain,
  type ModuleRecord,
  NotLiteral,
  type PathKey,
  type PipelineValue,
  Scope,
  tasksIn,
  type TaskValue,
  toPlain,
  union,
  UNKNOWN,
  type Value,
} from "./_values.ts";
import type { DAGNodeInit } from "../dag.ts";
import type { CallSite } from "../trace/site.ts";
import { errorMessage } from "../errors.ts";

const CONFIG_CLASSES: Record<string, new (options: never) => object> = {
  LocalConfig: configs.LocalConfig,
  AwsConfig: configs.AwsConfig,
  GcpConfig: configs.GcpConfig,
  AzureConfig: configs.AzureConfig,
  LambdaConfig: configs.LambdaConfig,
  CloudFunctionConfig: configs.CloudFunctionConfig,
  AzureFunctionConfig: configs.AzureFunctionConfig,
  EC2Config: configs.EC2Config,
  ComputeEngineConfig: configs.ComputeEngineConfig,
  AzureVMConfig: configs.AzureVMConfig,
  DatabricksConfig: configs.DatabricksConfig,
  SparkConfig: configs.SparkConfig,
  DataprocConfig: configs.DataprocConfig,
  EMRConfig: configs.EMRConfig,
};
const PROVIDER_METHODS = new Set(["local", "serverless", "vm", "cluster", "bucket"]);
const ITERATING = new Set(["map", "flatMap", "forEach", "filter", "some", "every", "find", "findIndex"]);
const MAX_DEPTH = 40;
const MAX_UNROLL = 10_000;

/** Facts about a task call beyond the DAG node: for infrastructure and cost. */
export interface TaskFacts {
  readonly options: Readonly<Record<string, unknown>>;
}

type Completion = { abrupt: boolean; narrow?: string };
const NORMAL: Completion = { abrupt: false };

interface Frame {
  returns: Value[];
}

/** Resolves a module-level import to a value (set by the module loader). */
export type ImportResolver = (module: ModuleRecord, name: string) => Value;

/** The state of one analysis: modules evaluated, pipelines found, nodes recorded. */
export class Interpreter {
  readonly pipelines: PipelineValue[] = [];
  readonly undecided: string[] = [];
  /** Whether some task calls may be missing from the DAG (a task chosen at run time, an unknown resource, …). */
  incomplete = false;
  /** What the user should know: tasks that would fail at run time, grants widened to a prefix. */
  readonly warnings: string[] = [];
  readonly nodes: DAGNodeInit[] = [];
  readonly facts = new Map<string, TaskFacts>();
  /** The provider configs of the resources and buckets the recorded calls use, in order of first use. */
  readonly providers = new Set<unknown>();
  readonly #resolveImport: ImportResolver;
  #inPipeline = false;
  #counts = new Map<string, number>();
  #conds: string[] = [];
  #loops = 0;
  #depth = 0;
  /** The lines (`url:line`) of the user calls being followed, outermost first. */
  #via: string[] = [];
  /** Per node id, where its call is written (see src/trace/site.ts). */
  readonly sites = new Map<string, CallSite>();

  constructor(resolveImport: ImportResolver) {
    this.#resolveImport = resolveImport;
  }

  /** Evaluates a module's top level: declarations and plain expression statements. */
  evalModule(module: ModuleRecord): void {
    const body = module.parsed.program.body as Node[];
    this.#hoist(body, module.scope, module);
    for (const stmt of body) {
      let s = stmt;
      if (s.type === "ExportNamedDeclaration") {
        if (!s.declaration) continue;
        s = s.declaration as Node;
      } else if (s.type === "ExportDefaultDeclaration") {
        const decl = s.declaration as Node;
        if (decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") continue;
        module.scope.declare("*default*", this.#expr(decl, module.scope, module));
        continue;
      }
      if (s.type === "VariableDeclaration" || s.type === "ExpressionStatement") {
        this.#stmt(s, module.scope, module, { returns: [] });
      }
    }
  }

  /** Analyzes a pipeline function: records a node per task call site, on every branch. */
  analyzePipeline(pipeline: PipelineValue, owner: ModuleRecord): void {
    this.#inPipeline = true;
    try {
      const fn = pipeline.fn;
      if (fn.t !== "fn") {
        this.incomplete = true;
        this.undecided.push(
          `${pipeline.where}: the function of pipeline "${pipeline.name}" is not written here`,
        );
        return;
      }
      this.#invokeFn(fn, [UNKNOWN], owner);
    } finally {
      this.#inPipeline = false;
    }
  }

  #usageContext(fn: FnValue): UsageContext {
    return usageContextOf(fn, (obj, key) => this.#member(obj, key), this.#resolveImport);
  }

  #once(list: string[], message: string): void {
    if (!list.includes(message)) list.push(message);
  }

  // A note about a call that may be missing from the DAG: generate and deploy trace instead.
  #missing(module: ModuleRecord, node: Node, what: string): void {
    this.incomplete = true;
    this.#note(module, node, what);
  }

  #note(module: ModuleRecord, node: Node, what: string): void {
    this.undecided.push(`${where(module.parsed, node)}: ${what}`);
  }

  #hoist(body: readonly Node[], scope: Scope, module: ModuleRecord): void {
    for (const raw of body) {
      const s = raw.type === "ExportNamedDeclaration" || raw.type === "ExportDefaultDeclaration"
        ? raw.declaration as Node | null
        : raw;
      if (s?.type === "FunctionDeclaration" && s.id) {
        const name = (s.id as Node).name as string;
        scope.declare(name, { t: "fn", node: s, scope, module, name });
        if (raw.type === "ExportDefaultDeclaration") scope.declare("*default*", scope.get(name)!);
      }
    }
  }

  // ---- statements -------------------------------------------------------

  #block(body: readonly Node[], scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    this.#hoist(body, scope, module);
    let pushed = 0;
    let result = NORMAL;
    for (const stmt of body) {
      const c = this.#stmt(stmt, scope, module, frame);
      if (c.abrupt) {
        result = c;
        break;
      }
      if (c.narrow) {
        this.#conds.push(c.narrow);
        pushed++;
      }
    }
    this.#conds.length -= pushed;
    return result;
  }

  #stmt(s: Node, scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    switch (s.type) {
      case "VariableDeclaration":
        for (const d of s.declarations as Node[]) {
          const init = d.init as Node | null;
          let value = init ? this.#expr(init, scope, module) : { t: "lit", value: undefined } as Value;
          const id = d.id as Node;
          if (value.t === "fn" && !value.name && id.type === "Identifier") {
            value = { ...value, name: id.name as string };
          }
          this.#bind(id, value, scope, module, true);
        }
        return NORMAL;
      case "ExpressionStatement":
        this.#expr(s.expression as Node, scope, module);
        return NORMAL;
      case "BlockStatement":
        return this.#block(s.body as Node[], new Scope(scope), module, frame);
      case "ReturnStatement":
        frame.returns.push(s.argument ? this.#expr(s.argument as Node, scope, module) : UNKNOWN);
        return { abrupt: true };
      case "ThrowStatement":
        if (s.argument) this.#expr(s.argument as Node, scope, module);
        return { abrupt: true };
      case "IfStatement":
        return this.#if(s, scope, module, frame);
      case "SwitchStatement":
        return this.#switch(s, scope, module, frame);
      case "ForOfStatement":
      case "ForInStatement":
        return this.#forOf(s, scope, module, frame);
      case "ForStatement":
        return this.#for(s, scope, module, frame);
      case "WhileStatement":
      case "DoWhileStatement": {
        this.#expr(s.test as Node, scope, module);
        this.#loopOnce(s.body as Node, scope, module, frame, () => {});
        return NORMAL;
      }
      case "TryStatement": {
        this.#stmt(s.block as Node, scope, module, frame);
        const handler = s.handler as Node | null;
        if (handler) {
          const inner = new Scope(scope);
          if (handler.param) this.#bind(handler.param as Node, UNKNOWN, inner, module, true);
          this.#branches(s, scope, [() => {
            this.#conds.push(`an error in the try block at line ${s.loc?.start.line}`);
            try {
              this.#block((handler.body as Node).body as Node[], inner, module, frame);
            } finally {
              this.#conds.pop();
            }
          }, () => {}]);
        }
        if (s.finalizer) return this.#stmt(s.finalizer as Node, scope, module, frame);
        return NORMAL;
      }
      case "LabeledStatement":
        return this.#stmt(s.body as Node, scope, module, frame);
      case "FunctionDeclaration": // hoisted
      case "ClassDeclaration":
      case "EmptyStatement":
      case "BreakStatement":
      case "ContinueStatement":
      case "ImportDeclaration":
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
      case "ExportDefaultDeclaration":
        return NORMAL;
      default:
        return NORMAL;
    }
  }

  #cond<T>(text: string | undefined, fn: () => T): T {
    if (text === undefined) return fn();
    this.#conds.push(text);
    try {
      return fn();
    } finally {
      this.#conds.pop();
    }
  }

  // Runs alternative branches from the same starting values of the variables
  // they assign, then leaves each variable as the union of its outcomes.
  #branches(node: Node, scope: Scope, runs: (() => void)[]): void {
    const names = assignedNames(node);
    const owners = names.map((n) => scope.owner(n));
    const before = names.map((n, i) => owners[i]?.vars.get(n));
    const outcomes: (Value | undefined)[][] = [];
    for (const run of runs) {
      names.forEach((n, i) => owners[i] && before[i] && owners[i]!.vars.set(n, before[i]!));
      run();
      outcomes.push(names.map((n, i) => owners[i]?.vars.get(n)));
    }
    names.forEach((n, i) => {
      if (!owners[i]) return;
      const vals = outcomes.map((o) => o[i]).filter((v): v is Value => v !== undefined);
      owners[i]!.vars.set(n, union(vals));
    });
  }

  #if(s: Node, scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    const test = this.#expr(s.test as Node, scope, module);
    const cons = s.consequent as Node, alt = s.alternate as Node | null;
    if (test.t === "lit") {
      const taken = test.value ? cons : alt;
      return taken ? this.#stmt(taken, scope, module, frame) : NORMAL;
    }
    const text = textOf(module.parsed, s.test as Node);
    let a = NORMAL, b = NORMAL;
    this.#branches(s, scope, [
      () => a = this.#cond(text, () => this.#stmt(cons, new Scope(scope), module, frame)),
      () =>
        b = alt ? this.#cond(negate(text), () => this.#stmt(alt, new Scope(scope), module, frame)) : NORMAL,
    ]);
    if (a.abrupt && b.abrupt) return { abrupt: true };
    if (a.abrupt) return { abrupt: false, narrow: negate(text) };
    if (b.abrupt) return { abrupt: false, narrow: text };
    return NORMAL;
  }

  #switch(s: Node, scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    const disc = this.#expr(s.discriminant as Node, scope, module);
    const cases = s.cases as Node[];
    const inner = new Scope(scope);
    if (disc.t === "lit") {
      let matched = false;
      const tests = cases.map((c) => (c.test ? this.#expr(c.test as Node, scope, module) : undefined));
      let start = tests.findIndex((t) => t?.t === "lit" && t.value === disc.value);
      if (start < 0) start = cases.findIndex((c) => !c.test);
      if (start >= 0 && tests.every((t) => !t || t.t === "lit")) {
        for (const c of cases.slice(start)) {
          matched = true;
          const stmts = c.consequent as Node[];
          const done = this.#block(stmts.filter((x) => x.type !== "BreakStatement"), inner, module, frame);
          if (done.abrupt || stmts.some((x) => x.type === "BreakStatement")) return done;
        }
        if (matched) return NORMAL;
      }
    }
    const d = textOf(module.parsed, s.discriminant as Node);
    const tests = cases.filter((c) => c.test).map((c) => textOf(module.parsed, c.test as Node));
    const runs = cases.map((c) => () => {
      const text = c.test
        ? `${d} === ${textOf(module.parsed, c.test as Node)}`
        : tests.map((t) => `${d} !== ${t}`).join(" && ") || undefined;
      this.#cond(text, () => this.#block(c.consequent as Node[], inner, module, frame));
    });
    if (!cases.some((c) => !c.test)) runs.push(() => {});
    this.#branches(s, scope, runs);
    return NORMAL;
  }

  #loopOnce(body: Node, scope: Scope, module: ModuleRecord, frame: Frame, bind: (s: Scope) => void): void {
    this.#loops++;
    try {
      this.#branches(body, scope, [() => {
        const inner = new Scope(scope);
        bind(inner);
        this.#stmt(body, inner, module, frame);
      }, () => {}]);
    } finally {
      this.#loops--;
    }
  }

  #forOf(s: Node, scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    const iterable = this.#expr(s.right as Node, scope, module);
    const left = s.left as Node;
    const target = left.type === "VariableDeclaration" ? (left.declarations as Node[])[0].id as Node : left;
    const bindItem = (inner: Scope, item: Value) =>
      this.#bind(target, item, inner, module, left.type === "VariableDeclaration");
    if (s.type === "ForOfStatement" && iterable.t === "arr" && iterable.items.length <= MAX_UNROLL) {
      for (const item of iterable.items) {
        const inner = new Scope(scope);
        bindItem(inner, item);
        this.#stmt(s.body as Node, inner, module, frame);
      }
      return NORMAL;
    }
    if (iterable.t === "ref") {
      this.#note(
        module,
        s.right as Node,
        `the loop iterates over the unawaited task result "${
          textOf(module.parsed, s.right as Node)
        }"; await it first`,
      );
    }
    const item = s.type === "ForInStatement" ? UNKNOWN : elementOf(iterable);
    this.#loopOnce(s.body as Node, scope, module, frame, (inner) => bindItem(inner, item));
    return NORMAL;
  }

  #for(s: Node, scope: Scope, module: ModuleRecord, frame: Frame): Completion {
    const outer = new Scope(scope);
    const init = s.init as Node | null;
    if (init?.type === "VariableDeclaration") this.#stmt(init, outer, module, frame);
    else if (init) this.#expr(init, outer, module);
    const count = this.#literalCount(s, outer, module);
    if (count !== undefined) {
      const init = s.init as Node;
      const name = ((init.declarations as Node[])[0].id as Node).name as string;
      const start = toPlain(outer.get(name)!) as number;
      const step = stepOf(s.update as Node);
      for (let i = 0; i < count; i++) {
        const inner = new Scope(outer);
        inner.declare(name, { t: "lit", value: start + i * step! });
        this.#stmt(s.body as Node, inner, module, frame);
      }
      return NORMAL;
    }
    if (s.test) this.#expr(s.test as Node, outer, module);
    this.#loopOnce(s.body as Node, outer, module, frame, () => {});
    if (s.update) this.#expr(s.update as Node, outer, module);
    return NORMAL;
  }

  // `for (let i = a; i < b; i++)` with literal bounds: the iteration count.
  #literalCount(s: Node, scope: Scope, module: ModuleRecord): number | undefined {
    const init = s.init as Node | null, test = s.test as Node | null, update = s.update as Node | null;
    if (init?.type !== "VariableDeclaration" || !test || !update) return undefined;
    if (init.kind === "var") return undefined;
    const decls = init.declarations as Node[];
    if (decls.length !== 1 || (decls[0].id as Node).type !== "Identifier") return undefined;
    const name = (decls[0].id as Node).name as string;
    const start = scope.get(name);
    const step = stepOf(update, name);
    if (start?.t !== "lit" || typeof start.value !== "number" || !step) return undefined;
    if (assignedNames(s.body as Node).includes(name)) return undefined;
    if (test.type !== "BinaryExpression" || (test.left as Node).name !== name) return undefined;
    const bound = this.#expr(test.right as Node, scope, module);
    if (bound.t !== "lit" || typeof bound.value !== "number") return undefined;
    const op = test.operator as string;
    let count = 0;
    for (let i = start.value; count <= MAX_UNROLL; i += step, count++) {
      const ok = op === "<"
        ? i < bound.value
        : op === "<="
        ? i <= bound.value
        : op === ">"
        ? i > bound.value
        : op === ">="
        ? i >= bound.value
        : op === "!=="
        ? i !== bound.value
        : undefined;
      if (ok === undefined) return undefined;
      if (!ok) return count;
    }
    return undefined;
  }

  // ---- patterns ---------------------------------------------------------

  #bind(pattern: Node, value: Value, scope: Scope, module: ModuleRecord, declare: boolean): void {
    switch (pattern.type) {
      case "Identifier":
        if (declare) scope.declare(pattern.name as string, value);
        else scope.assign(pattern.name as string, value);
        return;
      case "ArrayPattern":
        (pattern.elements as (Node | null)[]).forEach((el, i) => {
          if (!el) return;
          if (el.type === "RestElement") {
            const rest: Value = value.t === "arr" ? { t: "arr", items: value.items.slice(i) } : UNKNOWN;
            this.#bind(el.argument as Node, rest, scope, module, declare);
          } else this.#bind(el, member(value, i), scope, module, declare);
        });
        return;
      case "ObjectPattern":
        for (const p of pattern.properties as Node[]) {
          if (p.type === "RestElement") {
            this.#bind(p.argument as Node, UNKNOWN, scope, module, declare);
            continue;
          }
          const key = this.#key(p, scope, module);
          this.#bind(
            p.value as Node,
            key === undefined ? UNKNOWN : member(value, key),
            scope,
            module,
            declare,
          );
        }
        return;
      case "AssignmentPattern": {
        // A default applies only when the value is undefined; for a value known
        // only at run time (a param) it is one possibility among others.
        const v = value.t === "lit" && value.value === undefined
          ? this.#expr(pattern.right as Node, scope, module)
          : value.t === "unknown"
          ? union([value, this.#expr(pattern.right as Node, scope, module)])
          : value;
        this.#bind(pattern.left as Node, v, scope, module, declare);
        return;
      }
      case "MemberExpression": {
        const obj = this.#expr(pattern.object as Node, scope, module);
        const key = pattern.computed
          ? litKey(this.#expr(pattern.property as Node, scope, module))
          : (pattern.property as Node).name as string;
        if (obj.t === "obj" && key !== undefined) obj.props.set(String(key), value);
        else if (obj.t === "arr" && typeof key === "number") obj.items[key] = value;
        return;
      }
    }
  }

  #key(p: Node, scope: Scope, module: ModuleRecord): PathKey | undefined {
    const key = p.key as Node;
    if (p.computed) return litKey(this.#expr(key, scope, module));
    return key.type === "Identifier" ? key.name as string : litKey({ t: "lit", value: key.value });
  }

  // ---- expressions ------------------------------------------------------

  #expr(e: Node, scope: Scope, module: ModuleRecord): Value {
    switch (e.type) {
      case "Literal":
        return e.regex ? UNKNOWN : { t: "lit", value: e.value };
      case "Identifier": {
        const name = e.name as string;
        if (name === "undefined") return { t: "lit", value: undefined };
        const v = scope.get(name);
        if (v?.t === "import") return this.#resolveImport(v.module, v.name);
        return v ?? UNKNOWN;
      }
      case "TemplateLiteral": {
        const parts = (e.expressions as Node[]).map((x) => this.#expr(x, scope, module));
        if (parts.some((p) => p.t !== "lit")) return UNKNOWN;
        const quasis = e.quasis as Node[];
        return {
          t: "lit",
          value: quasis.map((q, i) =>
            ((q.value as { cooked: string }).cooked) + (i < parts.length ? String(toPlain(parts[i])) : "")
          ).join(""),
        };
      }
      case "ArrayExpression": {
        const items: Value[] = [];
        for (const el of e.elements as (Node | null)[]) {
          if (!el) items.push({ t: "lit", value: undefined });
          else if (el.type === "SpreadElement") {
            const v = this.#expr(el.argument as Node, scope, module);
            if (v.t === "arr") items.push(...v.items);
            else return union([v, ...items]);
          } else items.push(this.#expr(el, scope, module));
        }
        return { t: "arr", items };
      }
      case "ObjectExpression": {
        const props = new Map<string, Value>();
        for (const p of e.properties as Node[]) {
          if (p.type === "SpreadElement") {
            const v = this.#expr(p.argument as Node, scope, module);
            if (v.t === "obj") v.props.forEach((val, k) => props.set(k, val));
            else if (v.t !== "lit") props.set(`...${props.size}`, v);
            continue;
          }
          const key = this.#key(p, scope, module);
          let v = this.#expr(p.value as Node, scope, module);
          if (v.t === "fn" && !v.name && key !== undefined) v = { ...v, name: String(key) };
          props.set(key === undefined ? `?${props.size}` : String(key), v);
        }
        return { t: "obj", props };
      }
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        return { t: "fn", node: e, scope, module, name: (e.id as Node | null)?.name as string | undefined };
      case "MemberExpression": {
        const obj = this.#expr(e.object as Node, scope, module);
        const key = e.computed
          ? litKey(this.#expr(e.property as Node, scope, module))
          : (e.property as Node).name as string;
        if (key === undefined) return obj.t === "ref" || obj.t === "any" ? union([obj]) : UNKNOWN;
        return this.#member(obj, key);
      }
      case "ChainExpression":
        return this.#expr(e.expression as Node, scope, module);
      case "ParenthesizedExpression":
        return this.#expr(e.expression as Node, scope, module);
      case "SequenceExpression": {
        let last: Value = UNKNOWN;
        for (const x of e.expressions as Node[]) last = this.#expr(x, scope, module);
        return last;
      }
      case "AwaitExpression": {
        // Awaiting makes a value run-time, not the calls after it: only a
        // call whose count depends on a run-time value (a loop over one) is dynamic.
        return awaited(this.#expr(e.argument as Node, scope, module));
      }
      case "ConditionalExpression": {
        const test = this.#expr(e.test as Node, scope, module);
        if (test.t === "lit") {
          return this.#expr((test.value ? e.consequent : e.alternate) as Node, scope, module);
        }
        const text = textOf(module.parsed, e.test as Node);
        let a: Value = UNKNOWN, b: Value = UNKNOWN;
        this.#branches(e, scope, [
          () => a = this.#cond(text, () => this.#expr(e.consequent as Node, scope, module)),
          () => b = this.#cond(negate(text), () => this.#expr(e.alternate as Node, scope, module)),
        ]);
        return union([a, b]);
      }
      case "LogicalExpression": {
        const left = this.#expr(e.left as Node, scope, module);
        const op = e.operator as string;
        if (left.t === "lit") {
          const takeRight = op === "&&" ? !!left.value : op === "||" ? !left.value : left.value == null;
          return takeRight ? this.#expr(e.right as Node, scope, module) : left;
        }
        const text = textOf(module.parsed, e.left as Node);
        const cond = op === "&&" ? text : op === "||" ? negate(text) : `(${text}) == null`;
        let right: Value = UNKNOWN;
        this.#branches(e.right as Node, scope, [
          () => right = this.#cond(cond, () => this.#expr(e.right as Node, scope, module)),
          () => {},
        ]);
        return union([left, right]);
      }
      case "BinaryExpression": {
        const l = this.#expr(e.left as Node, scope, module), r = this.#expr(e.right as Node, scope, module);
        if (l.t === "lit" && r.t === "lit") return binary(e.operator as string, l.value, r.value);
        return UNKNOWN;
      }
      case "UnaryExpression": {
        const v = this.#expr(e.argument as Node, scope, module);
        if (v.t !== "lit") return UNKNOWN;
        const x = v.value as number;
        switch (e.operator) {
          case "!":
            return { t: "lit", value: !x };
          case "-":
            return { t: "lit", value: -x };
          case "+":
            return { t: "lit", value: +x };
          case "typeof":
            return { t: "lit", value: typeof x };
          case "void":
            return { t: "lit", value: undefined };
        }
        return UNKNOWN;
      }
      case "AssignmentExpression": {
        const op = e.operator as string;
        let value = this.#expr(e.right as Node, scope, module);
        const left = e.left as Node;
        if (op !== "=") {
          const old = this.#expr(left, scope, module);
          value = old.t === "lit" && value.t === "lit"
            ? binary(op.slice(0, -1), old.value, value.value)
            : union([old, value]);
        }
        this.#bind(left, value, scope, module, false);
        return value;
      }
      case "UpdateExpression": {
        const arg = e.argument as Node;
        const old = this.#expr(arg, scope, module);
        const next: Value = old.t === "lit" && typeof old.value === "number"
          ? { t: "lit", value: old.value + (e.operator === "++" ? 1 : -1) }
          : UNKNOWN;
        this.#bind(arg, next, scope, module, false);
        return e.prefix ? next : old;
      }
      case "NewExpression":
        return this.#new(e, scope, module);
      case "CallExpression":
        return this.#call(e, scope, module);
      case "TaggedTemplateExpression":
      case "ThisExpression":
      case "MetaProperty":
      case "ClassExpression":
      case "ImportExpression":
      default:
        return UNKNOWN;
    }
  }

  #member(obj: Value, key: PathKey): Value {
    switch (obj.t) {
      case "ref":
      case "dyn":
        return { t: obj.t, id: obj.id, path: [...obj.path, key] };
      case "arr":
        if (key === "length") return { t: "lit", value: obj.items.length };
        return typeof key === "number" ? obj.items[key] ?? { t: "lit", value: undefined } : UNKNOWN;
      case "obj":
        return obj.props.get(String(key)) ?? { t: "lit", value: undefined };
      case "any":
        return union([...obj.alts.map((a) => this.#member(a, key)), ...(obj.open ? [UNKNOWN] : [])]);
      case "lit": {
        const v = obj.value as Record<PathKey, unknown> | null | undefined;
        if (v === null || v === undefined) return UNKNOWN;
        const got = (v as Record<PathKey, unknown>)[key];
        return typeof got === "function" ? UNKNOWN : fromPlain(got);
      }
      case "real": {
        const got = (obj.value as Record<PathKey, unknown>)[key];
        return typeof got === "function" ? UNKNOWN : fromPlain(got);
      }
      case "ns":
        if (obj.glacier) return { t: "glacier", name: String(key) };
        return obj.module ? this.#resolveImport(obj.module, String(key)) : UNKNOWN;
      case "task":
        return key === "name" ? { t: "lit", value: obj.name } : UNKNOWN;
      default:
        return UNKNOWN;
    }
  }

  #args(args: readonly Node[], scope: Scope, module: ModuleRecord): Value[] {
    const out: Value[] = [];
    for (const a of args) {
      if (a.type === "SpreadElement") {
        const v = this.#expr(a.argument as Node, scope, module);
        if (v.t === "arr") out.push(...v.items);
        else out.push(v);
      } else out.push(this.#expr(a, scope, module));
    }
    return out;
  }

  #new(e: Node, scope: Scope, module: ModuleRecord): Value {
    const callee = this.#expr(e.callee as Node, scope, module);
    const args = this.#args(e.arguments as Node[], scope, module);
    if (callee.t !== "glacier") return UNKNOWN;
    const Cls = callee.name === "Provider" ? Provider : CONFIG_CLASSES[callee.name];
    if (!Cls) return UNKNOWN;
    const { value: options, unknown } = args.length === 0
      ? { value: undefined, unknown: [] }
      : partial(args[0]);
    if (unknown.length > 0) {
      this.#note(
        module,
        e,
        `new ${callee.name}(...): ${
          unknown.map((k) => `"${k}"`).join(", ")
        } computed at run time, so the default is assumed here`,
      );
    }
    try {
      // A provider belongs to the module analyzed (its relative local root is that project's).
      const given = Cls === Provider ? { ...(options as object), module: module.parsed.url } : options;
      return { t: "real", value: new (Cls as new (o: unknown) => object)(given) };
    } catch (error) {
      this.#note(module, e, `new ${callee.name}(...) would throw: ${errorMessage(error)}`);
      return UNKNOWN;
    }
  }

  #call(e: Node, scope: Scope, module: ModuleRecord): Value {
    const calleeNode = e.callee as Node;
    const argNodes = e.arguments as Node[];
    if (calleeNode.type === "MemberExpression" && !(calleeNode.object as Node).type.startsWith("Super")) {
      const obj = this.#expr(calleeNode.object as Node, scope, module);
      const key = calleeNode.computed
        ? litKey(this.#expr(calleeNode.property as Node, scope, module))
        : (calleeNode.property as Node).name as string;
      const globalName = (calleeNode.object as Node).type === "Identifier" && obj.t === "unknown"
        ? (calleeNode.object as Node).name as string
        : undefined;
      if (key === undefined) {
        const args = this.#args(argNodes, scope, module);
        if (tasksIn(obj).length > 0 && args) {
          this.#missing(
            module,
            e,
            `the task called by "${
              textOf(module.parsed, calleeNode)
            }(...)" is chosen at run time (computed key)`,
          );
        }
        return UNKNOWN;
      }
      // Glacier objects built for real from literal arguments.
      if (obj.t === "real") return this.#realMethod(obj.value, String(key), e, argNodes, scope, module);
      if (key === "task" && obj.t === "unknown" && !this.#inPipeline) {
        this.#missing(
          module,
          e,
          `the resource of "${
            textOf(module.parsed, calleeNode.object as Node)
          }.task(...)" is not known statically, so calls to this task are missing from the DAG`,
        );
      }
      if (globalName === "Promise" && ["all", "allSettled", "race", "any"].includes(String(key))) {
        return this.#args(argNodes, scope, module)[0] ?? UNKNOWN;
      }
      if (obj.t === "arr" && (key === "push" || key === "unshift")) {
        const args = this.#args(argNodes, scope, module);
        if (key === "push") obj.items.push(...args);
        else obj.items.unshift(...args);
        return { t: "lit", value: obj.items.length };
      }
      if (typeof key === "string" && ITERATING.has(key)) {
        return this.#iterate(obj, key, e, argNodes, scope, module);
      }
      if (obj.t === "ref") {
        this.#args(argNodes, scope, module);
        this.#note(
          module,
          e,
          `"${
            textOf(module.parsed, calleeNode)
          }(...)" calls a method on an unawaited task result; await the result first`,
        );
        return UNKNOWN;
      }
      const fn = this.#member(obj, key);
      return this.#invoke(fn, this.#args(argNodes, scope, module), e, module);
    }
    const callee = this.#expr(calleeNode, scope, module);
    return this.#invoke(callee, this.#args(argNodes, scope, module), e, module);
  }

  #realMethod(
    target: object,
    method: string,
    e: Node,
    argNodes: Node[],
    scope: Scope,
    module: ModuleRecord,
  ): Value {
    if (target instanceof ExecutionResource && method === "task") {
      return this.#task(target, e, argNodes, scope, module);
    }
    const args = this.#args(argNodes, scope, module);
    const allowed = (target instanceof Provider && PROVIDER_METHODS.has(method)) ||
      (target instanceof Bucket && method === "at");
    if (!allowed) return UNKNOWN;
    const parts = args.map(partial);
    const plain = parts.map((p) => p.value);
    const unknown = parts.flatMap((p) => p.unknown);
    if (unknown.length > 0) {
      const required = method === "bucket" || method === "at";
      this.#note(
        module,
        e,
        `"${method}(...)": ${unknown.map((k) => `"${k}"`).join(", ")} computed at run time${
          required
            ? ", so this bucket's URI is unknown and left out of sources and sinks"
            : ", so the default is assumed here"
        }`,
      );
      if (required) return UNKNOWN;
    }
    try {
      return {
        t: "real",
        value: (target as unknown as Record<string, (...a: unknown[]) => object>)[method](...plain),
      };
    } catch (error) {
      this.#note(module, e, `"${method}(...)" would throw: ${errorMessage(error)}`);
      return UNKNOWN;
    }
  }

  #task(resource: ExecutionResource, e: Node, argNodes: Node[], scope: Scope, module: ModuleRecord): Value {
    const args = this.#args(argNodes, scope, module);
    const fn = args.length >= 2 ? args[1] : args[0];
    const optionsValue = args.length >= 2 ? args[0] : undefined;
    const options: Record<string, unknown> = {};
    if (optionsValue?.t === "obj") {
      for (const [k, v] of optionsValue.props) {
        try {
          options[k] = toPlain(v);
        } catch (error) {
          if (!(error instanceof NotLiteral)) throw error;
          this.#note(module, e, `task option "${k}" is computed at run time, so it is left out`);
        }
      }
    } else if (optionsValue) {
      this.#note(module, e, "the task options are computed at run time, so they are left out");
    }
    const name = (typeof options.name === "string" ? options.name : undefined) ??
      (fn.t === "fn" ? fn.name : undefined);
    if (!name) {
      this.#missing(
        module,
        e,
        "the task's name is not written here (an anonymous function without { name })",
      );
      return UNKNOWN;
    }
    if (this.#inPipeline) {
      this.#once(
        this.warnings,
        `${
          where(module.parsed, e)
        }: task "${name}" is defined inside the pipeline function; workers and remote executors find a task at its module's top level, so it fails at run time: declare it at the top level`,
      );
    }
    const source = fn.t === "fn" ? fn.module.parsed.code.slice(fn.node.start, fn.node.end) : "";
    const task: TaskValue = {
      t: "task",
      name,
      module: module.parsed.url,
      resource,
      options,
      source,
      ...(fn.t === "fn" ? { fn } : {}),
    };
    return task;
  }

  #iterate(obj: Value, method: string, e: Node, argNodes: Node[], scope: Scope, module: ModuleRecord): Value {
    const args = this.#args(argNodes, scope, module);
    const fn = args[0] ?? UNKNOWN;
    if (obj.t === "arr" && obj.items.length <= MAX_UNROLL) {
      const results = obj.items.map((item, i) =>
        this.#invoke(fn, [item, { t: "lit", value: i }, obj], e, module)
      );
      if (method === "map") return { t: "arr", items: results };
      if (method === "flatMap") {
        return { t: "arr", items: results.flatMap((r) => (r.t === "arr" ? r.items : [r])) };
      }
      if (method === "filter") return union(obj.items);
      return UNKNOWN;
    }
    if (obj.t === "ref") {
      this.#note(
        module,
        e,
        `".${method}(...)" is called on the unawaited task result "${
          textOf(module.parsed, (e.callee as Node).object as Node)
        }"; await it first`,
      );
      return UNKNOWN;
    }
    if (obj.t === "lit" && !Array.isArray(obj.value)) return UNKNOWN;
    // A list known only at run time: the callback once, its calls dynamic.
    this.#loops++;
    let result: Value;
    try {
      result = this.#invoke(fn, [elementOf(obj), { t: "lit", value: 0 }], e, module);
    } finally {
      this.#loops--;
    }
    return method === "map" || method === "flatMap" || method === "filter"
      ? { t: "arr", items: [result] }
      : UNKNOWN;
  }

  #invoke(fn: Value, args: Value[], e: Node, module: ModuleRecord): Value {
    switch (fn.t) {
      case "task":
        return this.#inPipeline ? this.#record(fn, args, callPosition(module, e)) : UNKNOWN;
      case "fn": {
        const at = callPosition(module, e);
        this.#via.push(at.slice(0, at.lastIndexOf(":")));
        try {
          return this.#invokeFn(fn, args, module, e);
        } finally {
          this.#via.pop();
        }
      }
      case "glacier":
        if (fn.name === "pipeline") return this.#pipeline(args, e, module);
        return UNKNOWN;
      case "any":
        if (tasksIn(fn).length > 0 && this.#inPipeline) {
          this.#missing(
            module,
            e,
            `the task called by "${
              textOf(module.parsed, e.callee as Node)
            }(...)" is chosen at run time (one of ${tasksIn(fn).map((t) => `"${t.name}"`).join(", ")})`,
          );
        }
        return UNKNOWN;
      default:
        return UNKNOWN;
    }
  }

  #invokeFn(fn: FnValue, args: Value[], module: ModuleRecord, e?: Node): Value {
    if (this.#depth >= MAX_DEPTH) {
      this.#missing(
        module,
        e ?? fn.node,
        `calls nest deeper than ${MAX_DEPTH} (recursion?); the rest is not followed`,
      );
      return UNKNOWN;
    }
    this.#depth++;
    try {
      const scope = new Scope(fn.scope);
      const node = fn.node;
      (node.params as Node[]).forEach((p, i) => {
        if (p.type === "RestElement") {
          this.#bind(p.argument as Node, { t: "arr", items: args.slice(i) }, scope, fn.module, true);
        } else this.#bind(p, args[i] ?? { t: "lit", value: undefined }, scope, fn.module, true);
      });
      const body = node.body as Node;
      if (body.type !== "BlockStatement") return this.#expr(body, scope, fn.module);
      const frame: Frame = { returns: [] };
      this.#block(body.body as Node[], scope, fn.module, frame);
      const result = frame.returns.length === 0
        ? { t: "lit", value: undefined } as Value
        : union(frame.returns);
      return node.async ? awaited(result, true) : result;
    } finally {
      this.#depth--;
    }
  }

  #pipeline(args: Value[], e: Node, module: ModuleRecord): Value {
    const options = args[0];
    const nameValue = options?.t === "obj" ? options.props.get("name") : undefined;
    const name = nameValue?.t === "lit" && typeof nameValue.value === "string" ? nameValue.value : undefined;
    const literal = options ? partial(options).value : undefined;
    const p: PipelineValue = {
      t: "pipeline",
      name,
      options: typeof literal === "object" && literal !== null ? literal as Record<string, unknown> : {},
      module: module.parsed.url,
      fn: args[1] ?? UNKNOWN,
      where: where(module.parsed, e),
    };
    this.pipelines.push(p);
    return p;
  }

  #record(task: TaskValue, args: Value[], at: string): Value {
    const count = (this.#counts.get(task.name) ?? 0) + 1;
    this.#counts.set(task.name, count);
    const id = count === 1 ? task.name : `${task.name}#${count}`;
    const reads = new Set<string>(stringList(task.options.reads));
    const writes = new Set<string>(stringList(task.options.writes));
    if (task.resource.providerConfig) this.providers.add(task.resource.providerConfig);
    args.forEach((arg, index) => {
      forEachBucket(arg, (bucket, nested) => {
        this.providers.add(bucket.location.config);
        const uses = nested || !task.fn
          ? "escapes"
          : usesOf(task.fn.node, index, this.#usageContext(task.fn));
        const grants = bucketGrants(bucket, uses);
        grants.reads.forEach((u) => reads.add(u));
        grants.writes.forEach((u) => writes.add(u));
        for (const use of grants.prefixes) {
          this.#once(
            this.warnings,
            `${use.where ?? task.module}: task "${task.name}" ${
              use.write ? "writes" : "reads"
            } a computed key under "${
              use.key.kind === "prefix" ? use.key.prefix : ""
            }" of ${bucket.uri}, so it is granted that prefix`,
          );
        }
        for (const use of grants.unknown) {
          this.#once(
            this.undecided,
            `${use.where ?? task.module}: task "${task.name}" ${use.write ? "writes" : "reads"} "${
              use.key.kind === "unknown" ? use.key.text : ""
            }", a key known only at run time; it is granted as ${bucket.uri}: if the key lies elsewhere, declare it in the task's reads/writes options`,
          );
        }
        if (bucket.uri.startsWith("file:") && task.resource.kind !== "local") {
          this.#once(
            this.warnings,
            `${
              displayAt(at)
            }: task "${task.name}" runs on "${task.resource.name}" (${task.resource.service}) but is given ${bucket.uri}, a folder on this machine that it cannot reach there; use a cloud bucket, or run({ dataRoot }) to run locally`,
          );
        }
      });
    });
    const node: DAGNodeInit = {
      id,
      task: { name: task.name, module: task.module },
      executor: task.resource,
      inputs: depsOf({ t: "arr", items: args }),
      reads: [...reads],
      writes: [...writes],
      dynamic: this.#loops > 0,
      ...(this.#conds.length ? { condition: this.#conds.join(" && ") } : {}),
    };
    this.nodes.push(node);
    this.facts.set(id, { options: task.options });
    this.sites.set(id, { at, via: [...this.#via] });
    return { t: "ref", id, path: [] };
  }
}

// How a task body's helpers resolve: by the names in scope where the function is written.
function usageContextOf(
  fn: FnValue,
  member: (obj: Value, key: string) => Value,
  resolveImport: ImportResolver,
): UsageContext {
  const context: UsageContext = {
    locate: (node) => where(fn.module.parsed, node as Node),
    resolve: (callee) => {
      const value = evalName(callee as Node, fn.scope, member, resolveImport);
      return value?.t === "fn"
        ? { fn: value.node, context: usageContextOf(value, member, resolveImport) }
        : undefined;
    },
  };
  return context;
}

// A name or a chain of property names (`save`, `io.save`), without calling anything.
function evalName(
  node: Node,
  scope: Scope,
  member: (obj: Value, key: string) => Value,
  resolveImport: ImportResolver,
): Value | undefined {
  if (node.type === "Identifier") {
    const v = scope.get(node.name as string);
    return v?.t === "import" ? resolveImport(v.module, v.name) : v;
  }
  if (node.type === "MemberExpression" && !node.computed) {
    const obj = evalName(node.object as Node, scope, member, resolveImport);
    return obj ? member(obj, (node.property as Node).name as string) : undefined;
  }
  return undefined;
}

// The literal part of a value: object fields known only at run time are left out and named.
function partial(value: Value): { value: unknown; unknown: string[] } {
  if (value.t === "obj") {
    const out: Record<string, unknown> = {};
    const unknown: string[] = [];
    for (const [k, v] of value.props) {
      try {
        out[k] = toPlain(v);
      } catch (error) {
        if (!(error instanceof NotLiteral)) throw error;
        unknown.push(k);
      }
    }
    return { value: out, unknown };
  }
  try {
    return { value: toPlain(value), unknown: [] };
  } catch (error) {
    if (!(error instanceof NotLiteral)) throw error;
    return { value: undefined, unknown: ["(options)"] };
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function forEachBucket(value: Value, visit: (b: Bucket, nested: boolean) => void, nested = false): void {
  if (value.t === "real" && value.value instanceof Bucket) visit(value.value, nested);
  else if (value.t === "arr") value.items.forEach((v) => forEachBucket(v, visit, true));
  else if (value.t === "obj") value.props.forEach((v) => forEachBucket(v, visit, true));
  else if (value.t === "any") value.alts.forEach((v) => forEachBucket(v, visit, nested));
}

function member(value: Value, key: PathKey): Value {
  switch (value.t) {
    case "ref":
    case "dyn":
      return { t: value.t, id: value.id, path: [...value.path, key] };
    case "arr":
      return typeof key === "number" ? value.items[key] ?? { t: "lit", value: undefined } : UNKNOWN;
    case "obj":
      return value.props.get(String(key)) ?? { t: "lit", value: undefined };
    case "any":
      return union([...value.alts.map((a) => member(a, key)), ...(value.open ? [UNKNOWN] : [])]);
    case "lit":
      return value.value && typeof value.value === "object"
        ? fromPlain((value.value as Record<PathKey, unknown>)[key])
        : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

// An element of a list known only at run time, as tracing's stand-in gives it.
function elementOf(value: Value): Value {
  if (value.t === "dyn") return { t: "ref", id: value.id, path: [...value.path, 0] };
  if (value.t === "arr") return union(value.items);
  if (value.t === "any") return union([...value.alts.map(elementOf), ...(value.open ? [UNKNOWN] : [])]);
  return UNKNOWN;
}

// What `await v` gives: a ref becomes the run-time value of its call.
function awaited(value: Value, shallow = false): Value {
  switch (value.t) {
    case "ref":
      return { t: "dyn", id: value.id, path: value.path };
    case "arr":
      return shallow ? value : { t: "arr", items: value.items.map((v) => awaited(v, true)) };
    case "any":
      return union([...value.alts.map((v) => awaited(v, shallow)), ...(value.open ? [UNKNOWN] : [])]);
    default:
      return value;
  }
}

function litKey(value: Value): PathKey | undefined {
  if (value.t !== "lit") return undefined;
  if (typeof value.value === "number") return value.value;
  if (typeof value.value === "string") return /^\d+$/.test(value.value) ? Number(value.value) : value.value;
  return undefined;
}

function negate(text: string): string {
  if (/^!\(.*\)$/.test(text) && balanced(text.slice(2, -1))) return text.slice(2, -1);
  return /^[\w.$]+$/.test(text) ? `!${text}` : `!(${text})`;
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

function stepOf(update: Node, name?: string): number | undefined {
  const arg = update.type === "UpdateExpression" ? update.argument as Node : update.left as Node;
  if (!arg || arg.type !== "Identifier" || (name && arg.name !== name)) return undefined;
  if (update.type === "UpdateExpression") return update.operator === "++" ? 1 : -1;
  if (update.type === "AssignmentExpression" && (update.right as Node).type === "Literal") {
    const n = (update.right as Node).value;
    if (typeof n !== "number" || n === 0) return undefined;
    return update.operator === "+=" ? n : update.operator === "-=" ? -n : undefined;
  }
  return undefined;
}

function binary(op: string, a: unknown, b: unknown): Value {
  // deno-lint-ignore no-explicit-any
  const x = a as any, y = b as any;
  const ops: Record<string, () => unknown> = {
    "+": () => x + y,
    "-": () => x - y,
    "*": () => x * y,
    "/": () => x / y,
    "%": () => x % y,
    "**": () => x ** y,
    "===": () => x === y,
    "!==": () => x !== y,
    "==": () => x == y,
    "!=": () => x != y,
    "<": () => x < y,
    "<=": () => x <= y,
    ">": () => x > y,
    ">=": () => x >= y,
  };
  return ops[op] ? { t: "lit", value: ops[op]() } : UNKNOWN;
}

// Names assigned anywhere inside a node (not in nested functions).
function assignedNames(node: Node): string[] {
  const names = new Set<string>();
  const visit = (n: Node | null | undefined, fnDepth: number): void => {
    if (!n || typeof n.type !== "string") return;
    if (n.type === "AssignmentExpression" || n.type === "UpdateExpression") {
      patternNames(n.type === "AssignmentExpression" ? n.left as Node : n.argument as Node, names);
    }
    for (const key in n) {
      if (key === "loc") continue;
      const child = n[key];
      if (Array.isArray(child)) child.forEach((c) => c && typeof c.type === "string" && visit(c, fnDepth));
      else if (child && typeof (child as Node).type === "string") visit(child as Node, fnDepth);
    }
  };
  visit(node, 0);
  return [...names];
}

function patternNames(p: Node, out: Set<string>): void {
  switch (p.type) {
    case "Identifier":
      out.add(p.name as string);
      break;
    case "ArrayPattern":
      (p.elements as (Node | null)[]).forEach((e) => e && patternNames(e, out));
      break;
    case "ObjectPattern":
      (p.properties as Node[]).forEach((q) =>
        patternNames(q.type === "RestElement" ? q : q.value as Node, out)
      );
      break;
    case "RestElement":
      patternNames(p.argument as Node, out);
      break;
    case "AssignmentPattern":
      patternNames(p.left as Node, out);
      break;
  }
}

// A call position (`url:line:col`) as a path relative to the working directory.
function displayAt(at: string): string {
  const m = /^(.*):(\d+):(\d+)$/.exec(at);
  return m ? `${displayPath(m[1])}:${m[2]}:${m[3]}` : at;
}

// Where V8 places a call in a stack frame: at the callee's name (the property
// of a member call), 1-based, as `url:line:col`.
function callPosition(module: ModuleRecord, e: Node): string {
  const callee = e.callee as Node | undefined;
  const target = callee?.type === "MemberExpression" ? callee.property as Node : callee ?? e;
  const start = target.loc?.start ?? e.loc?.start;
  return `${module.parsed.url}:${start?.line ?? 0}:${(start?.column ?? 0) + 1}`;
}
