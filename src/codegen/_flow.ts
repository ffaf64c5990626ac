// The orchestration view of a pipeline, shared by the Step Functions, Airflow,
// Prefect and Dagster generators: each DAG node with how it is reached, its
// retries and timeout, its condition, and whether it maps over a runtime list.
//
// Every orchestrator sends the same Glacier orchestrator payload
// (executors/_replay.ts OrchestratorPayload: version, pipeline, runId,
// nodeId, task, module, source (the module exporting the pipeline), attempt,
// params, staging, output, outputLimitBytes, item). The runner replays the pipeline function with `params` to rebuild
// the call's arguments (literals and buckets from the user's code), reads
// upstream outputs from `<staging><key>.out` (a mapped node's from
// `<staging><key>/<index>.out`), writes its output to `<staging><output>`
// and returns the value when it fits `outputLimitBytes`, else
// `{ "$ref": <uri> }`. `args` lists the upstream outputs the call reads
// (`{ "$ref": "<key>.out" }`, `{ "$refs": "<key>/" }`), for people reading
// the definitions; the replay finds them itself. A mapped call's `item` is
// `{ "value", "index" }`, or `{ "index" }` alone (Airflow), for which the
// runner reads the element from the list's staged output.
import type { DAGNode } from "../dag.ts";
import { GlacierError } from "../errors.ts";
import { type FlowVia, serviceRecord } from "../config/services.ts";
import { type ExecutorModel, ident, type InfraModel } from "./_model.ts";
import { pyStr } from "./_escape.ts";

/** A parsed condition on the pipeline's params. */
export type Cond =
  | { readonly op: "truthy"; readonly path: readonly string[] }
  | { readonly op: "not"; readonly c: Cond }
  | { readonly op: "and" | "or"; readonly a: Cond; readonly b: Cond }
  | {
    readonly op: "eq" | "ne";
    readonly path: readonly string[];
    readonly value: string | number | boolean | null;
  };

/** One node as an orchestrator sees it. */
export interface FlowNode {
  readonly node: DAGNode;
  /** A safe identifier (Python name, ASL key, staging file name). */
  readonly key: string;
  /** The node id with every character but letters, digits and `_` replaced (Airflow task ids, Dagster op names). */
  readonly name: string;
  /** Ids of its upstream nodes, in the order it takes their values. */
  readonly inputs: readonly string[];
  readonly executor: ExecutorModel;
  /** How it is reached: the service table's `flow` for its service. */
  readonly via: FlowVia;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs?: number;
  readonly condition?: Cond;
  /** For a dynamic fan-out: the upstream node whose output list it maps over. */
  readonly mapOver?: string;
  /** Upstream nodes that are mapped (their outputs are gathered as a list). */
  readonly gathers: readonly string[];
}

const REACHABLE: Record<FlowNode["via"], string> = {
  lambda: "a Lambda function",
  databricks: "a Databricks cluster",
  ssh: "a VM",
  local: "provider.local()",
};

function listOr(items: string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** The Glacier payload schema version (executors/runner.ts PAYLOAD_VERSION). */
export const PAYLOAD_VERSION = 2;
/** Step Functions' payload cap; outputs past it travel as staging references. */
export const OUTPUT_LIMIT_BYTES = 262_144;

/**
 * The flow of a model, in topological order.
 *
 * @throws {GlacierError} When a node runs on a service the orchestrator cannot reach, or has a condition it cannot express.
 */
export function buildFlow(
  model: InfraModel,
  orchestrator: string,
  supported: readonly FlowNode["via"][],
): FlowNode[] {
  const byNode = new Map<string, ExecutorModel>();
  for (const e of model.executors) for (const t of e.tasks) byNode.set(t.node.id, e);
  const nodes = model.executors.flatMap((e) => e.tasks);
  const order = new Map(model.order.map((id, i) => [id, i]));
  const sorted = [...nodes].sort((a, b) => order.get(a.node.id)! - order.get(b.node.id)!);
  const dynamic = new Set(sorted.filter((t) => t.node.dynamic).map((t) => t.node.id));
  const keys = new Set<string>();
  const mapped = new Set<string>();
  const out: FlowNode[] = [];
  for (const t of sorted) {
    const executor = byNode.get(t.node.id)!;
    const via = serviceRecord(executor.resource.service)?.flow;
    if (!via || !supported.includes(via)) {
      throw new GlacierError(
        "USER:DEPLOY_UNSUPPORTED",
        `Cannot deploy pipeline "${model.pipeline}" to ${orchestrator}: task "${t.node.task.name}" (node "${t.node.id}") runs on "${executor.resource.name}" (${executor.resource.service}), which ${orchestrator} cannot reach; bind it to ${
          listOr(supported.map((v) => REACHABLE[v]))
        }, or use another orchestrator`,
      );
    }
    let key = ident(t.node.id);
    while (keys.has(key)) key += "_";
    keys.add(key);
    let condition: Cond | undefined;
    if (t.node.condition !== undefined) {
      try {
        condition = parseCondition(t.node.condition);
      } catch (error) {
        throw new GlacierError(
          "USER:DEPLOY_CONDITION",
          `Cannot deploy pipeline "${model.pipeline}" to ${orchestrator}: node "${t.node.id}" runs only if ${
            JSON.stringify(t.node.condition)
          }, which is not a condition on params (${
            (error as Error).message
          }); branch on params fields with !, &&, ||, === and literals`,
          { cause: error },
        );
      }
    }
    // A call is dynamic when made in a loop or callback over a run-time list
    // (static analysis and tracing agree). A dynamic call that takes a static
    // node's value maps over that list (the last such input); the inputs that
    // are mapped calls are gathered as lists (fan-in).
    const inputs = t.node.inputs.map((i) => i.id);
    const staticInputs = inputs.filter((i) => !dynamic.has(i));
    const mapOver = t.node.dynamic && staticInputs.length > 0
      ? staticInputs[staticInputs.length - 1]
      : undefined;
    if (mapOver) mapped.add(t.node.id);
    out.push({
      node: t.node,
      key,
      name: safeName(t.node.id),
      inputs,
      executor,
      via,
      retries: typeof t.options.retries === "number" ? t.options.retries : 0,
      retryDelayMs: typeof t.options.retryDelay === "number" ? t.options.retryDelay : 200,
      ...(typeof t.options.timeout === "number" ? { timeoutMs: t.options.timeout } : {}),
      ...(condition ? { condition } : {}),
      ...(mapOver ? { mapOver } : {}),
      gathers: inputs.filter((i) => mapped.has(i)),
    });
  }
  return out;
}

/** A node id as Airflow and Dagster accept names: letters, digits and `_`. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Whether a flow node is itself mapped (called once per item). */
export function isMapped(n: FlowNode): boolean {
  return n.mapOver !== undefined;
}

/** The staging prefix (URI, ending in `/`) of the run's outputs, before the run id. */
export function runsPrefix(model: InfraModel): string {
  const scheme = model.target.cloud === "aws" ? "s3" : model.target.cloud === "gcp" ? "gs" : "az";
  return `${scheme}://${model.staging.bucket}/${model.staging.prefix}runs/`;
}

/** The module path the runner imports, relative to the artifact root. */
export function payloadModule(model: InfraModel, n: FlowNode): string {
  const module = n.node.task.module;
  return module === undefined ? model.source : model.modules[module] ?? model.source;
}

// ------------------------------------------------------------ conditions

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re =
    /\s*(===|!==|==|!=|&&|\|\||[!()]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)*)/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) throw new Error(`unexpected ${JSON.stringify(text.slice(i).trim().slice(0, 12))}`);
    tokens.push(m[1]);
    i = re.lastIndex;
  }
  return tokens;
}

/** Parses a condition on params: `params.a`, `!params.a`, `params.mode === "full"`, `&&`, `||`, parentheses. */
export function parseCondition(text: string): Cond {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const path = (t: string | undefined): string[] => {
    if (!t || !/^params(\??\.[A-Za-z_$][\w$]*)+$/.test(t)) {
      throw new Error(`${JSON.stringify(t ?? "")} is not a params field`);
    }
    return t.replace(/\?\./g, ".").split(".").slice(1);
  };
  const literal = (t: string | undefined): string | number | boolean | null => {
    if (t === undefined) throw new Error("a value is missing");
    if (t === "true" || t === "false") return t === "true";
    if (t === "null") return null;
    if (/^-?\d/.test(t)) return Number(t);
    if (/^["']/.test(t)) return t.startsWith('"') ? JSON.parse(t) : t.slice(1, -1).replace(/\\(.)/g, "$1");
    throw new Error(`${JSON.stringify(t)} is not a literal`);
  };
  const primary = (): Cond => {
    const t = next();
    if (t === "!") return { op: "not", c: primary() };
    if (t === "(") {
      const c = or();
      if (next() !== ")") throw new Error("a ')' is missing");
      return c;
    }
    const p = path(t);
    const op = peek();
    if (op === "===" || op === "==" || op === "!==" || op === "!=") {
      next();
      return { op: op.startsWith("!") ? "ne" : "eq", path: p, value: literal(next()) };
    }
    return { op: "truthy", path: p };
  };
  const and = (): Cond => {
    let c = primary();
    while (peek() === "&&") {
      next();
      c = { op: "and", a: c, b: primary() };
    }
    return c;
  };
  const or = (): Cond => {
    let c = and();
    while (peek() === "||") {
      next();
      c = { op: "or", a: c, b: and() };
    }
    return c;
  };
  const c = or();
  if (pos !== tokens.length) throw new Error(`unexpected ${JSON.stringify(tokens[pos])}`);
  return c;
}

/** A Python expression for a condition over a `params` dict. */
export function pythonCondition(c: Cond, params = "params"): string {
  const get = (p: readonly string[]) =>
    p.reduce(
      (acc, k, i) => i === 0 ? `${params}.get(${pyStr(k)})` : `(${acc} or {}).get(${pyStr(k)})`,
      "",
    );
  const lit = (v: string | number | boolean | null) =>
    v === null
      ? "None"
      : typeof v === "boolean"
      ? (v ? "True" : "False")
      : typeof v === "number"
      ? String(v)
      : pyStr(v);
  switch (c.op) {
    case "truthy":
      return `bool(${get(c.path)})`;
    case "not":
      return `not (${pythonCondition(c.c, params)})`;
    case "and":
    case "or":
      return `(${pythonCondition(c.a, params)}) ${c.op} (${pythonCondition(c.b, params)})`;
    case "eq":
      return `${get(c.path)} == ${lit(c.value)}`;
    case "ne":
      return `${get(c.path)} != ${lit(c.value)}`;
  }
}
