// The Azure Blob store against Azurite (npm `azurite`, a real Blob server) on
// 127.0.0.1, signed with Shared Key through AZURE_STORAGE_CONNECTION_STRING
// as Azure's own tools read it.
import assert from "node:assert/strict";
import { AzureConfig, Provider } from "../../mod.ts";
import { createAzureBlobStore } from "../../stores/azure_blob.ts";
import { AZURITE_ACCOUNT } from "../../stores/_azure_auth.ts";
import { type Azurite, freePort, startAzurite } from "../support/azurite.ts";
import { assertFormatsRoundTrip, glacierError } from "../support/bucket_cases.ts";

function withEnv(vars: Record<string, string | undefined>): () => void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  set(vars);
  return () => set(old);
}

Deno.test({
  name: "az:// buckets read, write, list and delete on Azurite with Shared Key signing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const azurite: Azurite = await startAzurite({ containers: ["lake"] });
    const restore = withEnv({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
    try {
      const provider = new Provider({ config: new AzureConfig() });
      const lake = provider.bucket({ bucket: "lake", path: "" });
      await t.step("every table format round-trips", async () => {
        assert.equal(lake.uri, "az://lake/");
        await assertFormatsRoundTrip(lake);
        assert.equal((await lake.at("round/").list()).length, 7);
      });
      await t.step("names with spaces and unicode, exists, delete, paging", async () => {
        const store = createAzureBlobStore(undefined, { pageSize: 2 });
        const keys = ["p/a b.txt", "p/ünï.txt", "p/x/y.txt", "p/z&1.txt", "q/other.txt"];
        for (const k of keys) await store.put("lake", k, new TextEncoder().encode(k));
        assert.deepEqual(await store.list("lake", "p/"), keys.slice(0, 4).sort());
        assert.equal(new TextDecoder().decode(await store.get("lake", "p/ünï.txt")), "p/ünï.txt");
        assert.equal(await store.exists("lake", "p/a b.txt"), true);
        await store.delete("lake", "p/a b.txt");
        await store.delete("lake", "p/a b.txt"); // a missing blob is not an error
        assert.equal(await store.exists("lake", "p/a b.txt"), false);
      });
      await t.step("a missing blob and a missing container are named errors", async () => {
        await assert.rejects(
          lake.at("nope/x.csv").read(),
          glacierError("USER:OBJECT_NOT_FOUND", "az://lake/nope/x.csv"),
        );
        await assert.rejects(
          provider.bucket({ bucket: "nocontainer", path: "a/" }).list(),
          glacierError("USER:BUCKET_NOT_FOUND", "nocontainer"),
        );
      });
      await t.step("a wrong key is refused as access denied", async () => {
        const store = createAzureBlobStore(undefined, {
          access: { account: AZURITE_ACCOUNT, endpoint: azurite.endpoint, key: btoa("wrong key") },
        });
        await assert.rejects(
          store.get("lake", "p/z&1.txt"),
          glacierError("USER:ACCESS_DENIED", "az://lake/"),
        );
      });
      await t.step("an endpoint that is down is named", async () => {
        const port = freePort();
        const store = createAzureBlobStore(undefined, {
          maxAttempts: 1,
          access: { account: AZURITE_ACCOUNT, endpoint: `http://127.0.0.1:${port}/x`, key: btoa("k") },
        });
        await assert.rejects(
          store.get("lake", "a"),
          glacierError("SYSTEM:STORE_UNREACHABLE", `127.0.0.1:${port}`),
        );
      });
    } finally {
      restore();
      await azurite.stop();
    }
  },
});

Deno.test("az:// without any account or credentials says how to give them", () => {
  const restore = withEnv({
    AZURE_STORAGE_CONNECTION_STRING: undefined,
    AZURE_STORAGE_ACCOUNT: undefined,
  });
  try {
    assert.throws(
      () => createAzureBlobStore(undefined),
      glacierError("USER:AZURE_CREDENTIALS", "AZURE_STORAGE_ACCOUNT"),
    );
  } finally {
    restore();
  }
});
