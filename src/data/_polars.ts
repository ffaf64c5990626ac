// The nodejs-polars namespace, loaded with import() on first need, as
// apache-arrow is (`_arrow.ts`): its native library costs time per process
// and per worker, and a run without DataFrames never needs it. `import type`
// here loads nothing.
import type pl from "nodejs-polars";
import { errorMessage, GlacierError } from "../errors.ts";

/** The nodejs-polars namespace (its default export). */
export type PolarsModule = typeof pl;

let loaded: PolarsModule | undefined;
let loading: Promise<PolarsModule> | undefined;

/** Loads nodejs-polars once; later calls return the same namespace. */
export function loadPolars(): Promise<PolarsModule> {
  if (loaded) return Promise.resolve(loaded);
  return loading ??= import("nodejs-polars").then(
    (mod) => loaded = (mod.default ?? mod) as PolarsModule,
    (error) => {
      loading = undefined;
      throw new GlacierError(
        "SYSTEM:POLARS_UNAVAILABLE",
        `Cannot load "nodejs-polars": ${
          errorMessage(error)
        }; check that the npm package and its native binary for this platform are installed`,
        { cause: error, retryable: true },
      );
    },
  );
}

/** The namespace if {@linkcode loadPolars} has finished, else undefined. */
export function loadedPolars(): PolarsModule | undefined {
  return loaded;
}
