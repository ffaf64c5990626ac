// The one place Glacier gets a Google Cloud access token, for the gs:// store
// and the Dataproc executor alike. Deliberately small: no service-account key
// files and no JWT signing, so no Google SDK is loaded.
//
// 1. `GOOGLE_OAUTH_ACCESS_TOKEN`, a ready bearer token (what `gcloud auth
//    print-access-token` prints; Terraform's Google provider reads the same).
// 2. On a GCP machine (Compute Engine, a Dataproc node, Cloud Run): the
//    metadata server's token for the attached service account. "On GCP" is
//    `GCE_METADATA_HOST` being set, or the machine's DMI product name saying
//    Google; elsewhere the metadata host is never contacted, so a laptop does
//    not wait on a DNS lookup that cannot succeed.
import { errorMessage, GlacierError } from "../src/errors.ts";
import { redactUrl } from "../src/_redact.ts";

const METADATA_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";

let cached: { token: string; until: number } | undefined;

/** Reads an environment variable; without --allow-env it is simply unset. */
export function gcpEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Whether this machine is on GCP (the metadata server may be asked). */
export function onGcp(): boolean {
  if (gcpEnv("GCE_METADATA_HOST")) return true;
  try {
    return /Google/.test(Deno.readTextFileSync("/sys/class/dmi/id/product_name"));
  } catch {
    return false;
  }
}

/**
 * A bearer token for Google Cloud APIs.
 *
 * @param purpose What it is for, for messages (`read gs://lake/x.csv`).
 * @returns The token.
 * @throws {GlacierError} `USER:GCP_CREDENTIALS` when there is none, saying how to provide one.
 * @throws {GlacierError} `SYSTEM:GCP_METADATA` when the metadata server does not give one.
 */
export async function gcpAccessToken(purpose: string): Promise<string> {
  const fromEnv = gcpEnv("GOOGLE_OAUTH_ACCESS_TOKEN");
  if (fromEnv) return fromEnv;
  if (cached && cached.until > Date.now()) return cached.token;
  if (!onGcp()) {
    throw new GlacierError(
      "USER:GCP_CREDENTIALS",
      `Cannot ${purpose}: no Google Cloud credentials; set GOOGLE_OAUTH_ACCESS_TOKEN (for example to the output of "gcloud auth print-access-token"), or run on GCP where the metadata server gives the machine's service account token`,
    );
  }
  const host = gcpEnv("GCE_METADATA_HOST") ?? "metadata.google.internal";
  const url = `http://${host}${METADATA_PATH}`;
  let body: { access_token?: string; expires_in?: number };
  try {
    const response = await fetch(url, {
      headers: { "Metadata-Flavor": "Google" },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`it answered ${response.status}`);
    }
    body = await response.json();
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:GCP_METADATA",
      `Cannot ${purpose}: the GCP metadata server at ${redactUrl(host)} gave no access token (${
        errorMessage(error)
      }); check the machine's service account, or set GOOGLE_OAUTH_ACCESS_TOKEN`,
      { cause: error, retryable: true },
    );
  }
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new GlacierError(
      "SYSTEM:GCP_METADATA",
      `Cannot ${purpose}: the GCP metadata server at ${
        redactUrl(host)
      } answered without an access_token; check the machine's service account`,
      { retryable: true },
    );
  }
  // Refresh a minute early so a token never expires in flight.
  cached = { token: body.access_token, until: Date.now() + ((body.expires_in ?? 300) - 60) * 1000 };
  return body.access_token;
}

/** Forgets a cached metadata-server token (tests, or after a 401). */
export function forgetGcpToken(): void {
  cached = undefined;
}

/** Replaces a token in text meant for people, in case a server echoes it. */
export function maskToken(text: string, token: string | undefined): string {
  return token ? text.replaceAll(token, "***") : text;
}
