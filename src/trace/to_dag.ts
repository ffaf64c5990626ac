/**
 * Turns recorded calls into the {@linkcode PipelineDAG} model: inputs from
 * refs, data sources and sinks from bucket arguments (down to the keys a
 * task reaches with `.at(...)`, as static analysis grants them) and
 * `reads`/`writes`.
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
  const usage = passesBucket ? await import("../analyze/bucket_usage.ts") : undefined;
  return new PipelineDAG(
    name,
    calls.map((call) => {
      const reads = new Set(call.task.options.reads);
      const writes = new Set(call.task.options.writes);
      call.args.forEach((arg, index) => {
        forEachBucket(arg, (bucket, nested) => {
          // The same grants as static analysis (keys under `.at(...)`); helpers
          // are not resolved here, so a bucket passed to one is read and written.
          const grants = usage!.bucketGrants(
            bucket,
            nested ? "escapes" : usage!.usesAt(call.task, call.task.source, index),
          );
          grants.reads.forEach((uri) => reads.add(uri));
          grants.writes.forEach((uri) => writes.add(uri));
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
