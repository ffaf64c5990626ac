// The S3 store against a real S3 HTTP server (s3rver on 127.0.0.1, a free
// port, a temp folder), reached through the AWS SDK's standard environment.
import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import { AwsConfig, Bucket, GlacierError, LocalConfig, pipeline, Provider } from "../../mod.ts";
import { closeS3Stores, createS3Store } from "../../aws.ts";
import { type S3rverHandle, startS3rver, useS3rverEnv } from "../support/s3rver.ts";
import { assertFormatsRoundTrip, glacierError } from "../support/bucket_cases.ts";
import { rowsOf, sampleTable } from "../support/tables.ts";

interface S3Fixture {
  server: S3rverHandle;
  provider: Provider;
  lake: Bucket;
}

/** Runs `fn` against a fresh s3rver with a "lake" bucket, the SDK's environment pointed at it. */
async function withS3(fn: (s3: S3Fixture) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const server = await startS3rver({ buckets: ["lake"] });
  const restore = useS3rverEnv(server.endpoint);
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
    await fn({ server, provider, lake: provider.bucket({ bucket: "lake", path: "" }) });
  } finally {
    closeS3Stores();
    for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    restore();
    await server.stop();
  }
}

Deno.test("S3 bucket write() and scanArrow() round-trip every table format through AWS_ENDPOINT_URL_S3", async () => {
  await withS3(async ({ lake, server }) => {
    assert.equal(lake.uri, "s3://lake/");
    await assertFormatsRoundTrip(lake);
    assert.deepEqual(
      server.events.filter((e) => e.startsWith("ObjectCreated:Put")).length,
      7,
      "every format reached the server",
    );
    assert.equal((await lake.at("round/").list()).length, 7);
  });
});

Deno.test("S3 store honours AwsConfig endpoint and forcePathStyle without the environment", async () => {
  const server = await startS3rver({ buckets: ["lake"] });
  const restore = useS3rverEnv("http://127.0.0.1:9"); // a wrong endpoint the config must override
  try {
    const config = new AwsConfig({ region: "eu-west-1", endpoint: server.endpoint, forcePathStyle: true });
    const out = new Provider({ config }).bucket({ bucket: "lake", path: "cfg/x.parquet" });
    await out.write(sampleTable(3), { compression: "gzip" });
    assert.deepEqual(rowsOf(await out.scanArrow()), rowsOf(sampleTable(3)));
    assert.ok(server.events.includes("ObjectCreated:Put cfg/x.parquet"));
  } finally {
    closeS3Stores();
    restore();
    await server.stop();
  }
});

Deno.test("S3 bucket scanArrow() of a prefix and of a glob combines the matching objects", async () => {
  await withS3(async ({ lake }) => {
    await lake.at("events/region=eu/part-0.parquet").write(sampleTable(2, 0));
    await lake.at("events/region=us/part-0.parquet").write(sampleTable(3, 10));
    await lake.at("events/region=us/part-1.csv").write(sampleTable(2, 21)); // inferred back as the same types
    await lake.at("events/_SUCCESS").put("");
    const ids = async (path: string) => rowsOf(await lake.at(path).scanArrow()).map((r) => r.id);
    assert.deepEqual(await ids("events/"), [0, 1, 10, 11, 12, 21, 22]);
    assert.deepEqual(await ids("events/*/*.parquet"), [0, 1, 10, 11, 12]);
    assert.deepEqual(await ids("events/region=us/*"), [10, 11, 12, 21, 22]);
    assert.deepEqual(await lake.at("events/**/*.csv").list(), ["events/region=us/part-1.csv"]);
  });
});

Deno.test("S3 bucket scanArrow() refuses objects whose schemas differ, naming both URIs", async () => {
  await withS3(async ({ lake }) => {
    await lake.at("m/a.arrow").write(tableFromArrays({ x: Int32Array.from([1]) }));
    await lake.at("m/b.arrow").write(tableFromArrays({ y: Int32Array.from([1]) }));
    await assert.rejects(
      () => lake.at("m/").scanArrow(),
      glacierError("USER:SCHEMA_MISMATCH", "s3://lake/m/a.arrow", "s3://lake/m/b.arrow"),
    );
  });
});

Deno.test("S3 bucket read() of a missing object or bucket is a GlacierError naming it", async () => {
  await withS3(async ({ provider, lake }) => {
    const missing = lake.at("no/such.parquet");
    await assert.rejects(
      () => missing.scanArrow(),
      glacierError("USER:OBJECT_NOT_FOUND", "s3://lake/no/such.parquet"),
    );
    assert.equal(await missing.exists(), false);
    await missing.delete(); // deleting what is not there is fine
    const noBucket = provider.bucket({ bucket: "no-such-bucket", path: "x.csv" });
    await assert.rejects(() => noBucket.read(), glacierError("USER:BUCKET_NOT_FOUND", "no-such-bucket"));
    await assert.rejects(
      () => lake.at("nothing/*.csv").scanArrow(),
      glacierError("USER:OBJECT_NOT_FOUND", "s3://lake/nothing/*.csv"),
    );
  });
});

Deno.test("S3 bucket scanArrow() of a corrupt Parquet object is a GlacierError naming the URI", async () => {
  await withS3(async ({ lake }) => {
    const good = lake.at("good.parquet");
    await good.write(sampleTable(100));
    const bytes = await good.read();
    const bad = lake.at("bad.parquet");
    await bad.put(bytes.slice(0, bytes.length - 100));
    await assert.rejects(() => bad.scanArrow(), glacierError("USER:FILE_CORRUPT", "s3://lake/bad.parquet"));
    assert.equal((await good.scanArrow()).numRows, 100);
  });
});

Deno.test("S3 store refuses keys that climb out of the bucket before any request", async () => {
  await withS3(async ({ provider, server }) => {
    assert.throws(() => provider.bucket({ bucket: "lake", path: "../other/x.csv" }), RangeError);
    const store = createS3Store(new AwsConfig({ region: "us-east-1" }));
    await assert.rejects(() => store.get("lake", "a/../../x"), RangeError);
    await assert.rejects(() => store.put("lake", "/abs", new Uint8Array(1)), RangeError);
    assert.deepEqual(server.events, []);
  });
});

Deno.test("S3 bucket put() of 200 MB goes up as a multipart upload and reads back byte for byte", async () => {
  await withS3(async ({ lake, server }) => {
    const size = 200 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    const big = lake.at("big/blob.bin");
    await big.put(data);
    assert.deepEqual(server.events, ["ObjectCreated:Post big/blob.bin"], "completed as a multipart upload");
    const back = await big.read();
    assert.equal(back.byteLength, size);
    const digest = async (b: Uint8Array) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
    assert.deepEqual(await digest(back), await digest(data));
    assert.deepEqual(await lake.at("big/").list(), ["big/blob.bin"]);
  });
});

Deno.test("S3 store names the endpoint when it is dead, after its few retries", async () => {
  const server = await startS3rver({ buckets: ["lake"] });
  const endpoint = server.endpoint;
  await server.stop();
  const restore = useS3rverEnv(endpoint);
  try {
    const store = createS3Store(
      new AwsConfig({ region: "us-east-1", endpoint, forcePathStyle: true }),
      { maxAttempts: 2 },
    );
    await assert.rejects(
      () => store.get("lake", "x.csv"),
      (error: unknown) => {
        glacierError("SYSTEM:STORE_UNREACHABLE", endpoint, "s3://lake/x.csv", "after 2 attempts")(error);
        return (error as GlacierError).retryable;
      },
    );
    await assert.rejects(
      () => store.put("lake", "x.csv", new Uint8Array(3)),
      glacierError("SYSTEM:STORE_UNREACHABLE", endpoint),
    );
  } finally {
    closeS3Stores();
    restore();
  }
});

Deno.test("A pipeline whose S3 server stops mid-run fails naming the endpoint and leaves nothing partial locally", async () => {
  await withS3(async ({ server, lake }) => {
    await lake.at("in/a.csv").write(sampleTable(3, 0));
    await lake.at("in/b.csv").write(sampleTable(3, 3));
    const root = await Deno.makeTempDir({ prefix: "glacier-local-" });
    try {
      const local = new Provider({ config: new LocalConfig({ root }) });
      const out = local.bucket({ bucket: "out", path: "all.parquet" });
      const copy = local.local().task(
        async function copyAll(a: Bucket, b: Bucket, dst: Bucket): Promise<number> {
          const first = await a.scanArrow();
          await server.stop(); // the server dies between two reads
          const second = await b.scanArrow();
          await dst.write(first.concat(second));
          return first.numRows + second.numRows;
        },
      );
      const p = pipeline({ name: "s3_dies" }, () => copy(lake.at("in/a.csv"), lake.at("in/b.csv"), out));
      await assert.rejects(
        () => p.run({ workers: 0, quiet: true }),
        (error: unknown) =>
          error instanceof GlacierError && error.message.includes(server.endpoint) &&
          error.message.includes("s3://lake/in/b.csv"),
      );
      assert.equal(await out.exists(), false);
      assert.deepEqual([...Deno.readDirSync(root)], []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }, { AWS_MAX_ATTEMPTS: "2" });
});

Deno.test("Bucket.fromData() rebuilds an S3 bucket that reads the same object", async () => {
  await withS3(async ({ lake }) => {
    const out = lake.at("w/x.ndjson");
    await out.write(sampleTable(3));
    const copy = Bucket.fromData(JSON.parse(JSON.stringify(out.toData())), out.location.storage);
    assert.equal(copy.uri, "s3://lake/w/x.ndjson");
    assert.deepEqual(rowsOf(await copy.scanArrow()), rowsOf(sampleTable(3)));
  });
});
