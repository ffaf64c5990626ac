// S3 as a role sees it: an HTTP proxy on 127.0.0.1 in front of s3rver that
// decides each path-style request with an IAM policy simulator
// (@cloud-copilot/iam-simulate) on the role's identity policies, and answers
// as S3 documents: 403 AccessDenied when the action is not allowed, and for
// GET/HEAD of a missing key 404 only when the role may s3:ListBucket the
// bucket without an s3:prefix (a request for one key carries none), else 403.
import { runSimulation } from "@cloud-copilot/iam-simulate";

export interface S3IamProxy {
  readonly endpoint: string;
  /** Each request as `<method> <action> <resource> <prefix?> -> <status>`. */
  readonly log: string[];
  stop(): Promise<void>;
}

/** The account the simulated role is in. */
export const ACCOUNT = "123456789012";

/** iam-simulate's decision (`Allowed`, `ImplicitlyDenied`, …) on one request by the role's principal in ACCOUNT. */
export async function simulate(
  policies: readonly Record<string, unknown>[],
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<string> {
  const response = await runSimulation({
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/executor`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: context,
    },
    identityPolicies: policies.map((policy, i) => ({ name: `p${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (response.resultType === "error") throw new Error(`iam-simulate: ${JSON.stringify(response)}`);
  return (response as { overallResult: string }).overallResult;
}

/** Whether the policies allow the action (as the role's principal in ACCOUNT). */
export async function allows(
  policies: readonly Record<string, unknown>[],
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<boolean> {
  return await simulate(policies, action, resource, context) === "Allowed";
}

const denied = (method: string) =>
  new Response(
    method === "HEAD"
      ? null
      : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    { status: 403, headers: { "content-type": "application/xml" } },
  );

// A ListObjectsV2 answer cut to its first `maxKeys` keys, marked truncated when some were cut.
function truncated(xml: string, maxKeys: number, headers: Headers): Response {
  const contents = [...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)].map((m) => m[0]);
  if (contents.length <= maxKeys) return new Response(xml, { headers: new Headers(headers) });
  const kept = contents.slice(0, maxKeys).join("");
  const out = xml.replace(/<Contents>[\s\S]*<\/Contents>/, kept)
    .replace(/<IsTruncated>false<\/IsTruncated>/, "<IsTruncated>true</IsTruncated>")
    .replace(/<KeyCount>\d+<\/KeyCount>/, `<KeyCount>${maxKeys}</KeyCount>`);
  const copy = new Headers(headers);
  copy.delete("content-length");
  return new Response(out, { headers: copy });
}

/**
 * Starts the proxy.
 *
 * @param target The s3rver endpoint.
 * @param policies The role's identity policies, ARNs resolved.
 * @returns The endpoint (path style), the request log and a way to stop it.
 */
export function startS3IamProxy(target: string, policies: readonly Record<string, unknown>[]): S3IamProxy {
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const [bucket, ...rest] = url.pathname.slice(1).split("/");
    const key = rest.map(decodeURIComponent).join("/");
    const method = request.method;
    let action: string, resource: string, context: Record<string, string> = {};
    if (key === "") {
      action = "s3:ListBucket";
      resource = `arn:aws:s3:::${bucket}`;
      const prefix = url.searchParams.get("prefix");
      if (prefix !== null) context = { "s3:prefix": prefix };
    } else {
      action = method === "GET" || method === "HEAD"
        ? "s3:GetObject"
        : method === "DELETE"
        ? "s3:DeleteObject"
        : "s3:PutObject";
      resource = `arn:aws:s3:::${bucket}/${key}`;
    }
    const body = method === "GET" || method === "HEAD"
      ? undefined
      : new Uint8Array(await request.arrayBuffer());
    const note = (status: number) =>
      log.push(
        `${method} ${action} ${resource}${
          context["s3:prefix"] !== undefined ? ` ${context["s3:prefix"]}` : ""
        } -> ${status}`,
      );
    if (!await allows(policies, action, resource, context)) {
      note(403);
      return denied(method);
    }
    // s3rver makes a truncated listing's continuation token with DES, which Deno's node:crypto
    // lacks (it answers 500): the proxy lists in full and applies max-keys itself.
    const forwarded = new URL(url.pathname + url.search, target);
    const maxKeys = key === "" ? url.searchParams.get("max-keys") : null;
    forwarded.searchParams.delete("max-keys");
    let upstream = await fetch(forwarded, { method, headers: new Headers(request.headers), body });
    if (maxKeys !== null && upstream.ok) {
      upstream = truncated(await upstream.text(), Number(maxKeys), upstream.headers);
    }
    if (
      upstream.status === 404 && action === "s3:GetObject" &&
      !await allows(policies, "s3:ListBucket", `arn:aws:s3:::${bucket}`)
    ) {
      await upstream.body?.cancel();
      note(403);
      return denied(method);
    }
    note(upstream.status);
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    log,
    async stop() {
      await server.shutdown();
    },
  };
}
