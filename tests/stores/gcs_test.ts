// The Cloud Storage store against a real HTTP server speaking the GCS JSON
// API (tests/support/gcs_emulator.ts on 127.0.0.1, a free port, a temp
// folder), reached through STORAGE_EMULATOR_HOST as Google's clients do.
import assert from "node:assert/strict";
import { Bucket, GcpConfig, type GlacierError, Provider } from "../../mod.ts";
import { createGcsStore } from "../../stores/gcs.ts";
import { type GcsEmulator, startGcsEmulator, useGcsEmulatorEnv } from "../support/gcs_emulator.ts";
import { assertFormatsRoundTrip, glacierError } from "../support/bucket_cases.ts";
import { rowsOf, sampleTable } from "../support/tables.ts";

interface GcsFixture {
  server: GcsEmulator;
  provider: Provider;
  lake: Bucket;
}

/** Runs `fn` against a fresh emulator with a "lake" bucket, STORAGE_EMULATOR_HOST pointed at it. */
async function withGcs(fn: (gcs: GcsFixture) => Promise<void>): Promise<void> {
  const server = await startGcsEmulator({ buckets: ["lake"] });
  const restore = useGcsEmulatorEnv(server.host);
  try {
    const provider = new Provider({ config: new GcpConfig({ project: "glacier-test" }) });
    await fn({ server, provider, lake: provider.bucket({ bucket: "lake", path: "" }) });
  } finally {
    restore();
    await server.stop();
  }
}

function withEnv(vars: Record<string, string | undefined>): () => void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  set(vars);
  return () => set(old);
}

Deno.test("GCS bucket write() and scanArrow() round-trip every table format through STORAGE_EMULATOR_HOST", async () => {
  await withGcs(async ({ lake, server }) => {
    assert.equal(lake.uri, "gs://lake/");
    await assertFormatsRoundTrip(lake);
    assert.equal(server.events.filter((e) => e.startsWith("created lake/round/")).length, 7);
    assert.equal((await lake.at("round/").list()).length, 7);
  });
});

Deno.test("GCS put() of 24 MB goes up in one media upload and reads back byte for byte", async () => {
  await withGcs(async ({ lake, server }) => {
    const size = 24 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    const big = lake.at("big/blob.bin");
    await big.put(data);
    assert.deepEqual(server.events, ["created lake/big/blob.bin"]);
    assert.equal(server.requests.filter((r) => r.startsWith("POST /upload/")).length, 1);
    const back = await big.read();
    const digest = async (b: Uint8Array) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
    assert.equal(back.byteLength, size);
    assert.deepEqual(await digest(back), await digest(data));
  });
});

Deno.test("GCS list() follows pages, keeps to the prefix, sorts and skips folder markers", async () => {
  await withGcs(async ({ server }) => {
    const store = createGcsStore(undefined, { pageSize: 2 });
    for (const key of ["ev/b.csv", "ev/a.csv", "ev/sub/c.csv", "ev/sub/", "other/x.csv", "ev/d e+f.csv"]) {
      await store.put("lake", key, new TextEncoder().encode(key));
    }
    assert.deepEqual(await store.list("lake", "ev/"), [
      "ev/a.csv",
      "ev/b.csv",
      "ev/d e+f.csv",
      "ev/sub/c.csv",
    ]);
    const lists = server.requests.filter((r) => r.startsWith("GET /storage/v1/b/lake/o?"));
    assert.equal(lists.length, 3, "five names under ev/ at two a page");
    assert.deepEqual((await store.list("lake", "")).length, 5);
    assert.equal(new TextDecoder().decode(await store.get("lake", "ev/d e+f.csv")), "ev/d e+f.csv");
  });
});

Deno.test("GCS exists() and delete(): a deleted object is gone, deleting it again is fine", async () => {
  await withGcs(async ({ lake, server }) => {
    const obj = lake.at("raw/a.txt");
    await obj.put("hello");
    assert.equal(await obj.exists(), true);
    await obj.delete();
    assert.equal(await obj.exists(), false);
    await obj.delete();
    assert.deepEqual(server.events, ["created lake/raw/a.txt", "deleted lake/raw/a.txt"]);
    assert.deepEqual(await lake.at("raw/").list(), []);
  });
});

Deno.test("GCS read() of a missing object or bucket is a GlacierError naming it", async () => {
  await withGcs(async ({ provider, lake }) => {
    await assert.rejects(
      () => lake.at("no/such.parquet").scanArrow(),
      glacierError("USER:OBJECT_NOT_FOUND", "gs://lake/no/such.parquet", "write it first"),
    );
    const noBucket = provider.bucket({ bucket: "no-such-bucket", path: "x.csv" });
    await assert.rejects(() => noBucket.read(), glacierError("USER:BUCKET_NOT_FOUND", "no-such-bucket"));
    await assert.rejects(() => noBucket.put("x"), glacierError("USER:BUCKET_NOT_FOUND", "create it"));
    await assert.rejects(() => noBucket.at("").list(), glacierError("USER:BUCKET_NOT_FOUND"));
    await assert.rejects(() => noBucket.delete(), glacierError("USER:BUCKET_NOT_FOUND"));
  });
});

Deno.test("GCS store refuses keys that climb out of the bucket before any request", async () => {
  await withGcs(async ({ provider, server }) => {
    assert.throws(() => provider.bucket({ bucket: "lake", path: "../other/x.csv" }), RangeError);
    const store = createGcsStore(undefined);
    await assert.rejects(() => store.get("lake", "a/../../x"), RangeError);
    await assert.rejects(() => store.put("lake", "/abs", new Uint8Array(1)), RangeError);
    await assert.rejects(() => store.list("lake", "./"), RangeError);
    assert.deepEqual(server.requests, []);
  });
});

Deno.test("GCS store names the endpoint when it is dead, after its retries", async () => {
  const server = await startGcsEmulator({ buckets: ["lake"] });
  await server.stop();
  const restore = useGcsEmulatorEnv(server.host);
  try {
    const store = createGcsStore(undefined, { maxAttempts: 2 });
    await assert.rejects(
      () => store.get("lake", "x.csv"),
      (error: unknown) => {
        glacierError(
          "SYSTEM:STORE_UNREACHABLE",
          server.endpoint,
          "gs://lake/x.csv",
          "after 2 attempts",
          "STORAGE_EMULATOR_HOST",
        )(error);
        return (error as GlacierError).retryable;
      },
    );
    await assert.rejects(
      () => store.put("lake", "x.csv", new Uint8Array(3)),
      glacierError("SYSTEM:STORE_UNREACHABLE", server.endpoint, "gs://lake/x.csv"),
    );
  } finally {
    restore();
  }
});

Deno.test("GCS store retries 503s, and a write that keeps failing leaves the previous object whole", async () => {
  await withGcs(async ({ lake, server }) => {
    const obj = lake.at("t/x.parquet");
    server.inject({ method: "POST", path: "/upload/", status: 503, times: 2 });
    await obj.write(sampleTable(3));
    assert.equal(
      server.requests.filter((r) => r.startsWith("POST /upload/")).length,
      3,
      "two 503s, then it went up",
    );
    server.inject({ method: "POST", path: "/upload/", status: 500, times: 3 });
    await assert.rejects(
      () => obj.write(sampleTable(50)),
      (error: unknown) => {
        glacierError("SYSTEM:STORE_FAILED", "gs://lake/t/x.parquet", "answered 500", "after 3 attempts")(
          error,
        );
        return (error as GlacierError).retryable;
      },
    );
    assert.deepEqual(rowsOf(await obj.scanArrow()), rowsOf(sampleTable(3)), "the old version is still whole");
  });
});

Deno.test("GCS store sends GOOGLE_OAUTH_ACCESS_TOKEN and turns a 401 into advice that never shows it", async () => {
  const token = `ya29.glacier-test-${crypto.randomUUID()}`;
  await withGcs(async ({ lake, server }) => {
    const restore = withEnv({ GOOGLE_OAUTH_ACCESS_TOKEN: token });
    try {
      await lake.at("a.txt").put("x");
      assert.ok(server.requests.at(-1)!.includes(`Bearer ${token}`));
      server.inject({ method: "GET", path: "/o/", status: 401 });
      const error = await lake.at("a.txt").read().then(() => assert.fail("should be refused"), (e) => e);
      glacierError("USER:ACCESS_DENIED", "gs://lake/a.txt", "GOOGLE_OAUTH_ACCESS_TOKEN")(error);
      assert.doesNotMatch(error.message, new RegExp(token));
    } finally {
      restore();
    }
  });
});

Deno.test("GCS store without an emulator, a token or GCP says how to authenticate, before any request", async () => {
  const restore = withEnv({
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    GCE_METADATA_HOST: undefined,
    STORAGE_EMULATOR_HOST: undefined,
  });
  try {
    const store = createGcsStore(undefined);
    assert.equal(store.endpoint, "https://storage.googleapis.com");
    assert.equal(store.emulator, false);
    await assert.rejects(
      () => store.get("lake", "x.csv"),
      glacierError("USER:GCP_CREDENTIALS", "read gs://lake/x.csv", "GOOGLE_OAUTH_ACCESS_TOKEN"),
    );
  } finally {
    restore();
  }
});

Deno.test("Bucket.fromData() rebuilds a GCS bucket that reads the same object", async () => {
  await withGcs(async ({ lake }) => {
    const out = lake.at("w/x.ndjson");
    await out.write(sampleTable(3));
    const copy = Bucket.fromData(JSON.parse(JSON.stringify(out.toData())), out.location.storage);
    assert.equal(copy.uri, "gs://lake/w/x.ndjson");
    assert.deepEqual(rowsOf(await copy.scanArrow()), rowsOf(sampleTable(3)));
  });
});
