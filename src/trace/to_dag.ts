/**
 * Turns recorded calls into the {@linkcode PipelineDAG} model: inputs from
 * refs, data sources and sinks from bucket arguments and `reads`/`writes`.
 *
 * @module
 */
import { accessAt } from "../analyze/bucket_usage.ts";
import { PipelineDAG } from "../dag.ts";
import { Bucket } from "../resources/storage.ts";
import { isPlainContainer } from "./ref.ts";
import type { RecordedCall } from "./context.ts";

/**
 * Builds the DAG of a pipeline from its recorded calls. Each node holds the
 * task that was called and the execution resource it is bound to.
 *
 * @param name The pipeline's name.
 * @param calls The calls, in recording order.
 * @returns The DAG.
 */
export function callsToDAG(name: string, calls: readonly RecordedCall[]): PipelineDAG {
  return new PipelineDAG(
    name,
    calls.map((call) => {
      const reads = new Set(call.task.options.reads);
      const writes = new Set(call.task.options.writes);
      call.args.forEach((arg, index) => {
        forEachBucket(arg, (bucket, nested) => {
          const access = nested ? { read: true, write: true } : accessAt(call.task, call.task.source, index);
          if (access.read) reads.add(bucket.uri);
          if (access.write) writes.add(bucket.uri);
        });
      });
      return {
        id: call.nodeId,
        task: call.task,
        executor: call.task.resource,
        inputs: call.deps,
        reads: [...reads],
        writes: [...writes],
        dynamic: call.dynamic,
      };
    }),
  );
}

function forEachBucket(
  value: unknown,
  visit: (bucket: Bucket, nested: boolean) => void,
  nested = false,
): void {
  if (value instanceof Bucket) visit(value, nested);
  else if (Array.isArray(value)) value.forEach((v) => forEachBucket(v, visit, true));
  else if (isPlainContainer(value)) { for (const v of Object.values(value)) forEachBucket(v, visit, true); }
}
