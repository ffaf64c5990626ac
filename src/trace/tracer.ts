/**
 * The trace-mode observer: records calls without running anything. An
 * `await` on a ref gives a symbolic stand-in; a callback run over a stand-in
 * list (`.map`, `for…of`, …) runs once and its calls are dynamic, so
 * `const files = await list(b); files.map(process)` traces as one dynamic
 * `process` node fed by `list`. A call after an `await` is not dynamic for
 * that alone: `const n = await count(x); use(n)` traces `use` as one call
 * fed by `count`, as static analysis does.
 *
 * @module
 */
import { type CallObserver, inRuntimeLoop, type PipelineContext, type RecordedCall } from "./context.ts";
import { makeRef, type PathKey, REF_STATE, type RefState } from "./ref.ts";

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

  /** A stand-in for the value. */
  resolve(call: RecordedCall, path: readonly PathKey[]): Promise<unknown> {
    return Promise.resolve(symbolic(call, path, this.#context));
  }
}

// A stand-in for a value known only at run time. Iterating methods call their
// callback once with a ref to "an element", so the calls inside are recorded
// (dynamic); `for…of` gets one element, and its body's calls are dynamic
// until the loop asks for the next one.
function symbolic(call: RecordedCall, path: readonly PathKey[], context?: PipelineContext): unknown {
  const element = () => makeRef(call, [...path, 0]);
  return new Proxy(function dynamicValue() {}, {
    get(_t, key) {
      if (key === "then") return undefined; // not thenable: `await` must stop here
      // A call given the stand-in (or a part of it) is fed by its call.
      if (key === REF_STATE) return { source: call, path } satisfies RefState;
      if (typeof key === "string" && ITERATORS.has(key)) {
        return (fn: (item: unknown, index: number) => unknown) => {
          const result = inRuntimeLoop(() => fn(element(), 0));
          return key === "map" || key === "flatMap" || key === "filter" ? [result] : undefined;
        };
      }
      if (key === Symbol.iterator) {
        return function* () {
          if (context) context.loops++;
          try {
            yield element();
          } finally {
            if (context) context.loops--;
          }
        };
      }
      if (key === Symbol.toPrimitive) return (hint: string) => (hint === "string" ? `<${call.nodeId}>` : 1);
      if (typeof key === "symbol") return undefined;
      return symbolic(call, [...path, key], context);
    },
  });
}
