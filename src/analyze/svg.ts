/**
 * SVG pictures of a pipeline's DAG, rendered from {@linkcode PipelineDAG.toDot}
 * by Graphviz compiled to WebAssembly (`@viz-js/viz`). Kept out of `dag.ts`
 * so that nothing loads the renderer until a picture is asked for.
 *
 * @module
 */
import type { PipelineDAG } from "../dag.ts";
import { errorMessage, GlacierError } from "../errors.ts";

type Viz = { renderString(dot: string, options: { format: string; engine?: string }): string };
let viz: Promise<Viz> | undefined;

/**
 * Renders a DAG as SVG: nodes coloured by executor kind, conditional nodes
 * as hexagons, dynamic ones dashed with a double border, storage as cylinders.
 *
 * @param dag The DAG.
 * @returns The SVG document.
 * @throws {GlacierError} When Graphviz cannot lay the graph out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineDAG } from "../dag.ts";
 * import { toSvg } from "./svg.ts";
 * const resource = { kind: "local", service: "local", name: "local", config: {} } as const;
 * const dag = new PipelineDAG("p", [{ id: "a", task: { name: "a" }, resource }]);
 * assert.ok((await toSvg(dag)).includes("<svg"));
 * ```
 */
export async function toSvg(dag: PipelineDAG): Promise<string> {
  viz ??= import("@viz-js/viz").then((m) => m.instance() as Promise<Viz>);
  try {
    return (await viz).renderString(dag.toDot(), { format: "svg", engine: "dot" });
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:SVG_RENDER",
      `Cannot draw pipeline "${dag.name}" as SVG: ${
        errorMessage(error)
      }; use --format dot and Graphviz instead`,
      { cause: error },
    );
  }
}
