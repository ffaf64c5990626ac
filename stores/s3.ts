/**
 * The S3 object store: `s3://` buckets through `@aws-sdk/client-s3`, large
 * objects through multipart upload (`@aws-sdk/lib-storage`). The client is
 * configured by the SDK's standard environment and config chain (region,
 * credentials, `AWS_ENDPOINT_URL_S3`, `AWS_MAX_ATTEMPTS`, profiles), and by
 * the `endpoint` and `forcePathStyle` of an {@linkcode AwsConfig} for
 * S3-compatible stores. Failures keep the SDK's retries with backoff and end
 * in a {@linkcode GlacierError} that names the URI and the endpoint.
 *
 * `mod.ts` loads this module only when an `s3://` bucket is first used, so a
 * local run never loads the AWS SDK.
 *
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { AwsConfig } from "../src/config/aws.ts";
import { errorMessage, GlacierError } from "../src/errors.ts";
import { redactUrl, redactUrls } from "../src/_redact.ts";
import { checkKey, type ObjectStore } from "../src/resources/object_store.ts";

/** Options for {@linkcode createS3Store}. */
export interface S3StoreOptions {
  /**
   * Attempts per request, the first included; the SDK backs off between them.
   * @default {the SDK's: `AWS_MAX_ATTEMPTS`, else 3}
   */
  maxAttempts?: number;
  /** Objects larger than this many bytes go up as a multipart upload. @default {16777216} */
  multipartThreshold?: number;
  /** The size of one multipart part in bytes (at least 5 MiB). @default {8388608} */
  partSize?: number;
  /** How many parts upload at once. @default {4} */
  queueSize?: number;
}

const MiB = 1024 * 1024;

/**
 * An {@linkcode ObjectStore} for `s3://` buckets. Build it with
 * {@linkcode createS3Store}.
 */
export class S3Store implements ObjectStore {
  /** Always `"s3"`. */
  readonly scheme = "s3";
  /** The endpoint requests go to, for messages: the configured one or AWS's regional one, any credentials in it hidden. */
  readonly endpoint: string;
  readonly #client: S3Client;
  readonly #options: Required<Omit<S3StoreOptions, "maxAttempts">>;
  readonly #onClose: () => void;

  /**
   * Use {@linkcode createS3Store}, which shares one client per configuration.
   *
   * @param client The SDK client.
   * @param endpoint The endpoint, for messages.
   * @param options Multipart settings.
   * @param onClose Called once the client is closed.
   */
  constructor(
    client: S3Client,
    endpoint: string,
    options: S3StoreOptions = {},
    onClose: () => void = () => {},
  ) {
    this.#client = client;
    this.endpoint = redactUrl(endpoint); // `http://user:pass@host` must not reach a message
    this.#options = {
      multipartThreshold: options.multipartThreshold ?? 16 * MiB,
      partSize: Math.max(options.partSize ?? 8 * MiB, 5 * MiB),
      queueSize: options.queueSize ?? 4,
    };
    this.#onClose = onClose;
  }

  /**
   * The URI of an object or prefix.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns `s3://bucket/key`.
   */
  uri(bucket: string, key: string): string {
    return `s3://${bucket}/${key}`;
  }

  /**
   * The object's bytes.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns The bytes.
   * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when it is missing, naming the URI (also when S3 answers 403 for it and a listing of the key, see {@linkcode S3Store.exists}, finds nothing).
   * @throws {GlacierError} `SYSTEM:STORE_UNREACHABLE` when the endpoint cannot be reached, naming it.
   */
  async get(bucket: string, key: string): Promise<Uint8Array> {
    checkKey(bucket, key);
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (error) {
      // Without s3:ListBucket on the whole bucket S3 answers a missing key with 403, not 404.
      if (statusOf(error) === 403 && await this.#listed(bucket, key) === false) {
        throw this.#notFound(bucket, key, error);
      }
      throw this.#wrap(error, "read", bucket, key);
    }
  }

  /**
   * Writes an object whole: S3 shows a new object only once it is complete,
   * and a failed multipart upload is aborted, so nothing partial remains.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @param data The bytes.
   * @throws {GlacierError} When S3 refuses the write or cannot be reached, naming the URI and endpoint.
   */
  async put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    checkKey(bucket, key);
    try {
      if (data.byteLength <= this.#options.multipartThreshold) {
        await this.#client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.byteLength }),
        );
        return;
      }
      const { Upload } = await import("@aws-sdk/lib-storage");
      await new Upload({
        client: this.#client,
        params: { Bucket: bucket, Key: key, Body: data },
        partSize: this.#options.partSize,
        queueSize: this.#options.queueSize,
        leavePartsOnError: false,
      }).done();
    } catch (error) {
      throw this.#wrap(error, "write", bucket, key);
    }
  }

  /**
   * Keys under a prefix, sorted; folder markers (keys ending in `/`) are left out.
   *
   * @param bucket The bucket.
   * @param prefix The prefix.
   * @returns The keys.
   * @throws {GlacierError} When the bucket is missing or S3 cannot be reached.
   */
  async list(bucket: string, prefix: string): Promise<string[]> {
    checkKey(bucket, prefix);
    const keys: string[] = [];
    try {
      let token: string | undefined;
      do {
        const out = await this.#client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
        );
        for (const object of out.Contents ?? []) {
          if (object.Key && !object.Key.endsWith("/")) keys.push(object.Key);
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.#wrap(error, "list", bucket, prefix);
    }
    return keys.sort();
  }

  /**
   * Whether an object exists. S3 answers HEAD of a missing key with 403
   * unless the caller may `s3:ListBucket` the whole bucket, which a role
   * whose listing is limited by an `s3:prefix` condition (as Glacier's
   * generated roles are) may not; on 403 the answer is a listing of the key
   * itself (`ListObjectsV2`, prefix the key, one key), which that role may make.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @returns `true` when it exists.
   * @throws {GlacierError} When S3 cannot be reached, or refuses both the HEAD and the listing of the key.
   */
  async exists(bucket: string, key: string): Promise<boolean> {
    checkKey(bucket, key);
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      if (statusOf(error) === 403) {
        const listed = await this.#listed(bucket, key);
        if (listed !== undefined) return listed;
      }
      throw this.#wrap(error, "check", bucket, key);
    }
  }

  // Whether a listing of exactly `key` finds it (the first key under a prefix
  // is the prefix itself when it exists); undefined when the listing is refused too.
  async #listed(bucket: string, key: string): Promise<boolean | undefined> {
    try {
      const out = await this.#client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }),
      );
      return out.Contents?.[0]?.Key === key;
    } catch (error) {
      if (statusOf(error) === 403 || nameOf(error) === "AccessDenied") return undefined;
      throw this.#wrap(error, "check", bucket, key);
    }
  }

  /**
   * Removes an object; removing a missing one is not an error.
   *
   * @param bucket The bucket.
   * @param key The key.
   * @throws {GlacierError} When S3 cannot be reached or refuses the request.
   */
  async delete(bucket: string, key: string): Promise<void> {
    checkKey(bucket, key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      if (statusOf(error) === 404 && nameOf(error) !== "NoSuchBucket") return;
      throw this.#wrap(error, "delete", bucket, key);
    }
  }

  /** Closes the client's connections; the store cannot be used afterwards. */
  close(): void {
    this.#onClose();
    this.#client.destroy();
  }

  #notFound(bucket: string, key: string, cause: unknown): GlacierError {
    return new GlacierError(
      "USER:OBJECT_NOT_FOUND",
      `No object at ${this.uri(bucket, key)}: check the bucket and path, or write it first`,
      { cause },
    );
  }

  #wrap(error: unknown, action: string, bucket: string, key: string): GlacierError {
    if (error instanceof GlacierError) return error;
    const uri = this.uri(bucket, key);
    const name = nameOf(error);
    const status = statusOf(error);
    const detail = redactUrls(errorMessage(error));
    if (name === "NoSuchKey" || (status === 404 && action === "read" && name !== "NoSuchBucket")) {
      return this.#notFound(bucket, key, error);
    }
    if (name === "NoSuchBucket") {
      return new GlacierError(
        "USER:BUCKET_NOT_FOUND",
        `Cannot ${action} ${uri}: bucket "${bucket}" does not exist at ${this.endpoint}; create it or check its name`,
        { cause: error },
      );
    }
    if (
      status === 403 || name === "AccessDenied" || name === "InvalidAccessKeyId" ||
      name === "SignatureDoesNotMatch"
    ) {
      return new GlacierError(
        "USER:ACCESS_DENIED",
        `Cannot ${action} ${uri}: ${this.endpoint} refused access (${detail}); check the AWS credentials and the bucket policy`,
        { cause: error },
      );
    }
    if (name === "CredentialsProviderError") {
      return new GlacierError(
        "USER:AWS_CREDENTIALS",
        `Cannot ${action} ${uri}: no AWS credentials found (${detail}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or load a .env file with --env-file`,
        { cause: error },
      );
    }
    const attempts = (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
    const tries = attempts ? ` after ${attempts} attempt${attempts === 1 ? "" : "s"}` : "";
    if (status === undefined) {
      return new GlacierError(
        "SYSTEM:STORE_UNREACHABLE",
        `Cannot ${action} ${uri}: S3 endpoint "${this.endpoint}" did not answer${tries} (${detail}); check that it is running and reachable, and AWS_ENDPOINT_URL_S3 or AwsConfig.endpoint`,
        { cause: error, retryable: true },
      );
    }
    return new GlacierError(
      "SYSTEM:STORE_FAILED",
      `Cannot ${action} ${uri}: S3 endpoint "${this.endpoint}" answered ${status}${tries} (${detail})`,
      { cause: error, retryable: status >= 500 || status === 429 },
    );
  }
}

function nameOf(error: unknown): string | undefined {
  return (error as { name?: string })?.name;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: the SDK cannot read it either
  }
}

const stores = new Map<string, S3Store>();

/**
 * The S3 store for an AWS provider config. Stores are shared per
 * configuration (config fields, options and the endpoint and credential
 * environment variables), so every bucket of a provider reuses one client
 * and its connections.
 *
 * @param config The provider's AWS config; `undefined` uses the SDK's environment alone.
 * @param options Retries and multipart settings.
 * @returns The store.
 * @throws {RangeError} When `maxAttempts` is not a positive whole number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createS3Store } from "./s3.ts";
 * import { AwsConfig } from "../src/config/aws.ts";
 * const store = createS3Store(new AwsConfig({ region: "eu-west-1", endpoint: "http://127.0.0.1:9", forcePathStyle: true }));
 * assert.ok(store.uri("lake", "raw/x.csv") === "s3://lake/raw/x.csv" && store.endpoint === "http://127.0.0.1:9");
 * store.close();
 * ```
 */
export function createS3Store(config: AwsConfig | undefined, options: S3StoreOptions = {}): S3Store {
  if (
    options.maxAttempts !== undefined &&
    (!Number.isSafeInteger(options.maxAttempts) || options.maxAttempts < 1)
  ) {
    throw new RangeError(`S3 store: maxAttempts ${options.maxAttempts} must be a whole number of at least 1`);
  }
  const region = config?.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  const envEndpoint = env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
  const endpoint = config?.endpoint ?? envEndpoint;
  const key = JSON.stringify([
    region,
    config?.endpoint,
    config?.forcePathStyle,
    config?.profile,
    options,
    envEndpoint,
    env("AWS_PROFILE"),
    env("AWS_ACCESS_KEY_ID"),
    env("AWS_MAX_ATTEMPTS"),
  ]);
  const shared = stores.get(key);
  if (shared) return shared;

  const clientConfig: S3ClientConfig = { region };
  if (config?.endpoint) clientConfig.endpoint = config.endpoint;
  if (config?.forcePathStyle) clientConfig.forcePathStyle = true;
  if (config?.profile) clientConfig.profile = config.profile;
  if (options.maxAttempts !== undefined) clientConfig.maxAttempts = options.maxAttempts;
  // S3-compatible servers often reject the SDK's default flexible checksums
  // (aws-chunked bodies with trailers); send them only where S3 requires them.
  if (endpoint) {
    if (!env("AWS_REQUEST_CHECKSUM_CALCULATION")) clientConfig.requestChecksumCalculation = "WHEN_REQUIRED";
    if (!env("AWS_RESPONSE_CHECKSUM_VALIDATION")) clientConfig.responseChecksumValidation = "WHEN_REQUIRED";
  }
  const store = new S3Store(
    new S3Client(clientConfig),
    endpoint ?? `https://s3.${region}.amazonaws.com`,
    options,
    () => stores.delete(key),
  );
  stores.set(key, store);
  return store;
}

/**
 * Closes every shared S3 store's connections, such as at the end of a test
 * or before a process exits on its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeS3Stores, createS3Store } from "./s3.ts";
 * const a = createS3Store(undefined);
 * closeS3Stores();
 * assert.ok(createS3Store(undefined) !== a);
 * closeS3Stores();
 * ```
 */
export function closeS3Stores(): void {
  for (const store of [...stores.values()]) store.close();
}
