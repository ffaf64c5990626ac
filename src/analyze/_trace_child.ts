// The subprocess of traceIsolated() (trace_isolated.ts): imports the user's
// module with runs suppressed, traces the pipeline with the user's own Glacier
// objects and prints one line of JSON after the nonce. It imports nothing but
// the run guard, so it loads no more than the user's module does.
import { suppressRuns } from "../run/_guard.ts";
import type { DAGNodeInit, ResourceInfo } from "../dag.ts";

async function child([url, name, params, nonce]: string[]): Promise<void> {
  suppressRuns();
  const module = await import(url) as Record<string, unknown>;
  type Traceable = {
    name: string;
    trace(p: unknown): Promise<
      {
        nodes: readonly { executor: { cloud?: string } }[];
        toJSON(): {
          resources: Record<string, ResourceInfo>;
          nodes: readonly ({ executor: string; outputs?: unknown } & Omit<DAGNodeInit, "executor">)[];
        };
      }
    >;
    traceCalls(
      p: unknown,
    ): Promise<readonly { nodeId: string; task: { options: Record<string, unknown> } }[]>;
  };
  const found = Object.values(module).find((v): v is Traceable =>
    typeof v === "object" && v !== null && (v as Traceable).name === name &&
    typeof (v as Traceable).traceCalls === "function"
  );
  if (!found) throw new Error(`the module exports no pipeline named "${name}"`);
  const args = JSON.parse(params);
  const dag = await found.trace(args);
  const calls = await found.traceCalls(args);
  // The plain id form, each node with its resource's data and cloud: the
  // parent rebuilds the ExecutionResources from them.
  const plain = dag.toJSON();
  const nodes = plain.nodes.map(({ executor, outputs: _, ...node }, i) => ({
    ...node,
    resource: plain.resources[executor],
    cloud: dag.nodes[i].executor.cloud,
  }));
  const facts = calls.map((c) => [c.nodeId, c.task.options]);
  console.log(`${nonce} ${JSON.stringify({ nodes, facts })}`);
}

if (import.meta.main) {
  try {
    await child(Deno.args);
  } catch (error) {
    console.error(
      error instanceof Error && error.name === "NotCapable"
        ? `NotCapable: ${error.message}`
        : String((error as Error)?.stack ?? error),
    );
    Deno.exit(1);
  }
}
