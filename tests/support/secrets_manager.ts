// A Secrets Manager stand-in on 127.0.0.1: the JSON 1.1 protocol's
// GetSecretValue (POST / with X-Amz-Target, a SecretId in, SecretString out),
// recording what each request carried; an unknown SecretId is refused as AWS
// refuses a secret the caller may not read.

/** What one GetSecretValue request carried. */
export interface SecretRequest {
  readonly target: string | null;
  readonly authorization: string;
  readonly secretId: string;
}

/** Answers one request for `values` (SecretId to SecretString), recording it in `seen`. */
export async function answerSecretRequest(
  request: Request,
  seen: SecretRequest[],
  values: Readonly<Record<string, string>>,
): Promise<Response> {
  const body = await request.json() as { SecretId: string };
  seen.push({
    target: request.headers.get("x-amz-target"),
    authorization: request.headers.get("authorization") ?? "",
    secretId: body.SecretId,
  });
  const json = (status: number, value: unknown) =>
    new Response(JSON.stringify(value), {
      status,
      headers: { "content-type": "application/x-amz-json-1.1" },
    });
  if (request.headers.get("x-amz-target") !== "secretsmanager.GetSecretValue") {
    return json(400, { __type: "UnknownOperationException", Message: "only GetSecretValue" });
  }
  if (!(body.SecretId in values)) {
    return json(400, {
      __type: "AccessDeniedException",
      Message:
        `User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${body.SecretId}`,
    });
  }
  return json(200, {
    ARN: body.SecretId,
    Name: body.SecretId.split(":secret:")[1]?.replace(/-[A-Za-z0-9]{6}$/, "") ?? body.SecretId,
    SecretString: values[body.SecretId],
    VersionId: "v1",
    VersionStages: ["AWSCURRENT"],
    CreatedDate: 1_700_000_000,
  });
}

/** A running stand-in. */
export interface SecretsManagerStub {
  /** For `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  readonly seen: SecretRequest[];
  stop(): Promise<void>;
}

/** Starts the stand-in serving `values`. */
export function startSecretsManager(values: Readonly<Record<string, string>>): SecretsManagerStub {
  const seen: SecretRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (r) => answerSecretRequest(r, seen, values),
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    seen,
    stop: () => server.shutdown(),
  };
}
