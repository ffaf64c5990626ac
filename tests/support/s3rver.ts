/**
 * A real S3 HTTP server for tests: `s3rver` on 127.0.0.1, on a free port,
 * storing into a fresh temp folder.
 *
 * @module
 */
import S3rver from "s3rver";
import { S3Client } from "@aws-sdk/client-s3";
import { S3Store } from "../../stores/s3.ts";

/** A running s3rver. */
export interface S3rverHandle {
  /** The endpoint URL, such as `http://127.0.0.1:53211`. */
  readonly endpoint: string;
  /** The folder the server stores objects in. */
  readonly directory: string;
  /** What the server did, one `"<event> <key>"` each, such as `"ObjectCreated:Post big.bin"` for a completed multipart upload. */
  readonly events: string[];
  /** Stops the server (dropping open connections) and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startS3rver}. */
export interface StartS3rverOptions {
  /** Buckets to create before the server starts. @default {[]} */
  buckets?: string[];
  /** The port, to bring a stopped server back where it was. @default {0: the OS picks} */
  port?: number;
  /** The folder to store into, to bring a stopped server back with its data. @default {a fresh temp folder} */
  directory?: string;
  /** Keep the folder when stopping. @default {false} */
  keep?: boolean;
}

/** The dummy credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/**
 * Starts s3rver on 127.0.0.1 on a port the OS picks.
 *
 * @param options Buckets to create.
 * @returns The endpoint and a way to stop it.
 */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverHandle> {
  const directory = options.directory ?? await Deno.makeTempDir({ prefix: "glacier-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const events: string[] = [];
  server.on("event", (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
    for (const record of event.Records) events.push(`${record.eventName} ${record.s3.object.key}`);
  });
  const { port } = await server.run() as { port: number };
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    events,
    async stop() {
      if (stopped) return;
      stopped = true;
      // deno-lint-ignore no-explicit-any
      const http = (server as any).httpServer as { closeAllConnections?: () => void } | undefined;
      const closing = server.close();
      http?.closeAllConnections?.();
      await closing;
      if (!options.keep) await Deno.remove(directory, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Variables through which the AWS SDK would find real credentials (a session
 * token beside the dummy keys, a profile, a role, a container or web identity
 * token). None of them may reach an emulator or a process pointed at one: the
 * SDK would send a real session token to s3rver, which keeps what it receives.
 */
export const AWS_CREDENTIAL_VARIABLES: readonly string[] = [
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
];

/**
 * Points the AWS SDK's standard environment at a server with the dummy
 * credentials, unsets every other way to real credentials
 * ({@linkcode AWS_CREDENTIAL_VARIABLES}), and gives back a function that
 * restores the old values.
 *
 * @param endpoint The endpoint URL.
 * @returns Restores the environment.
 */
export function useS3rverEnv(endpoint: string): () => void {
  const values = s3rverEnv(endpoint);
  const names = [...Object.keys(values), ...AWS_CREDENTIAL_VARIABLES];
  const old = Object.fromEntries(names.map((k) => [k, Deno.env.get(k)]));
  for (const k of AWS_CREDENTIAL_VARIABLES) Deno.env.delete(k);
  for (const [k, v] of Object.entries(values)) Deno.env.set(k, v);
  return () => {
    for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
}

/**
 * The AWS_* variables that point a process (a sandbox, a cluster run) at
 * s3rver with its dummy credentials: pass these, not the process's own AWS_*
 * variables, which may hold a real session token.
 *
 * @param endpoint The endpoint URL.
 * @returns The variables.
 */
export function s3rverEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  };
}

/**
 * An S3 store on s3rver that reads no AWS_* variables (path style, its dummy
 * credentials), for tests that share the process environment.
 *
 * @param endpoint The endpoint URL.
 * @returns The store; close it when done.
 */
export function s3rverStore(endpoint: string): S3Store {
  return new S3Store(
    new S3Client({
      region: "us-east-1",
      endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
    endpoint,
  );
}
