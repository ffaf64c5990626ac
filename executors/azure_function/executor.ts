/**
 * The Azure Functions executor: runs task calls on the function app of their
 * serverless resource (`glacier-<pipeline>-<resource>`), whose one function
 * `glacier` (route `/api/glacier`) is Deno as a custom handler. Each attempt
 * is one HTTPS POST of Glacier's task payload with a function key
 * (`x-functions-key` from `AZURE_FUNCTIONS_KEY`) or an Entra token
 * (`AZURE_ACCESS_TOKEN`, else the managed identity on Azure; audience
 * `AZURE_FUNCTIONS_AUDIENCE`, default the app's URL). Tables over the cap are
 * staged through `AzureConfig({ stagingBucket: "az://…" })`. 429 and 5xx are
 * retried within the task's `retries`; a task that throws fails with its remote
 * type, message and stack. The app's URL is `https://<name>.azurewebsites.net`,
 * or the template in `GLACIER_AZURE_FUNCTIONS_URL` (`{name}`; an emulator's).
 *
 * @module
 */
import { functionName } from "../../src/codegen/naming.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { checkAdapter } from "../_remote.ts";
import { SERVICES } from "../../src/config/services.ts";
import { fillTemplate, FunctionExecutor } from "../_function_http.ts";
import { gcpEnv as env } from "../../stores/_gcp_auth.ts";
import { azureToken } from "../../stores/_azure_auth.ts";
import { AZURE_FUNCTION_NAME } from "./artifact.ts";

/**
 * The request cap Glacier keeps to: the Functions host takes up to 100 MB
 * (`maxRequestBodySize`), and the custom-handler envelope carries the body as
 * an escaped JSON string, so a margin stays free.
 */
export const AZURE_FUNCTION_PAYLOAD_CAP: number = SERVICES["azure-function"].payloadCap;

/** The URL template of a deployed function app. */
export const AZURE_FUNCTION_URL = "https://{name}.azurewebsites.net";

/** Options for {@linkcode createAzureFunctionExecutor}, beyond a cloud run's. */
export interface AzureFunctionExecutorOptions extends RemoteExecutorOptions {
  /** The URL template. @default {Deno.env GLACIER_AZURE_FUNCTIONS_URL, else AZURE_FUNCTION_URL} */
  endpoint?: string;
  /** The request cap (tests lower it to see staging). @default {AZURE_FUNCTION_PAYLOAD_CAP} */
  payloadCap?: number;
  /** In-flight invocations. @default {64} */
  concurrency?: number;
}

/**
 * The factory `wiring.ts` wires in for the `azure-function` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 * @throws {TypeError} When the resource is not an Azure Functions resource.
 */
export function createAzureFunctionExecutor(options: AzureFunctionExecutorOptions): FunctionExecutor {
  const { resource } = options;
  checkAdapter(resource, "azure-function", "AzureFunctionExecutor");
  const name = functionName(options.pipeline, resource.info()).replace(/_/g, "-");
  const app = fillTemplate(options.endpoint ?? env("GLACIER_AZURE_FUNCTIONS_URL") ?? AZURE_FUNCTION_URL, {
    name,
  });
  const url = `${app}/api/${AZURE_FUNCTION_NAME}`;
  return new FunctionExecutor(options, {
    name: "azure-function",
    label: "Azure function app",
    code: "AZURE_FUNCTION",
    functionName: name,
    url,
    cap: options.payloadCap ?? AZURE_FUNCTION_PAYLOAD_CAP,
    concurrency: options.concurrency ?? 64,
    headers: async (): Promise<Record<string, string>> => {
      const key = env("AZURE_FUNCTIONS_KEY");
      if (key) return { "x-functions-key": key };
      const audience = env("AZURE_FUNCTIONS_AUDIENCE") ?? app;
      return { authorization: `Bearer ${await azureToken(audience, `invoke ${url}`)}` };
    },
    authAdvice:
      "check AZURE_FUNCTIONS_KEY (a function or host key of the app), or the Entra token's audience and the app's authentication settings",
    logs: `Application Insights of function app "${name}"`,
  });
}
