/**
 * `PipelineDAG`: the graph model every mode reads. Tracing and static
 * analysis build it; the scheduler, analysis, pictures and generators read it.
 *
 * @module
 */
import { GlacierError } from "./errors.ts";
import type { ExecutionResource, ResourceInfo } from "./resources/execution.ts";
import { resourceFromInfo } from "./resources/_from_info.ts";
import type { ResourceKind } from "./config/base.ts";

export type { ResourceInfo } from "./resources/execution.ts";

/**
 * A node as given to the {@linkcode PipelineDAG} constructor. Give the
 * resource as `executor` (the {@linkcode ExecutionResource}) or, for a DAG
 * written as data, as `resource` (its plain `info()`), which is rebuilt into
 * one with Glacier's config classes; not both.
 */
export interface DAGNodeInit {
  /** The unique call-site id, such as `clean` or `processFile#3`. */
  id: string;
  /** The task called: the `Task`, or its name and the URL of the module that defines it. */
  task: { readonly name: string; readonly module?: string };
  /** The resource it runs on. @default {rebuilt from `resource`} */
  executor?: ExecutionResource;
  /** The resource it runs on, as plain data. @default {undefined} */
  resource?: ResourceInfo;
  /** Ids of the nodes whose values it takes. @default {[]} */
  inputs?: readonly string[];
  /** Storage URIs it reads. @default {[]} */
  reads?: readonly string[];
  /** Storage URIs it writes. @default {[]} */
  writes?: readonly string[];
  /** Whether the number of such calls is known only at run time. @default {false} */
  dynamic?: boolean;
  /** The condition under which it is called, as source text. @default {undefined} */
  condition?: string;
}

/** A node of the DAG: one task call site (the seed's `DAGNode`). */
export interface DAGNode {
  /** The unique call-site id. */
  readonly id: string;
  /** The task called: the `Task` itself when traced, its name and module when read from source. */
  readonly task: { readonly name: string; readonly module?: string };
  /** The execution resource it is bound to. */
  readonly executor: ExecutionResource;
  /** The same resource as plain data: `executor.info()`. */
  readonly resource: ResourceInfo;
  /** Upstream nodes, whose values it takes (the same objects as in `dag.nodes`). */
  readonly inputs: readonly DAGNode[];
  /** Downstream nodes, which take its value. */
  readonly outputs: readonly DAGNode[];
  /** Storage URIs it reads. */
  readonly reads: readonly string[];
  /** Storage URIs it writes. */
  readonly writes: readonly string[];
  /** Whether its call count is known only at run time. */
  readonly dynamic: boolean;
  /** The condition under which it is called. */
  readonly condition?: string;
}

/** A storage location and the nodes that touch it. */
export interface DataLocation {
  /** The URI, such as `s3://lake/raw/orders.parquet`. */
  readonly uri: string;
  /** Ids of the nodes that read (for sources) or write (for sinks) it. */
  readonly nodes: readonly string[];
}

/**
 * A pipeline's DAG: nodes keyed by call site, edges from data flow, data
 * sources and sinks from how tasks use their buckets. Nodes link to each
 * other (`inputs`, `outputs`, `edges` hold the node objects) and to the
 * {@linkcode ExecutionResource} they run on; {@linkcode PipelineDAG.toJSON}
 * gives the plain id form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineDAG } from "./dag.ts";
 * import { Provider } from "./provider.ts";
 * const local = new Provider().local();
 * const dag = new PipelineDAG("etl", [
 *   { id: "extract", task: { name: "extract" }, executor: local },
 *   { id: "clean", task: { name: "clean" }, executor: local, inputs: ["extract"] },
 * ]);
 * const [extract, clean] = dag.nodes;
 * assert.deepEqual(dag.edges, [[extract, clean]]);
 * assert.equal(clean.inputs[0], extract);
 * assert.equal(clean.executor, local);
 * assert.equal(dag.stages().length, 2);
 * assert.deepEqual(dag.toJSON().edges, [{ from: "extract", to: "clean" }]);
 * ```
 */
export class PipelineDAG {
  /** The pipeline's name. */
  readonly name: string;
  /** The nodes, in recording (or source) order. */
  readonly nodes: readonly DAGNode[];
  /** `[from, to]` node pairs, one per data dependency. */
  readonly edges: readonly (readonly [DAGNode, DAGNode])[];
  readonly #byId: Map<string, DAGNode>;

  /**
   * Builds it.
   * @param name The pipeline's name.
   * @param nodes The nodes; inputs must name earlier or later nodes of the list.
   * @throws {GlacierError} When ids repeat, an input is unknown, or the graph has a cycle.
   * @throws {TypeError} When a node gives both or neither of `executor` and `resource`, or a
   *   `resource` of no known service.
   * @throws {RangeError} When a `resource`'s config is out of its service's range.
   */
  constructor(name: string, nodes: readonly DAGNodeInit[]) {
    this.name = name;
    const byId = new Map<
      string,
      Omit<DAGNode, "inputs" | "outputs"> & { inputs: DAGNode[]; outputs: DAGNode[] }
    >();
    const rebuilt = new Map<string, ExecutionResource>();
    // Nodes are frozen; their arrays are typed readonly (freezing each one
    // cost more than the rest of building a 10,000-node DAG).
    const EMPTY: readonly string[] = Object.freeze([]);
    for (const n of nodes) {
      if (byId.has(n.id)) {
        throw new GlacierError(
          "SYSTEM:DAG_DUPLICATE_ID",
          `Pipeline "${name}" has two nodes with id "${n.id}"`,
        );
      }
      const executor = executorOf(name, n, rebuilt);
      const node = {
        id: n.id,
        task: typeof n.task === "function" ? n.task : Object.freeze({ ...n.task }),
        executor,
        resource: executor.info(),
        inputs: [] as DAGNode[],
        outputs: [] as DAGNode[],
        reads: n.reads?.length ? [...n.reads] : EMPTY,
        writes: n.writes?.length ? [...n.writes] : EMPTY,
        dynamic: n.dynamic ?? false,
      };
      if (n.condition !== undefined) (node as { condition?: string }).condition = n.condition;
      byId.set(n.id, node);
    }
    const edges: [DAGNode, DAGNode][] = [];
    for (const n of nodes) {
      const node = byId.get(n.id)!;
      for (const input of n.inputs ?? []) {
        const from = byId.get(input);
        if (!from) {
          throw new GlacierError(
            "SYSTEM:DAG_UNKNOWN_INPUT",
            `Node "${n.id}" of pipeline "${name}" takes input "${input}", which is no node of the pipeline`,
          );
        }
        from.outputs.push(node);
        node.inputs.push(from);
        edges.push([from, node]);
      }
    }
    this.nodes = [...byId.values()].map((n) => Object.freeze(n));
    this.edges = edges;
    this.#byId = byId;
    this.topologicalSort(); // fails on a cycle, so a built DAG is always acyclic
  }

  /**
   * The node with this id.
   *
   * @param id The call-site id, such as `clean` or `processFile#3`.
   * @returns The node, or undefined when the DAG has none of that id.
   */
  get(id: string): DAGNode | undefined {
    return this.#byId.get(id);
  }

  /** Storage read by the pipeline, each with the nodes that read it. */
  get sources(): DataLocation[] {
    return locations(this.nodes, (n) => n.reads);
  }

  /** Storage written by the pipeline, each with the nodes that write it. */
  get sinks(): DataLocation[] {
    return locations(this.nodes, (n) => n.writes);
  }

  /**
   * The nodes in an order where every node comes after its inputs; ties keep
   * recording order.
   *
   * @throws {GlacierError} When the graph has a cycle (names the nodes on it).
   */
  topologicalSort(): DAGNode[] {
    return this.stages().flat();
  }

  /**
   * Groups of nodes that can run in parallel: each node is in the stage after
   * the latest of its inputs.
   *
   * @throws {GlacierError} When the graph has a cycle.
   */
  stages(): DAGNode[][] {
    const waiting = new Map<DAGNode, number>();
    for (const n of this.nodes) waiting.set(n, n.inputs.length);
    let ready = this.nodes.filter((n) => n.inputs.length === 0);
    const stages: DAGNode[][] = [];
    let placed = 0;
    const order = new Map(this.nodes.map((n, i) => [n, i]));
    while (ready.length > 0) {
      stages.push(ready);
      placed += ready.length;
      const next: DAGNode[] = [];
      for (const node of ready) {
        for (const out of node.outputs) {
          const left = waiting.get(out)! - 1;
          waiting.set(out, left);
          if (left === 0) next.push(out);
        }
      }
      ready = next.sort((a, b) => order.get(a)! - order.get(b)!);
    }
    if (placed !== this.nodes.length) {
      const stuck = this.nodes.filter((n) => waiting.get(n)! > 0).map((n) => `"${n.id}"`);
      throw new GlacierError(
        "USER:DAG_CYCLE",
        `Pipeline "${this.name}" has a cycle through ${stuck.join(", ")}; a task cannot take its own output`,
      );
    }
    return stages;
  }

  /**
   * A Mermaid flowchart: tasks as boxes labelled with their executor, storage
   * as cylinders, dynamic nodes as stacks, conditional nodes as hexagons.
   */
  toMermaid(): string {
    const lines = ["flowchart LR"];
    const ids = new Map<string, string>();
    const mid = (key: string) => {
      let id = ids.get(key);
      if (!id) ids.set(key, id = `n${ids.size}`);
      return id;
    };
    const label = (text: string) => text.replace(/"/g, "#quot;");
    for (const node of this.nodes) {
      const text = label(`${node.id}<br/><small>${node.executor.name}</small>`);
      const shape = node.dynamic ? `[["${text}"]]` : node.condition ? `{{"${text}"}}` : `["${text}"]`;
      lines.push(`  ${mid(node.id)}${shape}`);
    }
    for (const loc of [...this.sources, ...this.sinks]) {
      if (!ids.has(`data:${loc.uri}`)) lines.push(`  ${mid(`data:${loc.uri}`)}[("${label(loc.uri)}")]`);
    }
    for (const [from, to] of this.edges) lines.push(`  ${mid(from.id)} --> ${mid(to.id)}`);
    for (const node of this.nodes) {
      for (const uri of node.reads) lines.push(`  ${mid(`data:${uri}`)} -.-> ${mid(node.id)}`);
      for (const uri of node.writes) lines.push(`  ${mid(node.id)} -.-> ${mid(`data:${uri}`)}`);
    }
    const kinds = [...new Set(this.nodes.map((n) => n.resource.kind))];
    for (const kind of kinds) {
      lines.push(`  classDef ${kind} fill:${KIND_COLORS[kind]},stroke:#333`);
      lines.push(
        `  class ${
          this.nodes.filter((n) => n.resource.kind === kind).map((n) => mid(n.id)).join(",")
        } ${kind}`,
      );
    }
    return lines.join("\n") + "\n";
  }

  /**
   * A Graphviz DOT digraph: tasks coloured by executor kind and labelled with
   * their executor, conditional calls as hexagons with their condition,
   * dynamic ones dashed with a double border, storage as cylinders, and a
   * legend of what is used.
   */
  toDot(): string {
    const q = (s: string) => JSON.stringify(s);
    const lines = [
      `digraph ${q(this.name)} {`,
      "  rankdir=LR;",
      '  node [fontname="Helvetica,Arial,sans-serif", fontsize=12, style=filled, margin="0.15,0.06"];',
      '  edge [color="#555555"];',
    ];
    for (const node of this.nodes) {
      const label = [node.id, node.executor.name];
      if (node.condition) label.push(`if ${shorten(node.condition, 36)}`);
      if (node.dynamic) label.push("(dynamic)");
      const attrs = [
        `label=${q(label.join("\n"))}`,
        `fillcolor=${q(KIND_COLORS[node.resource.kind])}`,
        `shape=${node.condition ? "hexagon" : "box"}`,
      ];
      if (node.dynamic) attrs.push("peripheries=2", 'style="filled,dashed"');
      if (node.condition) attrs.push(`tooltip=${q(`if ${node.condition}`)}`);
      lines.push(`  ${q(node.id)} [${attrs.join(", ")}];`);
    }
    const data = new Set([...this.sources, ...this.sinks].map((l) => l.uri));
    for (const uri of data) {
      lines.push(
        `  ${q(uri)} [shape=cylinder, fillcolor="#eeeeee", label=${q(shortUri(uri))}, tooltip=${
          q(uri)
        }, margin="0.3,0.08"];`,
      );
    }
    for (const [from, to] of this.edges) lines.push(`  ${q(from.id)} -> ${q(to.id)};`);
    for (const node of this.nodes) {
      for (const uri of node.reads) lines.push(`  ${q(uri)} -> ${q(node.id)} [style=dashed];`);
      for (const uri of node.writes) lines.push(`  ${q(node.id)} -> ${q(uri)} [style=dashed];`);
    }
    const kinds = [...new Set(this.nodes.map((n) => n.resource.kind))];
    const legend = kinds.map((k) =>
      `    "legend:${k}" [label=${q(k)}, shape=box, fillcolor=${q(KIND_COLORS[k])}];`
    );
    if (this.nodes.some((n) => n.condition)) {
      legend.push('    "legend:conditional" [label="conditional", shape=hexagon, fillcolor="#ffffff"];');
    }
    if (this.nodes.some((n) => n.dynamic)) {
      legend.push(
        '    "legend:dynamic" [label="dynamic", shape=box, peripheries=2, style="filled,dashed", fillcolor="#ffffff"];',
      );
    }
    if (this.nodes.length > 0) {
      lines.push(
        "  subgraph cluster_legend {",
        '    label="legend"; fontname="Helvetica,Arial,sans-serif"; fontsize=10; style=dashed; color="#999999";',
        '    node [fontsize=10, width=0, height=0, margin="0.08,0.03"];',
        ...legend,
        "  }",
      );
    }
    lines.push("}");
    return lines.join("\n") + "\n";
  }

  /**
   * Plain data: `{ name, resources, nodes, edges, sources, sinks }`. Each
   * resource is listed once, as `executor.info()`; a node names its resource
   * in `executor` and its neighbours by id in `inputs` and `outputs`; edges
   * are `{ from, to }` ids. `JSON.stringify(dag)` and run reports use this.
   *
   * @returns The DAG as plain data.
   */
  toJSON(): {
    name: string;
    resources: Record<string, ResourceInfo>;
    nodes: (Omit<DAGNode, "executor" | "resource" | "inputs" | "outputs"> & {
      executor: string;
      inputs: readonly string[];
      outputs: readonly string[];
    })[];
    edges: { from: string; to: string }[];
    sources: DataLocation[];
    sinks: DataLocation[];
  } {
    const resources: Record<string, ResourceInfo> = {};
    const ids = (list: readonly DAGNode[]) => list.map((n) => n.id);
    const nodes = this.nodes.map((n) => {
      resources[n.resource.name] ??= n.resource;
      const node: ReturnType<PipelineDAG["toJSON"]>["nodes"][number] = {
        id: n.id,
        task: "module" in n.task ? { name: n.task.name, module: n.task.module } : { name: n.task.name },
        executor: n.executor.name,
        inputs: ids(n.inputs),
        outputs: ids(n.outputs),
        reads: n.reads,
        writes: n.writes,
        dynamic: n.dynamic,
      };
      if (n.condition !== undefined) (node as { condition?: string }).condition = n.condition;
      return node;
    });
    return {
      name: this.name,
      resources,
      nodes,
      edges: this.edges.map(([from, to]) => ({ from: from.id, to: to.id })),
      sources: this.sources,
      sinks: this.sinks,
    };
  }
}

// A node's resource: the one given, or the one its plain data describes (built
// once per distinct resource, so nodes on one resource share the object).
function executorOf(
  pipeline: string,
  n: DAGNodeInit,
  rebuilt: Map<string, ExecutionResource>,
): ExecutionResource {
  if (n.executor !== undefined && n.resource !== undefined) {
    throw new TypeError(
      `Node "${n.id}" of pipeline "${pipeline}" gives both "executor" and "resource"; give the ExecutionResource as "executor" only`,
    );
  }
  if (n.executor !== undefined) return n.executor;
  if (n.resource === undefined) {
    throw new TypeError(
      `Node "${n.id}" of pipeline "${pipeline}" has no resource; give its ExecutionResource as "executor" (or its info() as "resource")`,
    );
  }
  const key = JSON.stringify(n.resource);
  let executor = rebuilt.get(key);
  if (!executor) rebuilt.set(key, executor = resourceFromInfo(n.resource));
  return executor;
}

/** Fill colours per executor kind, shared by every picture. */
export const KIND_COLORS: Readonly<Record<ResourceKind, string>> = {
  local: "#d8ecff",
  serverless: "#ffe3b3",
  cluster: "#e2d4ff",
  vm: "#d4f5d4",
};

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// Long local paths are shown by their last folders; the tooltip has the full URI.
function shortUri(uri: string): string {
  if (!uri.startsWith("file://") || uri.length <= 40) return uri;
  const parts = uri.slice("file://".length).split("/");
  const tail = parts.slice(-(uri.endsWith("/") ? 4 : 3)).join("/");
  return `file://…/${tail}`;
}

function locations(nodes: readonly DAGNode[], pick: (n: DAGNode) => readonly string[]): DataLocation[] {
  const byUri = new Map<string, string[]>();
  for (const node of nodes) {
    for (const uri of pick(node)) {
      let list = byUri.get(uri);
      if (!list) byUri.set(uri, list = []);
      if (!list.includes(node.id)) list.push(node.id);
    }
  }
  return [...byUri].map(([uri, ids]) => ({ uri, nodes: ids }));
}
