// Where Glacier's Azure credentials come from, for the az:// store and the
// Azure Functions executor alike: the standard AZURE_STORAGE_* variables
// (connection string, account and key, SAS), a ready Entra bearer token, or
// on Azure (a function app, a VM) the managed identity endpoint. Small on
// purpose: no Azure SDK is loaded.
import { errorMessage, GlacierError } from "../src/errors.ts";
import { gcpEnv as env } from "./_gcp_auth.ts";

/** Azurite's documented development account and key (public, not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** How a Blob endpoint is reached and signed. */
export interface BlobAccess {
  /** The account name. */
  readonly account: string;
  /** The Blob endpoint, no trailing slash: `https://<account>.blob.core.windows.net`, or Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  readonly endpoint: string;
  /** The Shared Key, base64, when signing with it. */
  readonly key?: string;
  /** A SAS query string (no leading `?`). */
  readonly sas?: string;
  /** A fixed bearer token (`AZURE_STORAGE_TOKEN`). */
  readonly token?: string;
}

/** Parses `Name=value;…` connection strings, Azurite's `UseDevelopmentStorage=true` included. */
export function parseConnectionString(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

/**
 * The Blob access of this process: `AZURE_STORAGE_CONNECTION_STRING`, else
 * `AZURE_STORAGE_ACCOUNT` (or the config's account) with `AZURE_STORAGE_KEY`,
 * `AZURE_STORAGE_SAS_TOKEN` or a token; `AZURE_STORAGE_BLOB_ENDPOINT` overrides the endpoint.
 */
export function blobAccess(configAccount?: string): BlobAccess {
  const connection = env("AZURE_STORAGE_CONNECTION_STRING");
  if (connection) {
    const c = parseConnectionString(connection);
    if (/^true$/i.test(c.UseDevelopmentStorage ?? "")) {
      const proxy = c.DevelopmentStorageProxyUri ?? "http://127.0.0.1:10000";
      return {
        account: AZURITE_ACCOUNT,
        endpoint: `${proxy.replace(/\/+$/, "")}/${AZURITE_ACCOUNT}`,
        key: AZURITE_KEY,
      };
    }
    const account = c.AccountName ?? configAccount ?? "";
    const endpoint = c.BlobEndpoint ??
      `${c.DefaultEndpointsProtocol ?? "https"}://${account}.blob.${c.EndpointSuffix ?? "core.windows.net"}`;
    return {
      account,
      endpoint: endpoint.replace(/\/+$/, ""),
      ...(c.AccountKey ? { key: c.AccountKey } : {}),
      ...(c.SharedAccessSignature ? { sas: c.SharedAccessSignature.replace(/^\?/, "") } : {}),
    };
  }
  const account = env("AZURE_STORAGE_ACCOUNT") ?? configAccount ?? "";
  const endpoint = env("AZURE_STORAGE_BLOB_ENDPOINT") ?? `https://${account}.blob.core.windows.net`;
  const key = env("AZURE_STORAGE_KEY");
  const sas = env("AZURE_STORAGE_SAS_TOKEN")?.replace(/^\?/, "");
  const token = env("AZURE_STORAGE_TOKEN");
  return {
    account,
    endpoint: endpoint.replace(/\/+$/, ""),
    ...(key ? { key } : {}),
    ...(sas ? { sas } : {}),
    ...(token ? { token } : {}),
  };
}

const cached = new Map<string, { token: string; until: number }>();

/**
 * An Entra bearer token for a resource (`https://storage.azure.com/`):
 * `AZURE_ACCESS_TOKEN`, else the managed identity endpoint an Azure function
 * app or App Service gives (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
 *
 * @throws {GlacierError} `USER:AZURE_CREDENTIALS` when there is none, saying how to give one.
 */
export async function azureToken(resource: string, purpose: string): Promise<string> {
  const fromEnv = env("AZURE_ACCESS_TOKEN");
  if (fromEnv) return fromEnv;
  const hit = cached.get(resource);
  if (hit && hit.until > Date.now()) return hit.token;
  const endpoint = env("IDENTITY_ENDPOINT");
  const header = env("IDENTITY_HEADER");
  if (!endpoint || !header) {
    throw new GlacierError(
      "USER:AZURE_CREDENTIALS",
      `Cannot ${purpose}: no Azure credentials; set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, or AZURE_ACCESS_TOKEN (for example "az account get-access-token --query accessToken -o tsv"), or run on Azure with a managed identity`,
    );
  }
  let body: { access_token?: string; expires_on?: string | number };
  try {
    const url = `${endpoint}?resource=${encodeURIComponent(resource)}&api-version=2019-08-01`;
    const response = await fetch(url, {
      headers: { "X-IDENTITY-HEADER": header },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`it answered ${response.status}`);
    }
    body = await response.json();
  } catch (error) {
    throw new GlacierError(
      "SYSTEM:AZURE_IDENTITY",
      `Cannot ${purpose}: the managed identity endpoint gave no token (${errorMessage(error)})`,
      { cause: error, retryable: true },
    );
  }
  if (!body.access_token) {
    throw new GlacierError("SYSTEM:AZURE_IDENTITY", `Cannot ${purpose}: the managed identity gave no token`, {
      retryable: true,
    });
  }
  const until = Number(body.expires_on ?? 0) * 1000 || Date.now() + 300_000;
  cached.set(resource, { token: body.access_token, until: until - 60_000 });
  return body.access_token;
}

/**
 * The `Authorization` value of a Shared Key request (Blob service, version 2015-02-21+).
 *
 * @param access The account and key.
 * @param method The HTTP method.
 * @param url The request URL.
 * @param headers The request's headers (lower-case names).
 */
export async function sharedKeyAuthorization(
  access: BlobAccess,
  method: string,
  url: URL,
  headers: Record<string, string>,
): Promise<string> {
  const h = (name: string) => headers[name] ?? "";
  const length = h("content-length") === "0" ? "" : h("content-length");
  const canonicalHeaders = Object.keys(headers).filter((k) => k.startsWith("x-ms-")).sort()
    .map((k) => `${k}:${headers[k].trim()}\n`).join("");
  const params = new Map<string, string[]>();
  for (const [k, v] of url.searchParams) {
    const name = k.toLowerCase();
    params.set(name, [...(params.get(name) ?? []), v]);
  }
  const canonicalQuery = [...params.keys()].sort().map((k) => `\n${k}:${params.get(k)!.sort().join(",")}`)
    .join("");
  const text = [
    method,
    h("content-encoding"),
    h("content-language"),
    length,
    h("content-md5"),
    h("content-type"),
    "", // Date: x-ms-date is sent instead
    h("if-modified-since"),
    h("if-match"),
    h("if-none-match"),
    h("if-unmodified-since"),
    h("range"),
  ].join("\n") + "\n" + canonicalHeaders + `/${access.account}${url.pathname}` + canonicalQuery;
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(access.key!), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  return `SharedKey ${access.account}:${btoa(String.fromCharCode(...signature))}`;
}
