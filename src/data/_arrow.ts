// The apache-arrow namespace, loaded with import() on first need: evaluating
// it costs ~100 ms per process and per worker, and a run without tables never
// needs it. `import type` here loads nothing.
import type * as Arrow from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";

/** The apache-arrow module namespace. */
export type ArrowModule = typeof Arrow;

let loaded: ArrowModule | undefined;
let loading: Promise<ArrowModule> | undefined;

/** Loads apache-arrow once; later calls return the same namespace. */
export function loadArrow(): Promise<ArrowModule> {
  if (loaded) return Promise.resolve(loaded);
  return loading ??= import("apache-arrow").then(
    (arrow) => loaded = arrow,
    (error) => {
      loading = undefined;
      throw new GlacierError(
        "SYSTEM:ARROW_UNAVAILABLE",
        `Cannot load "apache-arrow": ${errorMessage(error)}; check that the npm package is installed`,
        { cause: error, retryable: true },
      );
    },
  );
}

/** The namespace if {@linkcode loadArrow} has finished, else undefined. */
export function loadedArrow(): ArrowModule | undefined {
  return loaded;
}
