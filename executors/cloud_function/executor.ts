/**
 * The Cloud Functions executor: runs task calls on the Cloud Run function
 * (Cloud Functions 2nd gen) of their serverless resource, one function per
 * resource (`glacier-<pipeline>-<resource>`), the task chosen by the payload.
 * Each attempt is one HTTPS POST of Glacier's task payload to the function's
 * URL with an identity token (`Authorization: Bearer`): `GOOGLE_ID_TOKEN`
 * (what `gcloud auth print-identity-token` prints), else on GCP the metadata
 * server's identity token for the function's URL as audience. Tables over
 * Cloud Run's 32 MiB request cap are staged through `GcpConfig({
 * stagingBucket: "gs://…" })`. 429 and 5xx (throttling, cold starts) are
 * retried within the task's `retries`; a task that throws fails with its
 * remote type, message and stack. The URL is
 * `https://<region>-<project>.cloudfunctions.net/<name>`, or the template in
 * `GLACIER_CLOUD_FUNCTIONS_URL` (`{name}`, `{region}`, `{project}`; an
 * emulator's).
 *
 * @module
 */
import type { CloudFunctionConfig, GcpConfig } from "../../src/config/gcp.ts";
import { functionName } from "../../src/codegen/naming.ts";
import { errorMessage, GlacierError } from "../../src/errors.ts";
import type { RemoteExecutorOptions } from "../../src/run/remote_executors.ts";
import { checkAdapter } from "../_remote.ts";
import { SERVICES } from "../../src/config/services.ts";
import { fillTemplate, FunctionExecutor } from "../_function_http.ts";
import { gcpEnv, onGcp } from "../../stores/_gcp_auth.ts";

/** Cloud Run's cap on an HTTP/1 request and response body, in bytes (the service table's). */
export const CLOUD_FUNCTION_PAYLOAD_CAP: number = SERVICES["cloud-function"].payloadCap;

/** The URL template of a deployed function. */
export const CLOUD_FUNCTION_URL = "https://{region}-{project}.cloudfunctions.net/{name}";

/** Options for {@linkcode createCloudFunctionExecutor}, beyond a cloud run's. */
export interface CloudFunctionExecutorOptions extends RemoteExecutorOptions {
  /** The URL template. @default {Deno.env GLACIER_CLOUD_FUNCTIONS_URL, else CLOUD_FUNCTION_URL} */
  endpoint?: string;
  /** The request cap (tests lower it to see staging). @default {CLOUD_FUNCTION_PAYLOAD_CAP} */
  payloadCap?: number;
}

const cachedTokens = new Map<string, { token: string; until: number }>();

/**
 * An identity token whose audience is the function's URL.
 *
 * @param audience The function's URL.
 * @throws {GlacierError} `USER:GCP_CREDENTIALS` off GCP without `GOOGLE_ID_TOKEN`; `SYSTEM:GCP_METADATA` when the metadata server gives none.
 */
export async function identityToken(audience: string): Promise<string> {
  const fromEnv = gcpEnv("GOOGLE_ID_TOKEN");
  if (fromEnv) return fromEnv;
  const hit = cachedTokens.get(audience);
  if (hit && hit.until > Date.now()) return hit.token;
  if (!onGcp()) {
    throw new GlacierError(
      "USER:GCP_CREDENTIALS",
      `Cannot invoke ${audience}: no identity token; set GOOGLE_ID_TOKEN (for example to the output of "gcloud auth print-identity-token"), or run on GCP where the metadata server gives one`,
    );
  }
  const host = gcpEnv("GCE_METADATA_HOST") ?? "metadata.google.internal";
  try {
    const response = await fetch(
      `http://${host}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${
        encodeURIComponent(audience)
      }&format=full`,
      { headers: { "Metadata-Flavor": "Google" }, signal: AbortSignal.timeout(5_000) },
    );
    const token = (await response.text()).trim();
    if (!response.ok || !token) throw new Error(`it answered ${response.status}`);
    // Google's identity tokens live an hour; refresh well before.
    cachedTokens.set(audience, { token, until: Date.now() + 50 * 60_000 });
    return token;
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:GCP_METADATA",
      `Cannot invoke ${audience}: the GCP metadata server gave no identity token (${
        errorMessage(error)
      }); check the machine's service account, or set GOOGLE_ID_TOKEN`,
      { cause: error, retryable: true },
    );
  }
}

/**
 * The factory `wiring.ts` wires in for the `cloud-function` service.
 *
 * @param options The run and the resource.
 * @returns The executor.
 * @throws {TypeError} When the resource is not a Cloud Functions resource.
 */
export function createCloudFunctionExecutor(options: CloudFunctionExecutorOptions): FunctionExecutor {
  const { resource } = options;
  checkAdapter(resource, "cloud-function", "CloudFunctionExecutor");
  const gcp = options.provider?.cloud === "gcp" ? options.provider as GcpConfig : undefined;
  const name = functionName(options.pipeline, resource.info()).replace(/_/g, "-");
  const template = options.endpoint ?? gcpEnv("GLACIER_CLOUD_FUNCTIONS_URL") ?? CLOUD_FUNCTION_URL;
  const url = fillTemplate(template, {
    name,
    region: gcp?.region ?? "us-central1",
    project: gcp?.project ?? "",
  });
  const config = resource.config as CloudFunctionConfig | undefined;
  return new FunctionExecutor(options, {
    name: "cloud-function",
    label: "Cloud Run function",
    code: "CLOUD_FUNCTION",
    functionName: name,
    url,
    cap: options.payloadCap ?? CLOUD_FUNCTION_PAYLOAD_CAP,
    concurrency: config?.maxInstances ?? 100,
    headers: async () => ({ authorization: `Bearer ${await identityToken(url)}` }),
    authAdvice:
      "give the caller roles/run.invoker on the function, and check GOOGLE_ID_TOKEN (it may have expired; its audience must be the function's URL)",
    logs: `Cloud Logging of Cloud Run function "${name}"`,
  });
}
