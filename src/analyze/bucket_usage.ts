/**
 * How a task uses its parameters as buckets: read from its source. A
 * parameter on which the body calls `scan`/`scanArrow`/`localPath`/`read`/`list`/`exists` is read;
 * `write`/`put`/`delete` is written. This gives the DAG its sources and
 * sinks and generated IAM its least privilege.
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

/** How a function uses each of its parameters. */
export interface ParamUsage {
  /** Parameter names by position; `undefined` for a destructured or rest parameter. */
  readonly params: readonly (string | undefined)[];
  /** Access per parameter name, for those the body calls bucket methods on. */
  readonly access: ReadonlyMap<string, Access>;
  /** Parameters the body uses other than by calling bucket methods (passed on, stored, destructured). */
  readonly escapes: ReadonlySet<string>;
}

const READS = new Set(["scan", "scanArrow", "localPath", "read", "list", "exists"]);
const WRITES = new Set(["write", "put", "delete"]);
const cache = new WeakMap<object, ParamUsage>();

type Node = acorn.Node & Record<string, unknown>;

/**
 * Reads a function's source and tells how it uses its parameters.
 *
 * @param source The function's source text (JavaScript, as the runtime gives it).
 * @returns Parameter names and their bucket access; empty when the source cannot be parsed.
 */
export function paramUsage(source: string): ParamUsage {
  const fn = parseFunction(source);
  if (!fn) return { params: [], access: new Map(), escapes: new Set() };
  const params = (fn.params as Node[]).map((p) =>
    p.type === "Identifier"
      ? p.name as string
      : p.type === "AssignmentPattern" && (p.left as Node).type === "Identifier"
      ? (p.left as Node).name as string
      : undefined
  );
  const access = new Map<string, Access>();
  const seen = new Map<string, number>(); // references per parameter
  const understood = new Map<string, number>(); // of which, bucket-method roots
  walk(fn.body as Node, (node) => {
    if (node.type === "Identifier" && params.includes(node.name as string)) {
      seen.set(node.name as string, (seen.get(node.name as string) ?? 0) + 1);
    }
    if (node.type === "MemberExpression" && !node.computed && (node.property as Node).type === "Identifier") {
      // `x.param` is a property name, not a reference to the parameter.
      const name = (node.property as Node).name as string;
      if (params.includes(name)) seen.set(name, (seen.get(name) ?? 0) - 1);
    }
    if (node.type !== "CallExpression") return;
    const callee = node.callee as Node;
    if (callee.type !== "MemberExpression" || callee.computed) return;
    const method = (callee.property as Node).name as string;
    const isRead = READS.has(method), isWrite = WRITES.has(method);
    if (!isRead && !isWrite) return;
    const root = rootName(callee.object as Node);
    if (root === undefined || !params.includes(root)) return;
    understood.set(root, (understood.get(root) ?? 0) + 1);
    const entry = access.get(root) ?? { read: false, write: false };
    entry.read ||= isRead;
    entry.write ||= isWrite;
    access.set(root, entry);
  });
  const escapes = new Set(
    [...seen].filter(([name, n]) => n > (understood.get(name) ?? 0)).map(([name]) => name),
  );
  return { params, access, escapes };
}

/**
 * The access of a task to the bucket given at an argument position. Unknown
 * use (passed on, destructured, a rest parameter) counts as both, so nothing
 * is under-granted; an unused parameter is neither.
 */
export function accessAt(key: object, source: string, index: number): Access {
  let usage = cache.get(key);
  if (!usage) cache.set(key, usage = paramUsage(source));
  const name = usage.params[index];
  if (name === undefined || usage.escapes.has(name)) return { read: true, write: true };
  return usage.access.get(name) ?? { read: false, write: false };
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

function rootName(node: Node): string | undefined {
  let current = node;
  for (;;) {
    if (current.type === "Identifier") return current.name as string;
    if (current.type === "MemberExpression") current = current.object as Node;
    else if (current.type === "CallExpression") current = current.callee as Node;
    else if (current.type === "AwaitExpression") current = current.argument as Node;
    else return undefined;
  }
}

/** Visits every node of an ESTree, parents first. */
export function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const key in node) {
    if (key === "loc" || key === "range") continue;
    const child = node[key];
    if (Array.isArray(child)) {
      for (const item of child) if (item && typeof item.type === "string") walk(item, visit);
    } else if (child && typeof (child as Node).type === "string") {
      walk(child as Node, visit);
    }
  }
}
