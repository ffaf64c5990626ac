/**
 * How a task uses its parameters as buckets, read from its source. A call of
 * `scan`/`scanArrow`/`localPath`/`read`/`list`/`exists` on a parameter is a
 * read; `write`/`put`/`delete` is a write; `.at(key)` moves the use to that
 * key (literal, or a computed key under a literal prefix); `.uri`, `.bucket`
 * and `.path` are no I/O. A bucket passed on to a helper function keeps the
 * helper's direction when the caller can resolve the helper (static
 * analysis does); any other use counts as both, so nothing is under-granted.
 * This gives the DAG its sources and sinks and generated IAM its least
 * privilege.
 *
 * @module
 */
import * as acorn from "acorn";

/** Read and write use of one parameter. */
export interface Access {
  /** The task reads through it. */
  read: boolean;
  /** The task writes through it. */
  write: boolean;
}

/** Which object of a bucket a use reaches. */
export type KeyUse =
  | { readonly kind: "self" }
  | { readonly kind: "exact"; readonly key: string; readonly node?: Node }
  | { readonly kind: "prefix"; readonly prefix: string; readonly node?: Node }
  | { readonly kind: "unknown"; readonly text: string; readonly node?: Node };

/** One read or write through a bucket parameter. */
export interface BucketUse {
  /** A write (`write`, `put`, `delete`), else a read. */
  readonly write: boolean;
  /** Where, relative to the bucket passed. */
  readonly key: KeyUse;
  /** `file:line:col` of the key, when the caller can locate it. */
  readonly where?: string;
}

/** What a parameter is used for: its reads and writes, or `escapes` when it is used in a way not followed. */
export type ParamUses = readonly BucketUse[] | "escapes";

/** How static analysis resolves helper functions a task body calls, and where nodes are written. */
export interface UsageContext {
  /** The function a callee expression names, with the context of its own module; undefined when unknown. */
  readonly resolve?: (callee: Node) => { fn: Node; context: UsageContext } | undefined;
  /** `file:line:col` of a node. */
  readonly locate?: (node: Node) => string;
}

/** The storage URIs a bucket argument gives a task, and the keys that could not be known. */
export interface BucketGrants {
  /** URIs read (a URI ending in `/` or holding `*` is a prefix). */
  readonly reads: readonly string[];
  /** URIs written. */
  readonly writes: readonly string[];
  /** Computed keys under a literal prefix, granted as that prefix. */
  readonly prefixes: readonly BucketUse[];
  /** Keys known only at run time, granted as the bucket's own URI. */
  readonly unknown: readonly BucketUse[];
}

/** An ESTree node. */
export type Node = acorn.Node & Record<string, unknown> & { loc?: acorn.SourceLocation };

const READS = new Set(["scan", "scanArrow", "localPath", "read", "list", "exists"]);
const WRITES = new Set(["write", "put", "delete"]);
const INERT = new Set(["uri", "bucket", "path", "isPattern", "location"]);
const MAX_HELPER_DEPTH = 8;
const cache = new WeakMap<object, Map<number, ParamUses>>();
const parsed = new WeakMap<object, Node | null>();

/**
 * The reads and writes a function makes through its parameter at `index`.
 *
 * @param fn The function's ESTree node.
 * @param index The parameter's position.
 * @param context How helpers are resolved and nodes located.
 * @returns The uses, or `escapes`.
 */
export function usesOf(fn: Node, index: number, context: UsageContext = {}, depth = 0): ParamUses {
  const params = fn.params as Node[];
  const param = params[index];
  if (!param) return params.some((p) => p.type === "RestElement") ? "escapes" : [];
  const name = param.type === "Identifier"
    ? param.name as string
    : param.type === "AssignmentPattern" && (param.left as Node).type === "Identifier"
    ? (param.left as Node).name as string
    : undefined;
  if (name === undefined) return "escapes";
  const parents = new Map<Node, Node>();
  const refs = new Map<string, Node[]>();
  const consts = new Map<string, Node>();
  walk(fn.body as Node, (node, parent) => {
    if (parent) parents.set(node, parent);
    if (node.type === "VariableDeclarator" && (node.id as Node).type === "Identifier" && node.init) {
      consts.set((node.id as Node).name as string, node.init as Node);
    }
    if (node.type !== "Identifier" || !parent || !isReference(node, parent)) return;
    const list = refs.get(node.name as string) ?? [];
    list.push(node);
    refs.set(node.name as string, list);
  });
  const uses: BucketUse[] = [];
  const seen = new Set<string>();
  const work: [string, KeyUse][] = [[name, { kind: "self" }]];
  const located = (key: KeyUse): BucketUse["where"] =>
    key.kind !== "self" && key.node && context.locate ? context.locate(key.node) : undefined;
  while (work.length) {
    const [variable, base] = work.pop()!;
    if (seen.has(variable)) continue;
    seen.add(variable);
    for (const ref of refs.get(variable) ?? []) {
      let expr: Node = ref, key = base;
      for (;;) {
        const parent = parents.get(expr);
        if (!parent) return "escapes";
        if (parent.type === "ChainExpression" || parent.type === "ParenthesizedExpression") {
          expr = parent;
          continue;
        }
        if (parent.type === "MemberExpression" && parent.object === expr && !parent.computed) {
          const prop = (parent.property as Node).name as string;
          const call = parents.get(parent);
          const called = call?.type === "CallExpression" && call.callee === parent;
          if (called && (READS.has(prop) || WRITES.has(prop))) {
            const where = located(key);
            uses.push({ write: WRITES.has(prop), key, ...(where ? { where } : {}) });
            break;
          }
          if (called && prop === "at") {
            key = keyOf((call.arguments as Node[])[0], consts);
            expr = call;
            continue;
          }
          if (!called && INERT.has(prop)) break;
          return "escapes";
        }
        if (parent.type === "CallExpression" && parent.callee !== expr) {
          const at = (parent.arguments as Node[]).indexOf(expr);
          const helper = depth < MAX_HELPER_DEPTH ? context.resolve?.(parent.callee as Node) : undefined;
          if (at < 0 || !helper) return "escapes";
          const inner = usesOf(helper.fn, at, helper.context, depth + 1);
          if (inner === "escapes") return "escapes";
          for (const u of inner) {
            const where = u.key.kind === "self" ? located(key) : u.where;
            uses.push({
              write: u.write,
              key: u.key.kind === "self" ? key : u.key,
              ...(where ? { where } : {}),
            });
          }
          break;
        }
        if (
          parent.type === "VariableDeclarator" && parent.init === expr &&
          (parent.id as Node).type === "Identifier"
        ) {
          work.push([(parent.id as Node).name as string, key]);
          break;
        }
        return "escapes";
      }
    }
  }
  return uses;
}

/**
 * The uses of the parameter at `index` of a function given as source text
 * (as the runtime gives it), cached per `key`. Helpers are not resolved.
 *
 * @param key What the result is cached by (the task).
 * @param source The function's source.
 * @param index The parameter's position.
 * @returns The uses, or `escapes` (also when the source cannot be parsed).
 */
export function usesAt(key: object, source: string, index: number): ParamUses {
  let byIndex = cache.get(key);
  if (!byIndex) cache.set(key, byIndex = new Map());
  let uses = byIndex.get(index);
  if (uses === undefined) {
    let fn = parsed.get(key);
    if (fn === undefined) parsed.set(key, fn = parseFunction(source) ?? null);
    uses = fn ? usesOf(fn, index) : "escapes";
    byIndex.set(index, uses);
  }
  return uses;
}

/**
 * The access of a task to the bucket given at an argument position. Unknown
 * use (stored, destructured, a rest parameter, passed to an unknown
 * function) counts as both, so nothing is under-granted; an unused parameter,
 * or one whose `uri` is only read, is neither.
 */
export function accessAt(key: object, source: string, index: number): Access {
  return accessOf(usesAt(key, source, index));
}

/** Read and write of a parameter's uses. */
export function accessOf(uses: ParamUses): Access {
  if (uses === "escapes") return { read: true, write: true };
  return { read: uses.some((u) => !u.write), write: uses.some((u) => u.write) };
}

/**
 * The URIs a bucket gets granted for a parameter's uses: its own URI, a
 * literal key under it, or a computed key's literal prefix (as `prefix*`, or
 * the prefix itself when it ends in `/`). A key known only at run time is
 * granted the bucket's own URI and listed in `unknown`.
 *
 * @param bucket The bucket passed.
 * @param uses The parameter's uses.
 * @returns The URIs read and written.
 */
export function bucketGrants(
  bucket: { readonly uri: string; at(path: string): { readonly uri: string } },
  uses: ParamUses,
): BucketGrants {
  if (uses === "escapes") return { reads: [bucket.uri], writes: [bucket.uri], prefixes: [], unknown: [] };
  const reads = new Set<string>(), writes = new Set<string>();
  const prefixes: BucketUse[] = [], unknown: BucketUse[] = [];
  for (const use of uses) {
    const k = use.key;
    let uri = bucket.uri;
    if (k.kind === "exact") uri = bucket.at(k.key).uri;
    else if (k.kind === "prefix") {
      const at = bucket.at(k.prefix).uri;
      uri = at.endsWith("/") ? at : `${at}*`;
      prefixes.push(use);
    } else if (k.kind === "unknown") unknown.push(use);
    (use.write ? writes : reads).add(uri);
  }
  return { reads: [...reads], writes: [...writes], prefixes, unknown };
}

// The key an `.at(...)` argument names.
function keyOf(node: Node | undefined, consts: Map<string, Node>, depth = 0): KeyUse {
  const unknown: KeyUse = {
    kind: "unknown",
    text: node ? sourceText(node) : "(no key)",
    ...(node ? { node } : {}),
  };
  if (!node || depth > 8) return unknown;
  if (node.type === "Literal" && typeof node.value === "string") {
    return { kind: "exact", key: node.value, node };
  }
  if (node.type === "TemplateLiteral") {
    const quasis = node.quasis as Node[];
    const head = (quasis[0].value as { cooked: string | null }).cooked ?? "";
    if ((node.expressions as Node[]).length === 0) return { kind: "exact", key: head, node };
    return head ? { kind: "prefix", prefix: head, node } : unknown;
  }
  if (node.type === "BinaryExpression" && node.operator === "+") {
    const left = keyOf(node.left as Node, consts, depth + 1);
    if (left.kind === "exact") {
      const right = keyOf(node.right as Node, consts, depth + 1);
      if (right.kind === "exact") return { kind: "exact", key: left.key + right.key, node };
      return left.key ? { kind: "prefix", prefix: left.key, node } : unknown;
    }
    return left.kind === "prefix" ? { kind: "prefix", prefix: left.prefix, node } : unknown;
  }
  if (node.type === "Identifier" && consts.has(node.name as string)) {
    const inner = keyOf(consts.get(node.name as string), consts, depth + 1);
    return inner.kind === "unknown" || inner.kind === "self" ? unknown : { ...inner, node };
  }
  return unknown;
}

function sourceText(node: Node): string {
  return node.type === "Identifier" ? node.name as string : `${node.type} at ${node.start}`;
}

// An identifier that names a variable here (not a property name, a key or a declaration).
function isReference(node: Node, parent: Node): boolean {
  if (parent.type === "MemberExpression") return parent.object === node || parent.computed === true;
  if (parent.type === "Property") return parent.value === node || parent.computed === true;
  if (parent.type === "VariableDeclarator") return parent.init === node;
  if (/Function|Class|Label|MethodDefinition|PropertyDefinition/.test(parent.type)) {
    return parent.type === "ArrowFunctionExpression" && parent.body === node;
  }
  return true;
}

function parseFunction(source: string): Node | undefined {
  for (
    const text of [`(${source})`, `({${source}})`, `(${source.replace(/^async\s+/, "async function ")})`]
  ) {
    try {
      const program = acorn.parse(text, { ecmaVersion: "latest", sourceType: "module" }) as unknown as Node;
      let found: Node | undefined;
      walk(program, (node) => {
        if (!found && /Function(Expression|Declaration)$|ArrowFunctionExpression/.test(node.type)) {
          found = node;
        }
      });
      if (found) return found;
    } catch {
      // try the next wrapping (methods parse only inside an object literal)
    }
  }
  return undefined;
}

/** Visits every node of an ESTree, parents first, each with its parent. */
export function walk(node: Node, visit: (node: Node, parent?: Node) => void, parent?: Node): void {
  visit(node, parent);
  for (const key in node) {
    if (key === "loc" || key === "range") continue;
    const child = node[key];
    if (Array.isArray(child)) {
      for (const item of child) if (item && typeof item.type === "string") walk(item, visit, node);
    } else if (child && typeof (child as Node).type === "string") {
      walk(child as Node, visit, node);
    }
  }
}
