/**
 * Names shared by cloud mode and code generation, so what `glacier build`
 * packages, what generated Terraform deploys and what a cloud run invokes are
 * the same thing.
 *
 * @module
 */
import type { ResourceInfo } from "../dag.ts";
import { SERVICES } from "../config/services.ts";

/** Lambda's limit on function names. */
const MAX_FUNCTION_NAME = 64;

/**
 * The deployed function (or job) name of a resource in a pipeline:
 * `glacier-<pipeline>-<resource>`, or the config's explicit `functionName`.
 * Names longer than 64 characters keep a stable hash suffix.
 *
 * @param pipeline The pipeline's name.
 * @param resource The resource, as in the DAG.
 * @returns The name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { functionName } from "./naming.ts";
 * const lambda = { kind: "serverless", service: "lambda", name: "lambda", config: {} } as const;
 * assert.ok(functionName("etl", lambda) === "glacier-etl-lambda");
 * ```
 */
export function functionName(pipeline: string, resource: ResourceInfo): string {
  const explicit = resource.config.functionName;
  if (typeof explicit === "string" && explicit !== "") return explicit;
  const name = `glacier-${pipeline}-${resource.name}`.toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  if (name.length <= MAX_FUNCTION_NAME) return name;
  return `${name.slice(0, MAX_FUNCTION_NAME - 9)}-${fnv1a(name)}`;
}

/**
 * Where `glacier build` writes the deployable artifact of a resource, relative
 * to the working directory: `.glacier/build/<pipeline>/<resource>.zip`.
 *
 * @param pipeline The pipeline's name.
 * @param resource The resource's name.
 * @returns The relative path.
 */
export function artifactPath(pipeline: string, resource: string): string {
  return `.glacier/build/${pipeline}/${resource}.zip`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * How Cloud Run functions starts the `glacier build` source: the Node.js
 * runtime that runs its shim, and the shim's exported function
 * (`--entry-point`), as the service table states them. The artifact and
 * generated Terraform both read it.
 */
export const CLOUD_FUNCTION_ENTRY: { readonly runtime: string; readonly entryPoint: string } = Object.freeze({
  runtime: SERVICES["cloud-function"].entry.runtime,
  entryPoint: SERVICES["cloud-function"].entry.handler,
});
