/**
 * Turns recorded calls into the {@linkcode PipelineDAG} model: inputs from
 * refs, data sources and sinks from bucket arguments and `reads`/`writes`.
 *
 * @module
 */
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
export async function callsToDAG(name: string, calls: readonly RecordedCall[]): Promise<PipelineDAG> {
  // Whether a task reads or writes a bucket argument is read from its source
  // (acorn): loaded only when some call passes a bucket.
  const passesBucket = calls.some((call) => call.args.some((arg) => hasBucket(arg)));
  const { accessAt } = passesBucket ? await import("../analyze/bucket_usage.ts") : { accessAt: undefined };
  return new PipelineDAG(
    name,
    calls.map((call) => {
      const reads = new Set(call.task.options.reads);
      const writes = new Set(call.task.options.writes);
      call.args.forEach((arg, index) => {
        forEachBucket(arg, (bucket, nested) => {
          const access = nested ? { read: true, write: true } : accessAt!(call.task, call.task.source, index);
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

function hasBucket(value: unknown): boolean {
  let found = false;
  forEachBucket(value, () => found = true);
  return found;
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
