/**
 * The trace-mode observer: records calls without running anything. An
 * `await` on a ref gives a symbolic stand-in and marks every later call
 * dynamic, so `const files = await list(b); files.map(process)` traces as one
 * dynamic `process` node fed by `list`.
 *
 * @module
 */
import type { CallObserver, PipelineContext, RecordedCall } from "./context.ts";
import { makeRef, type PathKey } from "./ref.ts";

const ITERATORS = new Set(["map", "flatMap", "forEach", "filter", "some", "every", "find"]);

/** Records calls only; `await` yields symbolic values. */
export class Tracer implements CallObserver {
  #context?: PipelineContext;

  /** Binds the tracer to the context it observes (set once, right after the context is built). */
  attach(context: PipelineContext): void {
    this.#context = context;
  }

  /** Nothing runs while tracing. */
  onCall(_call: RecordedCall): void {}

  /** Marks the rest of the pipeline dynamic and returns a stand-in for the value. */
  resolve(call: RecordedCall, path: readonly PathKey[]): Promise<unknown> {
    if (this.#context) this.#context.dynamic = true;
    return Promise.resolve(symbolic(call, path));
  }
}

// A stand-in for a value known only at run time. Iterating methods call their
// callback once with a ref to "an element", so the calls inside are recorded.
function symbolic(call: RecordedCall, path: readonly PathKey[]): unknown {
  const element = () => makeRef(call, [...path, 0]);
  return new Proxy(function dynamicValue() {}, {
    get(_t, key) {
      if (key === "then") return undefined; // not thenable: `await` must stop here
      if (typeof key === "string" && ITERATORS.has(key)) {
        return (fn: (item: unknown, index: number) => unknown) => {
          const result = fn(element(), 0);
          return key === "map" || key === "flatMap" || key === "filter" ? [result] : undefined;
        };
      }
      if (key === Symbol.iterator) {
        return function* () {
          yield element();
        };
      }
      if (key === Symbol.toPrimitive) return (hint: string) => (hint === "string" ? `<${call.nodeId}>` : 1);
      if (typeof key === "symbol") return undefined;
      return symbolic(call, [...path, key]);
    },
  });
}
