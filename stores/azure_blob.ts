/**
 * The Azure Blob object store: `az://<container>/<blob>` over the Blob
 * service REST API with `fetch`, no Azure SDK. An object goes up in one Put
 * Blob (a block blob), which Azure commits whole: a reader never sees a
 * half-written blob, and a failed upload leaves the previous version.
 *
 * The account and credentials follow the standard environment:
 * `AZURE_STORAGE_CONNECTION_STRING` (Azurite's `UseDevelopmentStorage=true`
 * or `AccountName=…;AccountKey=…;BlobEndpoint=…`), else
 * `AZURE_STORAGE_ACCOUNT` (or `AzureConfig({ storageAccount })`) with
 * `AZURE_STORAGE_KEY` (Shared Key signing), `AZURE_STORAGE_SAS_TOKEN`, or an
 * Entra token (`AZURE_STORAGE_TOKEN`, `AZURE_ACCESS_TOKEN`, else the managed
 * identity of an Azure function app). `AZURE_STORAGE_BLOB_ENDPOINT` points it
 * at an emulator; Azurite's path-style endpoints
 * (`http://127.0.0.1:10000/devstoreaccount1`) work as they are. Connection
 * failures, 429 and 5xx are retried with backoff, then end in a
 * {@linkcode GlacierError} naming the URI and the endpoint.
 *
 * @module
 */
import type { AzureConfig } from "../src/config/azure.ts";
import { errorMessage, GlacierError } from "../src/errors.ts";
import { redactUrl } from "../src/_redact.ts";
import { checkKey, type ObjectStore } from "../src/resources/object_store.ts";
import { azureToken, type BlobAccess, blobAccess, sharedKeyAuthorization } from "./_azure_auth.ts";
import { maskToken } from "./_gcp_auth.ts";

/** The Blob service REST version Glacier speaks. */
export const BLOB_API_VERSION = "2023-11-03";

/** Options for {@linkcode createAzureBlobStore}. */
export interface AzureBlobStoreOptions {
  /** Attempts per request, the first included. @default {3} */
  maxAttempts?: number;
  /** Blobs per list page. @default {5000} */
  pageSize?: number;
  /** The account and credentials. @default {from the environment, see the module doc} */
  access?: BlobAccess;
}

class BlobHttpError extends Error {
  constructor(readonly status: number, readonly errorCode: string, message: string) {
    super(message);
  }
}

/** An {@linkcode ObjectStore} for `az://` containers. Build it with {@linkcode createAzureBlobStore}. */
export class AzureBlobStore implements ObjectStore {
  /** Always `"az"`. */
  readonly scheme = "az";
  /** The Blob endpoint requests go to. */
  readonly endpoint: string;
  readonly #access: BlobAccess;
  readonly #shown: string;
  readonly #maxAttempts: number;
  readonly #pageSize: number;
  #token?: string;

  /**
   * Use {@linkcode createAzureBlobStore}.
   *
   * @param access The account, endpoint and credentials.
   * @param options Retries and paging.
   */
  constructor(access: BlobAccess, options: AzureBlobStoreOptions = {}) {
    this.#access = access;
    this.endpoint = access.endpoint;
    this.#shown = redactUrl(access.endpoint);
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#pageSize = options.pageSize ?? 5000;
  }

  /**
   * The URI of an object or prefix.
   *
   * @param bucket The container.
   * @param key The blob name.
   * @returns `az://container/key`.
   */
  uri(bucket: string, key: string): string {
    return `az://${bucket}/${key}`;
  }

  /**
   * The blob's bytes.
   *
   * @param bucket The container.
   * @param key The blob name.
   * @returns The bytes.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when it is missing; `SYSTEM:STORE_UNREACHABLE` when the endpoint does not answer.
   */
  async get(bucket: string, key: string): Promise<Uint8Array> {
    checkKey(bucket, key);
    return await this.#call("read", bucket, key, async () => {
      const response = await this.#fetch("GET", this.#url(bucket, key));
      return new Uint8Array(await response.arrayBuffer());
    });
  }

  /**
   * Writes a block blob whole in one Put Blob, which Azure commits atomically.
   *
   * @param bucket The container.
   * @param key The blob name.
   * @param data The bytes.
   * @throws {GlacierError} When Azure refuses the write or cannot be reached.
   */
  async put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    checkKey(bucket, key);
    await this.#call("write", bucket, key, async () => {
      const response = await this.#fetch("PUT", this.#url(bucket, key), data, {
        "x-ms-blob-type": "BlockBlob",
        "content-type": "application/octet-stream",
      });
      await response.body?.cancel();
    });
  }

  /**
   * Blob names under a prefix, sorted.
   *
   * @param bucket The container.
   * @param prefix The prefix.
   * @returns The names.
   * @throws {GlacierError} `USER:BUCKET_NOT_FOUND` when the container is missing.
   */
  async list(bucket: string, prefix: string): Promise<string[]> {
    checkKey(bucket, prefix);
    const keys: string[] = [];
    let marker = "";
    do {
      const url = new URL(this.#url(bucket));
      url.searchParams.set("restype", "container");
      url.searchParams.set("comp", "list");
      url.searchParams.set("maxresults", String(this.#pageSize));
      if (prefix) url.searchParams.set("prefix", prefix);
      if (marker) url.searchParams.set("marker", marker);
      const xml = await this.#call("list", bucket, prefix, async () => {
        return await (await this.#fetch("GET", url.href)).text();
      });
      for (const m of xml.matchAll(/<Blob>[\s\S]*?<Name>([\s\S]*?)<\/Name>/g)) {
        const name = unescapeXml(m[1]);
        if (!name.endsWith("/")) keys.push(name);
      }
      marker = unescapeXml(/<NextMarker>([\s\S]*?)<\/NextMarker>/.exec(xml)?.[1] ?? "");
    } while (marker);
    return keys.sort();
  }

  /**
   * Whether a blob exists.
   *
   * @param bucket The container.
   * @param key The blob name.
   * @returns `true` when it exists.
   * @throws {GlacierError} When Azure cannot be reached or refuses the request.
   */
  async exists(bucket: string, key: string): Promise<boolean> {
    checkKey(bucket, key);
    return await this.#call("check", bucket, key, async () => {
      try {
        await (await this.#fetch("HEAD", this.#url(bucket, key))).body?.cancel();
        return true;
      } catch (error) {
        if (
          error instanceof BlobHttpError && error.status === 404 && error.errorCode !== "ContainerNotFound"
        ) {
          return false;
        }
        throw error;
      }
    });
  }

  /**
   * Removes a blob; removing a missing one is not an error.
   *
   * @param bucket The container.
   * @param key The blob name.
   * @throws {GlacierError} When the container is missing or Azure cannot be reached.
   */
  async delete(bucket: string, key: string): Promise<void> {
    checkKey(bucket, key);
    await this.#call("delete", bucket, key, async () => {
      try {
        await (await this.#fetch("DELETE", this.#url(bucket, key))).body?.cancel();
      } catch (error) {
        if (error instanceof BlobHttpError && error.errorCode === "BlobNotFound") return;
        throw error;
      }
    });
  }

  #url(bucket: string, key?: string): string {
    const path = key === undefined ? "" : `/${key.split("/").map(encodeURIComponent).join("/")}`;
    return `${this.endpoint}/${encodeURIComponent(bucket)}${path}`;
  }

  async #fetch(
    method: string,
    href: string,
    body?: Uint8Array,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(href);
    if (this.#access.sas) {
      for (const [k, v] of new URLSearchParams(this.#access.sas)) url.searchParams.set(k, v);
    }
    const headers: Record<string, string> = {
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": BLOB_API_VERSION,
      ...extra,
    };
    if (body) headers["content-length"] = String(body.byteLength);
    if (this.#access.key && !this.#access.sas) {
      // The SAS signature is already in the query; sign only Shared Key requests.
      const unsigned = new URL(href);
      headers.authorization = await sharedKeyAuthorization(this.#access, method, unsigned, headers);
    } else if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await fetch(url, { method, headers, ...(body ? { body: body as BodyInit } : {}) });
    if (response.ok) return response;
    const text = method === "HEAD" ? "" : await response.text();
    const errorCode = response.headers.get("x-ms-error-code") ?? /<Code>(.*?)<\/Code>/.exec(text)?.[1] ?? "";
    const message = /<Message>([\s\S]*?)<\/Message>/.exec(text)?.[1]?.split("\n")[0] ?? text.slice(0, 300);
    throw new BlobHttpError(response.status, errorCode, maskToken(message || errorCode, this.#token));
  }

  async #call<T>(action: string, bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    const uri = this.uri(bucket, key);
    if (!this.#access.key && !this.#access.sas) {
      this.#token = this.#access.token ?? await azureToken("https://storage.azure.com/", `${action} ${uri}`);
    }
    for (let attempt = 1;; attempt++) {
      try {
        return await run();
      } catch (error) {
        const status = error instanceof BlobHttpError ? error.status : undefined;
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
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    if (!(error instanceof BlobHttpError)) {
      return new GlacierError(
        "SYSTEM:STORE_UNREACHABLE",
        `Cannot ${action} ${uri}: Azure Blob endpoint "${this.#shown}" did not answer${tries} (${
          maskToken(errorMessage(error), this.#token)
        }); check that it is running and reachable (AZURE_STORAGE_BLOB_ENDPOINT or the connection string's BlobEndpoint)`,
        { cause: error, retryable: true },
      );
    }
    const { status, errorCode } = error;
    if (errorCode === "ContainerNotFound" || (status === 404 && action === "list")) {
      return new GlacierError(
        "USER:BUCKET_NOT_FOUND",
        `Cannot ${action} ${uri}: container "${bucket}" does not exist at ${this.#shown}; create it or check its name`,
        { cause: error },
      );
    }
    if (status === 404) {
      return new GlacierError(
        "USER:OBJECT_NOT_FOUND",
        `No object at ${uri}: check the container and path, or write it first`,
        { cause: error },
      );
    }
    if (status === 401 || status === 403) {
      return new GlacierError(
        "USER:ACCESS_DENIED",
        `Cannot ${action} ${uri}: ${this.#shown} refused access (${status} ${errorCode}: ${error.message}); check AZURE_STORAGE_KEY / the connection string, the token, or the identity's role on the container`,
        { cause: error },
      );
    }
    return new GlacierError(
      "SYSTEM:STORE_FAILED",
      `Cannot ${action} ${uri}: Azure Blob endpoint "${this.#shown}" answered ${status} ${errorCode}${tries} (${error.message})`,
      { cause: error, retryable: status >= 500 || status === 429 },
    );
  }
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * The Azure Blob store for an Azure provider config (its `storageAccount`
 * when the environment names none).
 *
 * @param config The provider's Azure config.
 * @param options Retries, paging and the access.
 * @returns The store.
 * @throws {GlacierError} `USER:AZURE_CREDENTIALS` when no storage account is named anywhere.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAzureBlobStore } from "./azure_blob.ts";
 * const store = createAzureBlobStore(undefined, { access: { account: "lake", endpoint: "http://127.0.0.1:9/lake", key: "a2V5" } });
 * assert.ok(store.uri("raw", "x.csv") === "az://raw/x.csv");
 * ```
 */
export function createAzureBlobStore(
  config: AzureConfig | undefined,
  options: AzureBlobStoreOptions = {},
): AzureBlobStore {
  const access = options.access ?? blobAccess(config?.storageAccount);
  if (!access.account) {
    throw new GlacierError(
      "USER:AZURE_CREDENTIALS",
      "Cannot reach az:// storage: no storage account; set AzureConfig({ storageAccount }), AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_CONNECTION_STRING",
    );
  }
  return new AzureBlobStore(access, options);
}
