/**
 * `Ref<T>`: the placeholder a task call returns inside a pipeline. A ref can be
 * passed to other tasks (also inside arrays and plain objects), destructured,
 * returned and awaited. Property access gives a derived ref (`ref.total`,
 * `ref[0]`) that resolves to that part of the value.
 *
 * @module
 */
import { GlacierError } from "../errors.ts";
import { polarsKind } from "../data/polars_codec.ts";

/** The type brand of a {@linkcode Ref}; exists only in types. */
export declare const refType: unique symbol;

/** What every {@linkcode Ref} has: it is awaitable and carries its value's type. */
export interface RefBase<T> extends PromiseLike<T> {
  /** The type of the value; never present at run time. */
  readonly [refType]: T;
}

/**
 * The fields of a ref: a tuple of refs for a tuple, a ref per field for an
 * object. Functions are not mapped: `ref.map(...)` on an unawaited ref is a mistake.
 */
export type RefFields<T> = T extends readonly unknown[] ? (number extends T["length"] ? RefArray<T[number]>
    : { readonly [K in keyof T]: Ref<T[K]> })
  : T extends (...args: never[]) => unknown ? unknown
  : T extends object
    ? { readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Ref<T[K]> }
  : unknown;

/** The fields of a ref to an array of unknown length: indexable and iterable. */
export interface RefArray<E> extends Iterable<Ref<E>> {
  /** The element at an index, as a ref. */
  readonly [index: number]: Ref<E>;
  /** The length, as a ref. */
  readonly length: Ref<number>;
}

/**
 * A placeholder for the value a task call will produce. `await ref` gives the
 * value: in a run it executes what that value needs first; in tracing
 * analysis it marks the rest of the pipeline as dynamic.
 */
export type Ref<T> = RefBase<T> & RefFields<T>;

/** A value that may hold refs anywhere inside arrays and plain objects. */
export type Input<T> =
  | T
  | Ref<T>
  | (T extends readonly unknown[] ? { [K in keyof T]: Input<T[K]> }
    : T extends (...args: never[]) => unknown ? never
    : T extends object ? { [K in keyof T]: Input<T[K]> }
    : never);

/** A task's parameter list, each parameter also accepting refs. */
export type Inputs<A extends readonly unknown[]> = { [K in keyof A]: Input<A[K]> };

/** A value with every ref inside replaced by the value it stands for. */
export type Resolved<T> = T extends RefBase<infer V> ? V
  : T extends PromiseLike<infer V> ? Resolved<V>
  : T extends readonly unknown[] ? { [K in keyof T]: Resolved<T[K]> }
  : T extends (...args: never[]) => unknown ? T
  : T extends object ? { [K in keyof T]: Resolved<T[K]> }
  : T;

/** The run-time side of a ref: which recorded call it stands for and the path into its value. */
export interface RefSource {
  /** The call-site id of the node, such as `clean` or `processFile#3`. */
  readonly nodeId: string;
  /** The task's name. */
  readonly taskName: string;
  /**
   * What `await ref` gives: in a run, the value at `path` (executing what it
   * needs first); in tracing analysis, a symbolic stand-in.
   */
  resolve(path: readonly PathKey[]): Promise<unknown>;
}

/** One step into a value: a property name or an array index. */
export type PathKey = string | number;

/** A ref's state behind the proxy. */
export interface RefState {
  readonly source: RefSource;
  readonly path: readonly PathKey[];
}

const STATE = Symbol("glacier.ref");

/**
 * The key a value answers with its {@linkcode RefState} to count as a ref:
 * refs do, and so do tracing's stand-ins for awaited values (a stand-in is
 * its call's value at its path, so a call given one depends on that call).
 */
export const REF_STATE: symbol = STATE;
const MAX_DESTRUCTURE = 10_000;

/** Returns the state behind a ref, or undefined for any other value. */
export function refState(value: unknown): RefState | undefined {
  if ((typeof value === "function" || typeof value === "object") && value !== null) {
    return (value as { [STATE]?: RefState })[STATE];
  }
  return undefined;
}

/** Whether a value is a ref. */
export function isRef(value: unknown): boolean {
  return refState(value) !== undefined;
}

/** Follows a ref's path into a resolved value. */
export function followPath(value: unknown, path: readonly PathKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || current === undefined) return undefined;
    current = (current as Record<PathKey, unknown>)[key];
  }
  return current;
}

function describe(state: RefState): string {
  return state.source.nodeId + state.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("");
}

type Target = () => void;

const handler: ProxyHandler<Target> = {
  get(target, key) {
    const state = (target as unknown as { [STATE]: RefState })[STATE];
    if (key === STATE) return state;
    if (key === "then") {
      return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
        state.source.resolve(state.path).then(onFulfilled, onRejected);
    }
    if (key === Symbol.iterator) {
      return function* () {
        for (let i = 0; i < MAX_DESTRUCTURE; i++) yield makeRef(state.source, [...state.path, i]);
        throw new GlacierError(
          "USER:REF_DESTRUCTURE",
          `Ref "${
            describe(state)
          }" was destructured past ${MAX_DESTRUCTURE} items: a rest element (...rest) on a ref cannot know the length; await the ref first`,
        );
      };
    }
    if (key === Symbol.toPrimitive) {
      return () => {
        throw new GlacierError(
          "USER:REF_USED_AS_VALUE",
          `Ref "${
            describe(state)
          }" was used as a plain value (in arithmetic, a comparison or a string) inside the pipeline; await it first (const v = await ${state.source.taskName}(...)) or do the work in a task`,
        );
      };
    }
    if (key === "toJSON") return () => ({ $ref: describe(state) });
    if (typeof key === "symbol") {
      if (key === Symbol.for("Deno.customInspect") || key === Symbol.for("nodejs.util.inspect.custom")) {
        return () => `Ref(${describe(state)})`;
      }
      return undefined;
    }
    return makeRef(state.source, [...state.path, /^\d+$/.test(key) ? Number(key) : key]);
  },
  apply(_target, _thisArg, _args) {
    throw new GlacierError(
      "USER:REF_CALLED",
      "A Ref was called like a function inside the pipeline: to use the value (for example files.map(...)), await the task's result first",
    );
  },
  set(_target, key) {
    throw new GlacierError(
      "USER:REF_READONLY",
      `Cannot set "${String(key)}" on a Ref: refs are read-only placeholders`,
    );
  },
  has(_target, key) {
    return key === STATE || key === "then";
  },
};

/** Builds a ref for a recorded call, optionally a derived one with a path. */
export function makeRef<T>(source: RefSource, path: readonly PathKey[] = []): Ref<T> {
  // The state rides on a per-ref function target: the shared handler reads it
  // there, and the apply trap can explain `ref.map(fn)` on an unawaited ref.
  const own = function glacierRef() {} as Target & { [STATE]: RefState };
  own[STATE] = { source, path };
  return new Proxy(own, handler) as unknown as Ref<T>;
}

/**
 * Whether a value is a plain object (tracing looks inside these and arrays,
 * nothing else). A polars DataFrame is not one, though nodejs-polars builds
 * it on `Object.prototype`: its properties are columns, read on access.
 */
export function isPlainContainer(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && polarsKind(value) === undefined;
}

/** Calls `visit` on every ref inside a value (arrays and plain objects, any depth). */
export function forEachRef(value: unknown, visit: (state: RefState) => void): void {
  const state = refState(value);
  if (state) return visit(state);
  if (Array.isArray(value)) {
    for (const item of value) forEachRef(item, visit);
  } else if (isPlainContainer(value)) {
    for (const key in value) forEachRef(value[key], visit);
  }
}

/** Replaces every ref inside a value with its value, given a lookup of resolved node values. */
export function substitute(value: unknown, lookup: (state: RefState) => unknown): unknown {
  const state = refState(value);
  if (state) return followPath(lookup(state), state.path);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = substitute(value[i], lookup);
      if (next !== value[i]) (out ??= value.slice())[i] = next;
    }
    return out ?? value;
  }
  if (isPlainContainer(value)) {
    let out: Record<string, unknown> | undefined;
    for (const key in value) {
      const next = substitute(value[key], lookup);
      if (next !== value[key]) (out ??= { ...value })[key] = next;
    }
    return out ?? value;
  }
  return value;
}

/** Awaits every ref inside a value and returns the value with refs replaced. */
export async function resolveAll<T>(value: T): Promise<unknown> {
  const states: RefState[] = [];
  forEachRef(value, (state) => states.push(state));
  if (states.length === 0) return value;
  const values = new Map<RefState["source"], unknown>();
  await Promise.all(states.map(async (state) => {
    if (!values.has(state.source)) values.set(state.source, undefined);
    values.set(state.source, await state.source.resolve([]));
  }));
  return substitute(value, (state) => values.get(state.source));
}
