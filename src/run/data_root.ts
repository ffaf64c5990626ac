/**
 * The data root of a run: `run({ dataRoot })` reads and writes every bucket
 * its tasks touch as a folder under one local folder (`data-lake` +
 * `raw/x.parquet` is `<dataRoot>/data-lake/raw/x.parquet`), so a pipeline
 * bound to S3, Lambda and Databricks runs on this machine on files.
 *
 * The root travels with each task call (`TaskInvocation.dataRoot`, the
 * payload's `dataRoot`) and is set as a scope around the call where it runs:
 * in this process, in a pool worker, in a narrowed subprocess. Nothing
 * process-wide changes, so runs with different roots (or none) can share a
 * process and a pool. Where a bucket picks its store, it asks the scope:
 * `src/resources/bucket_store.ts`.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { resolve } from "node:path";
import { GlacierError } from "../errors.ts";

const scope = new AsyncLocalStorage<string | undefined>();

/**
 * Calls `fn` with every bucket it touches (also in what it awaits) mapped to
 * folders under `root`; with no root, calls it as is.
 *
 * @param root An absolute folder, as {@linkcode resolveDataRoot} gives it, or undefined.
 * @param fn What to call.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentDataRoot, withDataRoot } from "./data_root.ts";
 * assert.equal(withDataRoot("/tmp/lake", () => currentDataRoot()), "/tmp/lake");
 * assert.equal(currentDataRoot(), undefined);
 * ```
 */
export function withDataRoot<T>(root: string | undefined, fn: () => T): T {
  return root === undefined ? fn() : scope.run(root, fn);
}

/**
 * The data root of the task call running now, if its run has one.
 *
 * @returns The absolute folder, or undefined.
 */
export function currentDataRoot(): string | undefined {
  return scope.getStore();
}

/**
 * Checks a run's `dataRoot` option and makes the folder when it is missing.
 * A relative path is relative to the working directory.
 *
 * @param pipeline The pipeline's name, for messages.
 * @param dataRoot The option's value.
 * @returns The folder's absolute path.
 * @throws {TypeError} When `dataRoot` is not a non-empty string.
 * @throws {GlacierError} `USER:DATA_ROOT_NOT_FOLDER` when a file (or a file on its path) is in its place, naming it.
 * @throws {GlacierError} `USER:DATA_ROOT_UNUSABLE` when the folder cannot be made, naming it and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { resolveDataRoot } from "./data_root.ts";
 * const parent = await Deno.makeTempDir();
 * const root = await resolveDataRoot("etl", join(parent, "lake"));
 * assert.equal(root, join(parent, "lake"));
 * assert.ok((await Deno.stat(root)).isDirectory);
 * ```
 */
export async function resolveDataRoot(pipeline: string, dataRoot: unknown): Promise<string> {
  if (typeof dataRoot !== "string" || dataRoot === "") {
    throw new TypeError(
      `Pipeline "${pipeline}": "dataRoot" must be the path of a folder, such as "./data", got ${
        typeof dataRoot === "string" ? '""' : typeof dataRoot
      }`,
    );
  }
  const path = resolve(dataRoot);
  try {
    await Deno.mkdir(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists) && !(error instanceof Deno.errors.NotADirectory)) {
      throw new GlacierError(
        "USER:DATA_ROOT_UNUSABLE",
        `Pipeline "${pipeline}": cannot make the data root folder ${JSON.stringify(path)} (${
          (error as Error).message
        }); choose a folder this process may write, or create it first`,
        { cause: error },
      );
    }
  }
  if (!(await Deno.stat(path).catch(() => undefined))?.isDirectory) {
    throw new GlacierError(
      "USER:DATA_ROOT_NOT_FOLDER",
      `Pipeline "${pipeline}": the data root ${
        JSON.stringify(path)
      } is not a folder (a file is in its place or on its path); give "dataRoot" a folder, or move the file`,
    );
  }
  return path;
}
