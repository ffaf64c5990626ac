// Google Cloud token acquisition: the environment first, else the metadata
// server (a real HTTP server on 127.0.0.1 standing in for it via
// GCE_METADATA_HOST, as Google's client libraries allow).
import assert from "node:assert/strict";
import { forgetGcpToken, gcpAccessToken } from "../../stores/_gcp_auth.ts";
import { glacierError } from "../support/bucket_cases.ts";

async function withMetadata(
  answer: (request: Request) => Response,
  fn: (paths: string[]) => Promise<void>,
): Promise<void> {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    paths.push(new URL(request.url).pathname);
    return answer(request);
  });
  const old = { host: Deno.env.get("GCE_METADATA_HOST"), token: Deno.env.get("GOOGLE_OAUTH_ACCESS_TOKEN") };
  Deno.env.set("GCE_METADATA_HOST", `127.0.0.1:${(server.addr as Deno.NetAddr).port}`);
  Deno.env.delete("GOOGLE_OAUTH_ACCESS_TOKEN");
  forgetGcpToken();
  try {
    await fn(paths);
  } finally {
    forgetGcpToken();
    old.host === undefined
      ? Deno.env.delete("GCE_METADATA_HOST")
      : Deno.env.set("GCE_METADATA_HOST", old.host);
    if (old.token !== undefined) Deno.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", old.token);
    await server.shutdown();
  }
}

Deno.test("gcpAccessToken() takes the metadata server's token on GCP, asks with Metadata-Flavor and caches it", async () => {
  await withMetadata(
    (request) =>
      request.headers.get("metadata-flavor") === "Google"
        ? Response.json({ access_token: "ya29.from-metadata", expires_in: 3599, token_type: "Bearer" })
        : new Response("Missing Metadata-Flavor", { status: 403 }),
    async (paths) => {
      assert.equal(await gcpAccessToken("submit a job"), "ya29.from-metadata");
      assert.equal(await gcpAccessToken("submit a job"), "ya29.from-metadata");
      assert.equal(paths.length, 1, "cached until shortly before it expires");
      assert.equal(paths[0], "/computeMetadata/v1/instance/service-accounts/default/token");
      Deno.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.from-env");
      assert.equal(await gcpAccessToken("read"), "ya29.from-env", "the environment wins");
      Deno.env.delete("GOOGLE_OAUTH_ACCESS_TOKEN");
    },
  );
});

Deno.test("gcpAccessToken() names the metadata server and the way out when it gives no token", async () => {
  await withMetadata(
    () => new Response("not found", { status: 404 }),
    async () => {
      await assert.rejects(
        () => gcpAccessToken("read gs://lake/x.csv"),
        glacierError(
          "SYSTEM:GCP_METADATA",
          "read gs://lake/x.csv",
          "answered 404",
          "GOOGLE_OAUTH_ACCESS_TOKEN",
        ),
      );
    },
  );
});
