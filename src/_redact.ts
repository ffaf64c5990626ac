// The one place that hides secrets carried inside URLs before a URL or a
// message holding one is printed: credentials in the authority
// (`http://user:pass@host`, as AWS_ENDPOINT_URL_S3, STORAGE_EMULATOR_HOST or
// DATABRICKS_HOST may hold) and query parameters that carry a signature, a
// token or a key (presigned S3 and GCS URLs, API keys).

const HIDDEN = "***";

// Query parameters whose value is a secret, lower case.
const SECRET_PARAMS = [
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "x-goog-signature",
  "x-goog-credential",
  "signature",
  "sig",
  "token",
  "access_token",
  "id_token",
  "refresh_token",
  "key",
  "api_key",
  "apikey",
  "password",
  "passwd",
  "secret",
  "client_secret",
];

// `scheme://` then everything up to the last `@` of the authority: `[^…]*` is
// greedy, so a password with an unescaped `@` is hidden whole.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'`<>]*@/gi;
const PARAMS = new RegExp(
  `([?&](?:${SECRET_PARAMS.join("|")})=)[^&#\\s"'\`<>]*`,
  "gi",
);

/**
 * Hides the secrets of every URL inside a text: the user and password of
 * `scheme://user:pass@host` and the values of query parameters such as
 * `X-Amz-Signature`, `token` or `key`. Text without such URLs is returned as is.
 *
 * @param text A message, a log line or a URL.
 * @returns The text with each secret replaced by `***`.
 */
export function redactUrls(text: string): string {
  if (!text.includes("@") && !/[?&]/.test(text)) return text;
  return text.replace(USERINFO, `$1${HIDDEN}@`).replace(PARAMS, `$1${HIDDEN}`);
}

/**
 * A URL, or a bare `host:port` that may carry `user:pass@`, safe to print.
 *
 * @param url The URL or host.
 * @returns It with its credentials and secret query values replaced by `***`.
 */
export function redactUrl(url: string | URL): string {
  const text = url instanceof URL ? url.href : String(url);
  // A bare authority (STORAGE_EMULATOR_HOST, GCE_METADATA_HOST, DATABRICKS_HOST without a scheme).
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return redactUrls(text.replace(/^[^\s/?#"'`<>]*@/, `${HIDDEN}@`));
  }
  return redactUrls(text);
}
