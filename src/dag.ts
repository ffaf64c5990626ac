/**
 * `PipelineDAG`: the graph model every mode reads. Tracing and static
 * analysis build it; the scheduler, analysis, pictures and generators read it.
 *
 * @module
 */
import { GlacierError } from "./errors.ts";
import type { ResourceKind } from "./config.ts";

/** The execution resource a node is bound to, as plain data. */
export interface ResourceInfo {
  /** `local`, `serverless`, `vm` or `cluster`. */
  readonly kind: ResourceKind;
  /** The service, such as `local`, `lambda`, `databricks`. */
  readonly service: string;
  /** The resource's name in its provider, such as `lambda` or `gpu_cluster`. */
  readonly name: string;
  /** The config's fields, as plain data. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** A node as given to the {@linkcode PipelineDAG} constructor. */
export interface DAGNodeInit {
  /** The unique call-site id, such as `clean` or `processFile#3`. */
  id: string;
  /** The task called. */
  task: { name: string; module?: string };
  /** The resource it runs on. */
  resource: ResourceInfo;
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

/** A node of the DAG: one task call site. */
export interface DAGNode {
  /** The unique call-site id. */
  readonly id: string;
  /** The task called. */
  readonly task: { readonly name: string; readonly module?: string };
  /** The resource's name: what runs it. */
  readonly executor: string;
  /** The resource it runs on. */
  readonly resource: ResourceInfo;
  /** Ids of upstream nodes. */
  readonly inputs: readonly string[];
  /** Ids of downstream nodes. */
  readonly outputs: readonly string[];
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
 * sources and sinks from how tasks use their buckets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineDAG } from "./dag.ts";
 * const resource = { kind: "local", service: "local", name: "local", config: {} } as const;
 * const dag = new PipelineDAG("etl", [
 *   { id: "extract", task: { name: "extract" }, resource },
 *   { id: "clean", task: { name: "clean" }, resource, inputs: ["extract"] },
 * ]);
 * assert.ok(dag.edges[0][0] === "extract" && dag.stages().length === 2);
 * ```
 */
export class PipelineDAG {
  /** The pipeline's name. */
  readonly name: string;
  /** The nodes, in recording (or source) order. */
  readonly nodes: readonly DAGNode[];
  /** `[from, to]` pairs. */
  readonly edges: readonly (readonly [string, string])[];
  readonly #byId: Map<string, DAGNode>;

  /**
   * Builds it.
   * @param name The pipeline's name.
   * @param nodes The nodes; inputs must name earlier or later nodes of the list.
   * @throws {GlacierError} When ids repeat, an input is unknown, or the graph has a cycle.
   */
  constructor(name: string, nodes: readonly DAGNodeInit[]) {
    this.name = name;
    const outputs = new Map<string, string[]>();
    for (const node of nodes) {
      if (outputs.has(node.id)) {
        throw new GlacierError(
          "SYSTEM:DAG_DUPLICATE_ID",
          `Pipeline "${name}" has two nodes with id "${node.id}"`,
        );
      }
      outputs.set(node.id, []);
    }
    const edges: [string, string][] = [];
    for (const node of nodes) {
      for (const input of node.inputs ?? []) {
        const list = outputs.get(input);
        if (!list) {
          throw new GlacierError(
            "SYSTEM:DAG_UNKNOWN_INPUT",
            `Node "${node.id}" of pipeline "${name}" takes input "${input}", which is no node of the pipeline`,
          );
        }
        list.push(node.id);
        edges.push([input, node.id]);
      }
    }
    // Nodes are frozen; their arrays are typed readonly (freezing each one
    // cost more than the rest of building a 10,000-node DAG).
    const EMPTY: readonly string[] = Object.freeze([]);
    this.nodes = nodes.map((n) => {
      const node: DAGNode = {
        id: n.id,
        task: { ...n.task },
        executor: n.resource.name,
        resource: n.resource,
        inputs: n.inputs?.length ? [...n.inputs] : EMPTY,
        outputs: outputs.get(n.id)!,
        reads: n.reads?.length ? [...n.reads] : EMPTY,
        writes: n.writes?.length ? [...n.writes] : EMPTY,
        dynamic: n.dynamic ?? false,
      };
      if (n.condition !== undefined) (node as { condition?: string }).condition = n.condition;
      return Object.freeze(node);
    });
    this.edges = edges;
    this.#byId = new Map(this.nodes.map((n) => [n.id, n]));
    this.topologicalSort(); // fails on a cycle, so a built DAG is always acyclic
  }

  /** The node with this id, or undefined. */
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
    const waiting = new Map<string, number>();
    for (const n of this.nodes) waiting.set(n.id, n.inputs.length);
    let ready = this.nodes.filter((n) => n.inputs.length === 0);
    const stages: DAGNode[][] = [];
    let placed = 0;
    const order = new Map(this.nodes.map((n, i) => [n.id, i]));
    while (ready.length > 0) {
      stages.push(ready);
      placed += ready.length;
      const next: DAGNode[] = [];
      for (const node of ready) {
        for (const out of node.outputs) {
          const left = waiting.get(out)! - 1;
          waiting.set(out, left);
          if (left === 0) next.push(this.#byId.get(out)!);
        }
      }
      ready = next.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    }
    if (placed !== this.nodes.length) {
      const stuck = this.nodes.filter((n) => waiting.get(n.id)! > 0).map((n) => `"${n.id}"`);
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
      const text = label(`${node.id}<br/><small>${node.executor}</small>`);
      const shape = node.dynamic ? `[["${text}"]]` : node.condition ? `{{"${text}"}}` : `["${text}"]`;
      lines.push(`  ${mid(node.id)}${shape}`);
    }
    for (const loc of [...this.sources, ...this.sinks]) {
      if (!ids.has(`data:${loc.uri}`)) lines.push(`  ${mid(`data:${loc.uri}`)}[("${label(loc.uri)}")]`);
    }
    for (const [from, to] of this.edges) lines.push(`  ${mid(from)} --> ${mid(to)}`);
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
      const label = [node.id, node.executor];
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
    for (const [from, to] of this.edges) lines.push(`  ${q(from)} -> ${q(to)};`);
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
   * resource is listed once; a node names its resource in `executor`.
   */
  toJSON(): {
    name: string;
    resources: Record<string, ResourceInfo>;
    nodes: Omit<DAGNode, "resource">[];
    edges: { from: string; to: string }[];
    sources: DataLocation[];
    sinks: DataLocation[];
  } {
    const resources: Record<string, ResourceInfo> = {};
    const nodes = this.nodes.map(({ resource, ...node }) => {
      resources[resource.name] ??= resource;
      return node;
    });
    return {
      name: this.name,
      resources,
      nodes,
      edges: this.edges.map(([from, to]) => ({ from, to })),
      sources: this.sources,
      sinks: this.sinks,
    };
  }
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
