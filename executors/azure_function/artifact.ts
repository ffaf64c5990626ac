/**
 * What an Azure Functions artifact adds to the common layout of `glacier
 * build` (bootstrap, bin/deno, app/, deno_dir/, glacier.json; see
 * `executors/lambda/build.ts`): the function app's files for a custom handler.
 *
 * - `host.json`: `customHandler.description.defaultExecutablePath` is
 *   `bootstrap` (the same script as Lambda's: Deno on the manifest's runtime,
 *   here `executors/azure_function/runtime.ts`), and
 *   `enableForwardingHttpRequest` is false, so the host sends the documented
 *   JSON request envelope (`Data.req`, `Metadata`) and reads the response
 *   envelope (`Outputs.res`, `Logs`, `ReturnValue`).
 * - `glacier/function.json`: one function, `glacier`, an HTTP trigger `req`
 *   (POST, `authLevel: "function"`: a function key or Entra auth in front) and
 *   an HTTP output `res`.
 *
 * @module
 */
import type { ArtifactTarget } from "../_artifact_target.ts";
import { SERVICES } from "../../src/config/services.ts";

/** The function's name in the app, and so its route: `/api/glacier`. */
export const AZURE_FUNCTION_NAME = "glacier";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");

/** host.json of the app. */
export const HOST_JSON = {
  version: "2.0",
  customHandler: {
    // The handler the service table states for Azure Functions: the zip's bootstrap script.
    description: {
      defaultExecutablePath: SERVICES["azure-function"].entry!.handler,
      workingDirectory: "",
      arguments: [],
    },
    enableForwardingHttpRequest: false,
  },
  extensions: { http: { routePrefix: "api" } },
  logging: { logLevel: { default: "Information" } },
};

/** glacier/function.json. */
export const FUNCTION_JSON = {
  bindings: [
    { type: "httpTrigger", direction: "in", name: "req", authLevel: "function", methods: ["post"] },
    { type: "http", direction: "out", name: "res" },
  ],
};

/** The Azure function app artifact's runtime module and files. */
export const AZURE_FUNCTION_TARGET: ArtifactTarget = {
  runtime: new URL("./runtime.ts", import.meta.url),
  entries: [new URL("../../stores/azure_blob.ts", import.meta.url)],
  files: {
    "host.json": { data: json(HOST_JSON) },
    [`${AZURE_FUNCTION_NAME}/function.json`]: { data: json(FUNCTION_JSON) },
  },
};
