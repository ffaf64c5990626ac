/**
 * The Cloud Storage object store: `gs://` buckets over the Cloud Storage JSON
 * API with `fetch`, no Google SDK. Objects go up in one media upload
 * (`uploadType=media`): Cloud Storage makes an object visible only once its
 * upload is complete, so a reader never sees a half-written object, and a
 * failed upload leaves the previous version (or nothing) in place.
 *
 * Requests go to `https://storage.googleapis.com`, or to
 * `http://$STORAGE_EMULATOR_HOST` when that variable is set (the one Google's
 * own client libraries honour for an emulator). Auth is a bearer token from
 * `GOOGLE_OAUTH_ACCESS_TOKEN`, else the metadata server's on a GCP machine;
 * an emulator needs none. Connection failures, 429 and 5xx answers are
 * retried with backoff, then end in a {@linkcode GlacierError} that names the
 * URI and the endpoint.
 *
 * `mod.ts` loads this module only when a `gs://` bucket is first used.
 *
 * @module
 */
import type { GcpConfig } from "../src/config/gcp.ts";
import { errorMessage, GlacierError } from "../src/errors.ts";
import { redactUrl, redactUrls } from "../src/_redact.ts";
import { checkKey, type ObjectStore } from "../src/resources/object_store.ts";
import { gcpAccessToken, gcpEnv, maskToken } from "./_gcp_auth.ts";

/** Options for {@linkcode createGcsStore}. */
export interface GcsStoreOptions {
  /** Attempts per request, the first included; connection failures, 429 and 5xx are retried. @default {3} */
  maxAttempts?: number;
  /** Objects per list page. @default {1000} */
  pageSize?: number;
  /** The endpoint. @default {`http://$STORAGE_EMULATOR_HOST` when set, else `https://storage.googleapis.com`} */
  endpoint?: string;
}

/** The JSON API's error body. */
interface ApiError {
  error?: { code?: number; message?: string };
}

/** A refused request: the status and Google's message. */
class GcsHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * An {@linkcode ObjectStore} for `gs://` buckets. Build it with
 * {@linkcode createGcsStore}.
 */
export class GcsStore implements ObjectStore {
  /** Always `"gs"`. */
  readonly scheme = "gs";
  /** The endpoint requests go to. */
  readonly endpoint: string;
  /** Whether the endpoint is an emulator (no token needed). */
  readonly emulator: boolean;
  /** The endpoint for messages, credentials hidden. */
  readonly #shown: string;
  readonly #maxAttempts: number;
  readonly #pageSize: number;
  #token: string | undefined;

  /**
   * Use {@linkcode createGcsStore}.
   *
   * @param endpoint The endpoint, without a trailing slash.
   * @param emulator Whether it is an emulator.
   * @param options Retries and paging.
   */
  constructor(endpoint: string, emulator: boolean, options: GcsStoreOptions = {}) {
    this.endpoint = endpoint;
    this.#shown = redactUrl(endpoint);
    this.emulator = emulator;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#pageSize = options.pageSize ?? 1000;
  }

  /**
   * The URI of an object or prefix.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns `gs://bucket/key`.
   */
  uri(bucket: string, key: string): string {
    return `gs://${bucket}/${key}`;
  }

  /**
   * The object's bytes.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns The bytes.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when it is missing, naming the URI.
   * @throws {GlacierError} `SYSTEM:STORE_UNREACHABLE` when the endpoint cannot be reached, naming it.
   */
  async get(bucket: string, key: string): Promise<Uint8Array> {
    checkKey(bucket, key);
    return await this.#call("read", bucket, key, async () => {
      const response = await this.#fetch("GET", `${this.#object(bucket, key)}?alt=media`);
      return new Uint8Array(await response.arrayBuffer());
    });
  }

  /**
   * Writes an object whole in one media upload: Cloud Storage shows it only
   * once the upload completes, so nothing partial is ever visible.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @param data The bytes.
   * @throws {GlacierError} When Cloud Storage refuses the write or cannot be reached, naming the URI and endpoint.
   */
  async put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    checkKey(bucket, key);
    const url = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&name=${
      encodeURIComponent(key)
    }`;
    await this.#call("write", bucket, key, async () => {
      const response = await this.#fetch("POST", url, data);
      await response.body?.cancel();
    });
  }

  /**
   * Keys under a prefix, sorted; folder markers (keys ending in `/`) are left out.
   *
   * @param bucket The bucket.
   * @param prefix The prefix.
   * @returns The keys.
   * @throws {GlacierError} When the bucket is missing or Cloud Storage cannot be reached.
   */
  async list(bucket: string, prefix: string): Promise<string[]> {
    checkKey(bucket, prefix);
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({
        maxResults: String(this.#pageSize),
        fields: "items(name),nextPageToken",
      });
      if (prefix) query.set("prefix", prefix);
      if (pageToken) query.set("pageToken", pageToken);
      const url = `${this.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o?${query}`;
      const page = await this.#call("list", bucket, prefix, async () => {
        const response = await this.#fetch("GET", url);
        return await response.json() as { items?: { name?: string }[]; nextPageToken?: string };
      });
      for (const item of page.items ?? []) {
        if (item.name && !item.name.endsWith("/")) keys.push(item.name);
      }
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return keys.sort();
  }

  /**
   * Whether an object exists.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns `true` when it exists.
   * @throws {GlacierError} When Cloud Storage cannot be reached or refuses the request.
   */
  async exists(bucket: string, key: string): Promise<boolean> {
    checkKey(bucket, key);
    return await this.#call("check", bucket, key, async () => {
      try {
        const response = await this.#fetch("GET", `${this.#object(bucket, key)}?fields=name`);
        await response.body?.cancel();
        return true;
      } catch (error) {
        if (error instanceof GcsHttpError && error.status === 404) return false;
        throw error;
      }
    });
  }

  /**
   * Removes an object; removing a missing one is not an error.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @throws {GlacierError} When the bucket is missing, or Cloud Storage cannot be reached or refuses the request.
   */
  async delete(bucket: string, key: string): Promise<void> {
    checkKey(bucket, key);
    await this.#call("delete", bucket, key, async () => {
      try {
        const response = await this.#fetch("DELETE", this.#object(bucket, key));
        await response.body?.cancel();
      } catch (error) {
        if (error instanceof GcsHttpError && error.status === 404 && !isBucketMissing(error)) return;
        throw error;
      }
    });
  }

  #object(bucket: string, key: string): string {
    return `${this.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}`;
  }

  // One request: an ok response, or a GcsHttpError with Google's message.
  async #fetch(method: string, url: string, body?: Uint8Array): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body) headers["Content-Type"] = "application/octet-stream";
    const response = await fetch(url, { method, headers, ...(body ? { body: body as BodyInit } : {}) });
    if (response.ok) return response;
    const text = await response.text();
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as ApiError).error?.message ?? message;
    } catch { /* plain text */ }
    throw new GcsHttpError(response.status, maskToken(message, this.#token));
  }

  // Runs one operation with a token, retrying what may pass, and turns what
  // is left into a GlacierError naming the URI and the endpoint.
  async #call<T>(action: string, bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    const uri = this.uri(bucket, key);
    this.#token = this.emulator
      ? gcpEnv("GOOGLE_OAUTH_ACCESS_TOKEN")
      : await gcpAccessToken(`${action} ${uri}`);
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        return await run();
      } catch (error) {
        const status = error instanceof GcsHttpError ? error.status : undefined;
        const transient = status === undefined || status === 429 || status >= 500;
        if (!transient || attempt >= this.#maxAttempts || error instanceof GlacierError) {
          throw this.#wrap(error, action, bucket, uri, attempt);
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random() / 2)));
      }
    }
  }

  #wrap(error: unknown, action: string, bucket: string, uri: string, attempts: number): GlacierError {
    if (error instanceof GlacierError) return error;
    const detail = redactUrls(maskToken(errorMessage(error), this.#token));
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    if (!(error instanceof GcsHttpError)) {
      return new GlacierError(
        "SYSTEM:STORE_UNREACHABLE",
        `Cannot ${action} ${uri}: Cloud Storage endpoint "${this.#shown}" did not answer${tries} (${detail}); check that it is running and reachable${
          this.emulator ? ", and STORAGE_EMULATOR_HOST" : ""
        }`,
        { cause: error, retryable: true },
      );
    }
    const status = error.status;
    if (status === 404 && (isBucketMissing(error) || action === "list")) {
      return new GlacierError(
        "USER:BUCKET_NOT_FOUND",
        `Cannot ${action} ${uri}: bucket "${bucket}" does not exist at ${this.#shown}; create it or check its name`,
        { cause: error },
      );
    }
    if (status === 404) {
      return new GlacierError(
        "USER:OBJECT_NOT_FOUND",
        `No object at ${uri}: check the bucket and path, or write it first`,
        { cause: error },
      );
    }
    if (status === 401 || status === 403) {
      return new GlacierError(
        "USER:ACCESS_DENIED",
        `Cannot ${action} ${uri}: ${this.#shown} refused access (${status} ${detail}); check GOOGLE_OAUTH_ACCESS_TOKEN (it may have expired) or the service account's roles on the bucket`,
        { cause: error },
      );
    }
    return new GlacierError(
      "SYSTEM:STORE_FAILED",
      `Cannot ${action} ${uri}: Cloud Storage endpoint "${this.#shown}" answered ${status}${tries} (${detail})`,
      { cause: error, retryable: status >= 500 || status === 429 },
    );
  }
}

function isBucketMissing(error: GcsHttpError): boolean {
  return /bucket does not exist|no such bucket/i.test(error.message);
}

/**
 * The Cloud Storage store for a GCP provider config. The config is not needed
 * to reach objects (a `gs://` URI names its bucket); the endpoint comes from
 * the options or `STORAGE_EMULATOR_HOST`.
 *
 * @param _config The provider's GCP config.
 * @param options Retries, paging and the endpoint.
 * @returns The store.
 * @throws {RangeError} When `maxAttempts` or `pageSize` is not a positive whole number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createGcsStore } from "./gcs.ts";
 * const store = createGcsStore(undefined, { endpoint: "http://127.0.0.1:9" });
 * assert.ok(store.uri("lake", "raw/x.csv") === "gs://lake/raw/x.csv" && store.endpoint === "http://127.0.0.1:9");
 * ```
 */
export function createGcsStore(_config: GcpConfig | undefined, options: GcsStoreOptions = {}): GcsStore {
  for (const name of ["maxAttempts", "pageSize"] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new RangeError(`Cloud Storage store: ${name} ${value} must be a whole number of at least 1`);
    }
  }
  const host = gcpEnv("STORAGE_EMULATOR_HOST");
  const emulatorEndpoint = host ? (/^https?:\/\//.test(host) ? host : `http://${host}`) : undefined;
  const endpoint = (options.endpoint ?? emulatorEndpoint ?? "https://storage.googleapis.com").replace(
    /\/+$/,
    "",
  );
  const emulator = options.endpoint !== undefined
    ? !endpoint.startsWith("https://storage.googleapis.com")
    : emulatorEndpoint !== undefined;
  return new GcsStore(endpoint, emulator, options);
}
