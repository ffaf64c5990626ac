// The abstract values of static analysis. Glacier's own objects (providers,
// resources, buckets, configs) are real: they are built with Glacier's code
// from literal arguments, so names and URIs are exactly what a run gives.
import type { ExecutionResource } from "../resources/execution.ts";
import type { Node, ParsedModule } from "./_source.ts";

/** One step into a value. */
export type PathKey = string | number;

/** A task declaration found in the source. */
export interface TaskValue {
  readonly t: "task";
  readonly name: string;
  readonly module: string;
  readonly resource: ExecutionResource;
  readonly options: Readonly<Record<string, unknown>>;
  /** The function's JavaScript (types blanked), for bucket usage. */
  readonly source: string;
  /** The function as written, when it is: its body is read for bucket usage through helpers. */
  readonly fn?: FnValue;
}

/** A `pipeline(...)` call found in the source. */
export interface PipelineValue {
  readonly t: "pipeline";
  readonly name: string | undefined;
  /** The literal part of its options (`description`, `config`); fields known only at run time are left out. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly module: string;
  readonly fn: Value;
  readonly where: string;
}

/** A function written in the source; calls to it are analyzed in place. */
export interface FnValue {
  readonly t: "fn";
  readonly node: Node;
  readonly scope: Scope;
  readonly module: ModuleRecord;
  readonly name?: string;
}

/** An abstract value. */
export type Value =
  | { readonly t: "lit"; readonly value: unknown }
  | { readonly t: "ref"; readonly id: string; readonly path: readonly PathKey[] }
  | { readonly t: "dyn"; readonly id: string; readonly path: readonly PathKey[] }
  | { readonly t: "arr"; readonly items: Value[] }
  | { readonly t: "obj"; readonly props: Map<string, Value> }
  | { readonly t: "any"; readonly alts: readonly Value[]; readonly open?: boolean }
  | { readonly t: "unknown" }
  | { readonly t: "real"; readonly value: object }
  | { readonly t: "glacier"; readonly name: string }
  | { readonly t: "ns"; readonly module?: ModuleRecord; readonly glacier: boolean }
  | { readonly t: "import"; readonly module: ModuleRecord; readonly name: string }
  | TaskValue
  | PipelineValue
  | FnValue;

/** What module evaluation keeps per module. */
export interface ModuleRecord {
  readonly parsed: ParsedModule;
  readonly scope: Scope;
  /** Exported name → local binding name. */
  readonly exports: Map<string, string>;
  /** Exported name → re-export from another module. */
  readonly reexports: Map<string, { module: ModuleRecord | "glacier" | "external"; name: string }>;
  /** `export * from` targets. */
  readonly stars: (ModuleRecord | "glacier")[];
  evaluated: boolean;
}

export const UNKNOWN: Value = Object.freeze({ t: "unknown" });

/** A lexical scope: names to values, with the enclosing scope. */
export class Scope {
  readonly vars = new Map<string, Value>();
  readonly parent?: Scope;
  constructor(parent?: Scope) {
    this.parent = parent;
  }
  owner(name: string): Scope | undefined {
    if (this.vars.has(name)) return this;
    return this.parent?.owner(name);
  }
  get(name: string): Value | undefined {
    return this.owner(name)?.vars.get(name);
  }
  declare(name: string, value: Value): void {
    this.vars.set(name, value);
  }
  assign(name: string, value: Value): void {
    (this.owner(name) ?? this).vars.set(name, value);
  }
}

const MAX_ALTS = 32;

/** One of several values (branches); `open` when it may also be something unknown. */
export function union(values: readonly Value[]): Value {
  const alts: Value[] = [];
  let open = false;
  const add = (v: Value) => {
    if (v.t === "any") {
      open ||= v.open === true;
      return v.alts.forEach(add);
    }
    if (v.t === "unknown") {
      open = true;
      return;
    }
    if (alts.some((a) => a === v || same(a, v))) return;
    if (alts.length < MAX_ALTS) alts.push(v);
  };
  values.forEach(add);
  if (alts.length === 0) return UNKNOWN;
  if (alts.length === 1 && !open) return alts[0];
  return open ? { t: "any", alts, open } : { t: "any", alts };
}

function same(a: Value, b: Value): boolean {
  if (a.t === "lit" && b.t === "lit") return Object.is(a.value, b.value);
  if ((a.t === "ref" || a.t === "dyn") && a.t === b.t) {
    return a.id === b.id && a.path.length === b.path.length && a.path.every((k, i) => k === b.path[i]);
  }
  if (a.t === "real" && b.t === "real") return a.value === b.value;
  return false;
}

/** Every node id a value holds refs to, in order, once each (as tracing's forEachRef). */
export function depsOf(value: Value, out: string[] = []): string[] {
  switch (value.t) {
    case "ref":
    case "dyn": // an awaited output passed on is still that call's output
      if (!out.includes(value.id)) out.push(value.id);
      break;
    case "arr":
      value.items.forEach((v) => depsOf(v, out));
      break;
    case "obj":
      value.props.forEach((v) => depsOf(v, out));
      break;
    case "any":
      value.alts.forEach((v) => depsOf(v, out));
      break;
  }
  return out;
}

/** Whether a value holds a ref anywhere. */
export function hasRef(value: Value): boolean {
  return depsOf(value).length > 0;
}

/** Tasks among the alternatives of a value. */
export function tasksIn(value: Value): TaskValue[] {
  if (value.t === "task") return [value];
  if (value.t === "any") return value.alts.filter((v): v is TaskValue => v.t === "task");
  if (value.t === "arr") return value.items.flatMap(tasksIn);
  if (value.t === "obj") return [...value.props.values()].flatMap(tasksIn);
  return [];
}

/** Thrown by {@linkcode toPlain} for a value that is not known literally. */
export class NotLiteral extends Error {}

/** The plain JavaScript value of a literal value (objects, arrays, Glacier objects). */
export function toPlain(value: Value): unknown {
  switch (value.t) {
    case "lit":
      return value.value;
    case "real":
      return value.value;
    case "arr":
      return value.items.map(toPlain);
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value.props) out[k] = toPlain(v);
      return out;
    }
    default:
      throw new NotLiteral(value.t);
  }
}

/** A value made from a plain JavaScript value. */
export function fromPlain(value: unknown): Value {
  if (Array.isArray(value)) return { t: "arr", items: value.map(fromPlain) };
  if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return { t: "obj", props: new Map(Object.entries(value).map(([k, v]) => [k, fromPlain(v)])) };
    }
    return { t: "real", value };
  }
  if (typeof value === "function") return UNKNOWN;
  return { t: "lit", value };
}
