// The function's secret environment variables, read once at start: a
// deployment gives `GLACIER_SECRET_<NAME>` = a Secrets Manager secret's ARN
// (src/codegen/_secret_env.ts), never the value, and this sets `<NAME>` from
// the secret so tasks and the Databricks launcher read `Deno.env.get(NAME)`
// as they do locally. A `<NAME>` already set wins (a local run, a test).
import { SECRET_ENV_PREFIX, secretId } from "../../src/codegen/_secret_env.ts";
import { errorMessage, GlacierError } from "../../src/errors.ts";

/** Reads a secret's string value by ARN or name. */
export type SecretReader = (secretId: string) => Promise<string>;

/** Options for {@linkcode loadSecretEnvironment}. */
export interface SecretEnvironmentOptions {
  /** Reads one secret. @default {GetSecretValue through `@aws-sdk/client-secrets-manager`, in the ARN's region} */
  read?: SecretReader;
  /** The environment. @default {Deno.env} */
  env?: Pick<typeof Deno.env, "get" | "set" | "toObject">;
}

/**
 * Sets each `<NAME>` that a `GLACIER_SECRET_<NAME>` names a secret for.
 *
 * @param options How secrets are read, and the environment.
 * @returns The names set, sorted.
 * @throws {GlacierError} `USER:SECRET_READ` when a secret cannot be read (the variable and the secret are named, never a value).
 */
export async function loadSecretEnvironment(options: SecretEnvironmentOptions = {}): Promise<string[]> {
  const env = options.env ?? Deno.env;
  const wanted = Object.entries(env.toObject())
    .filter(([k, v]) => k.startsWith(SECRET_ENV_PREFIX) && k.length > SECRET_ENV_PREFIX.length && v)
    .map(([k, v]) => [k.slice(SECRET_ENV_PREFIX.length), v] as const)
    .filter(([name]) => !env.get(name))
    .sort(([a], [b]) => a < b ? -1 : 1);
  if (wanted.length === 0) return [];
  const sdk = options.read ? undefined : await secretsManagerReader();
  const read = options.read ?? sdk!.read;
  try {
    for (const [name, secret] of wanted) {
      let value: string;
      try {
        value = await read(secret);
      } catch (error) {
        throw new GlacierError(
          "USER:SECRET_READ",
          `Cannot read ${name} from secret ${secret} (${
            errorMessage(error)
          }): check the function's role may secretsmanager:GetSecretValue on it and the secret has a value (the stack's input ${
            secretId(name)
          })`,
          { cause: error, retryable: isThrottled(error) },
        );
      }
      env.set(name, value);
    }
  } finally {
    sdk?.close();
  }
  return wanted.map(([name]) => name);
}

function isThrottled(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "ThrottlingException" || (e?.$metadata?.httpStatusCode ?? 0) >= 500;
}

// GetSecretValue in the secret's own region (from its ARN), with the SDK's
// credential chain (the function's role on Lambda) and endpoint settings
// (`AWS_ENDPOINT_URL_SECRETS_MANAGER`).
async function secretsManagerReader(): Promise<{ read: SecretReader; close: () => void }> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  const clients = new Map<string, InstanceType<typeof SecretsManagerClient>>();
  const read: SecretReader = async (id) => {
    const region = /^arn:[^:]+:secretsmanager:([^:]+):/.exec(id)?.[1] ??
      Deno.env.get("AWS_REGION") ?? "us-east-1";
    let client = clients.get(region);
    if (!client) clients.set(region, client = new SecretsManagerClient({ region }));
    const out = await client.send(new GetSecretValueCommand({ SecretId: id }));
    if (typeof out.SecretString !== "string") {
      throw new Error("the secret has no string value (SecretBinary is not read)");
    }
    return out.SecretString;
  };
  return { read, close: () => clients.forEach((c) => c.destroy()) };
}
