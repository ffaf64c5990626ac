import assert from "node:assert/strict";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import * as pw from "parquet-wasm";
import { AwsConfig, AzureConfig, Bucket, GcpConfig, LocalConfig, Provider } from "../../../mod.ts";
import { assertFormatsRoundTrip, glacierError } from "../../support/bucket_cases.ts";
import { rowsOf, sampleTable } from "../../support/tables.ts";

async function localProvider(): Promise<
  { provider: Provider; root: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const root = await Deno.makeTempDir({ prefix: "glacier-storage-" });
  return {
    provider: new Provider({ config: new LocalConfig({ root }) }),
    root,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      out.push(...(await filesUnder(join(dir, entry.name))).map((f) => `${entry.name}/${f}`));
    } else out.push(entry.name);
  }
  return out.sort();
}

Deno.test("Bucket.write() and scanArrow() round-trip every table format in a local bucket", async () => {
  await using local = await localProvider();
  await assertFormatsRoundTrip(local.provider.bucket({ bucket: "lake", path: "" }));
  assert.deepEqual(await filesUnder(join(local.root, "lake", "round")), [
    "trip.arrow",
    "trip.csv",
    "trip.feather",
    "trip.json",
    "trip.jsonl",
    "trip.ndjson",
    "trip.parquet",
  ]);
});

Deno.test("Bucket.write() uses the Parquet compression it is given", async () => {
  await using local = await localProvider();
  const out = local.provider.bucket({ bucket: "lake", path: "c/x.parquet" });
  await out.write(sampleTable(20), { compression: "snappy" });
  const file = await pw.ParquetFile.fromFile(new Blob([(await out.read()) as Uint8Array<ArrayBuffer>]));
  assert.equal(file.metadata().rowGroup(0).column(0).compression(), pw.Compression.SNAPPY);
});

Deno.test("Bucket.scanArrow() of a prefix reads every table under it in key order, skipping bookkeeping files", async () => {
  await using local = await localProvider();
  const lake = local.provider.bucket({ bucket: "lake", path: "events/" });
  await lake.at("events/b/part-1.parquet").write(sampleTable(3, 10));
  await lake.at("events/a/part-0.parquet").write(sampleTable(2, 0));
  await lake.at("events/_SUCCESS").put("");
  await lake.at("events/notes.txt").put("not a table");
  await lake.at("eventsX/other.parquet").write(sampleTable(1, 99));
  const table = await lake.scanArrow();
  assert.deepEqual(rowsOf(table).map((r) => r.id), [0, 1, 10, 11, 12]);
});

Deno.test("Bucket.scanArrow() of a glob reads only the objects it matches", async () => {
  await using local = await localProvider();
  const lake = local.provider.bucket({ bucket: "lake", path: "" });
  await lake.at("events/2024/jan.parquet").write(sampleTable(1, 1));
  await lake.at("events/2024/feb.csv").write(sampleTable(1, 2));
  await lake.at("events/2025/jan.parquet").write(sampleTable(1, 3));
  await lake.at("events/top.parquet").write(sampleTable(1, 4));
  const ids = async (path: string) => rowsOf(await lake.at(path).scanArrow()).map((r) => r.id);
  assert.deepEqual(await ids("events/*.parquet"), [4]);
  assert.deepEqual(await ids("events/*/jan.parquet"), [1, 3]);
  assert.deepEqual(await ids("events/**/*.parquet"), [1, 3, 4]);
  assert.deepEqual(await ids("events/202?/{jan,feb}.parquet"), [1, 3]);
  assert.deepEqual(await lake.at("events/2024/*").list(), ["events/2024/feb.csv", "events/2024/jan.parquet"]);
});

Deno.test("Bucket.scanArrow() of a glob refuses files whose schemas differ, naming both", async () => {
  await using local = await localProvider();
  const lake = local.provider.bucket({ bucket: "lake", path: "" });
  await lake.at("m/a.parquet").write(tableFromArrays({ x: Int32Array.from([1]) }));
  await lake.at("m/b.parquet").write(tableFromArrays({ x: Float64Array.from([1.5]) }));
  await assert.rejects(
    () => lake.at("m/*.parquet").scanArrow(),
    glacierError(
      "USER:SCHEMA_MISMATCH",
      lake.at("m/a.parquet").uri,
      lake.at("m/b.parquet").uri,
      "x: Int32",
      "x: Float64",
    ),
  );
});

Deno.test("Bucket.scanArrow() of a pattern that matches nothing is a GlacierError naming the URI", async () => {
  await using local = await localProvider();
  const missing = local.provider.bucket({ bucket: "lake", path: "nothing/*.parquet" });
  await assert.rejects(
    () => missing.scanArrow(),
    glacierError("USER:FOLDER_NOT_FOUND", missing.uri, "does not exist"),
  );
  assert.equal(await missing.exists(), false);
  await local.provider.bucket({ bucket: "lake", path: "nothing/readme.txt" }).put("not a table");
  await assert.rejects(() => missing.scanArrow(), glacierError("USER:OBJECT_NOT_FOUND", missing.uri));
});

Deno.test("Bucket.scanArrow() and read() of a missing object are GlacierErrors naming the URI", async () => {
  await using local = await localProvider();
  const missing = local.provider.bucket({ bucket: "lake", path: "no/such.parquet" });
  await assert.rejects(() => missing.scanArrow(), glacierError("USER:OBJECT_NOT_FOUND", missing.uri));
  await assert.rejects(() => missing.read(), glacierError("USER:OBJECT_NOT_FOUND", missing.uri));
  assert.equal(await missing.exists(), false);
});

Deno.test("Bucket.scanArrow() of a corrupt Parquet file is a GlacierError naming the URI", async () => {
  await using local = await localProvider();
  const bad = local.provider.bucket({ bucket: "lake", path: "bad.parquet" });
  await bad.put("PAR1 this is not really parquet PAR1");
  await assert.rejects(() => bad.scanArrow(), glacierError("USER:FILE_CORRUPT", bad.uri));
});

Deno.test("Provider.bucket() refuses paths that climb out of the bucket", async () => {
  await using local = await localProvider();
  for (const path of ["../escape.csv", "a/../../b.csv", "/etc/passwd", "a/./b", "a\\..\\b"]) {
    assert.throws(() => local.provider.bucket({ bucket: "lake", path }), RangeError, path);
    assert.throws(() => local.provider.bucket({ bucket: "lake", path: "ok/" }).at(path), RangeError, path);
  }
  assert.deepEqual(await filesUnder(local.root), []);
});

Deno.test("Bucket.write() to a prefix or glob is refused before anything is written", async () => {
  await using local = await localProvider();
  for (const path of ["out/", "out/*.parquet"]) {
    const bucket = local.provider.bucket({ bucket: "lake", path });
    await assert.rejects(
      () => bucket.write(sampleTable(1)),
      glacierError("USER:OBJECT_IS_PREFIX", bucket.uri),
    );
    await assert.rejects(() => bucket.put("x"), glacierError("USER:OBJECT_IS_PREFIX"));
  }
  assert.deepEqual(await filesUnder(local.root), []);
});

Deno.test("Bucket.write() that fails leaves neither a partial object nor a temp file", async () => {
  await using local = await localProvider();
  const out = local.provider.bucket({ bucket: "lake", path: "out/x.parquet" });
  await out.write(sampleTable(5));
  const before = await out.read();
  // An object where the new object's folder should be makes the write fail.
  const blocked = local.provider.bucket({ bucket: "lake", path: "out/x.parquet/y.csv" });
  await assert.rejects(() => blocked.write(sampleTable(5)));
  // A folder where the object should be makes the final rename fail after the temp file is written.
  await Deno.mkdir(join(local.root, "lake", "out", "dir.csv", "keep"), { recursive: true });
  await assert.rejects(() =>
    local.provider.bucket({ bucket: "lake", path: "out/dir.csv" }).write(sampleTable(5))
  );
  assert.deepEqual(await out.read(), before);
  assert.deepEqual(await filesUnder(join(local.root, "lake")), ["out/x.parquet"]);
  assert.deepEqual([...Deno.readDirSync(join(local.root, "lake", "out", "dir.csv"))].map((e) => e.name), [
    "keep",
  ]);
});

Deno.test("Bucket.put(), read(), list(), exists() and delete() handle raw objects", async () => {
  await using local = await localProvider();
  const dir = local.provider.bucket({ bucket: "lake", path: "raw/" });
  await dir.at("raw/a.txt").put("hello");
  await dir.at("raw/b/c.bin").put(Uint8Array.from([1, 2, 3]));
  assert.equal(new TextDecoder().decode(await dir.at("raw/a.txt").read()), "hello");
  assert.deepEqual(await dir.at("raw/b/c.bin").read(), Uint8Array.from([1, 2, 3]));
  assert.deepEqual(await dir.list(), ["raw/a.txt", "raw/b/c.bin"]);
  assert.ok(await dir.exists());
  await dir.at("raw/a.txt").delete();
  await dir.at("raw/a.txt").delete();
  assert.equal(await dir.at("raw/a.txt").exists(), false);
  assert.deepEqual(await dir.list(), ["raw/b/c.bin"]);
});

Deno.test("an az:// bucket with no storage account anywhere says where to name one", async () => {
  const saved = ["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_CONNECTION_STRING"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  for (const [k] of saved) Deno.env.delete(k);
  try {
    const bucket = new Provider({
      config: new AzureConfig({ subscriptionId: "00000000-0000-0000-0000-000000000000" }),
    }).bucket({ bucket: "lake", path: "x.parquet" });
    assert.equal(bucket.uri, "az://lake/x.parquet");
    // Served by stores/azure_blob.ts (against Azurite in tests/stores/azure_blob_test.ts).
    await assert.rejects(() => bucket.scanArrow(), glacierError("USER:AZURE_CREDENTIALS", "storageAccount"));
    await assert.rejects(() => bucket.put("x"), glacierError("USER:AZURE_CREDENTIALS"));
  } finally {
    for (const [k, v] of saved) if (v !== undefined) Deno.env.set(k, v);
  }
  const gcs = new Provider({ config: new GcpConfig({ project: "my-project" }) }).bucket({
    bucket: "lake",
    path: "x",
  });
  assert.equal(gcs.uri, "gs://lake/x", "gs:// is served by stores/gcs.ts (tests/stores/gcs_test.ts)");
});

Deno.test("src/ imports no cloud SDK, and mod.ts loads the S3 store and parquet-wasm only on first use", async () => {
  const root = new URL("../../../", import.meta.url);
  const sources: [string, string][] = [
    ["stores/mod.ts", await Deno.readTextFile(new URL("stores/mod.ts", root))],
  ];
  const walk = async (dir: URL, rel: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${rel}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) {
        sources.push([`${rel}${entry.name}`, await Deno.readTextFile(new URL(entry.name, dir))]);
      }
    }
  };
  await walk(new URL("src/", root), "src/");
  const staticImport = (name: string) => new RegExp(`^import(?!\\s+type)[^;]*from\\s+"(npm:)?${name}`, "m");
  for (const [file, text] of sources) {
    assert.doesNotMatch(text, /"(npm:)?@aws-sdk\//, `${file} names the AWS SDK`);
    assert.doesNotMatch(text, staticImport("parquet-wasm"), `${file} imports parquet-wasm eagerly`);
    assert.doesNotMatch(text, /^import[^;]*from\s+"\.\/stores\//m, `${file} imports a store eagerly`);
  }
  assert.match(sources[0][1], /s3: async[^\n]*await import\("\.\/s3\.ts"\)/);
  const wiring = await Deno.readTextFile(new URL("wiring.ts", root));
  assert.doesNotMatch(wiring, /"(npm:)?@aws-sdk\//, "wiring.ts names the AWS SDK");
  // wiring.ts takes its executors from executors/adapters.ts, which loads each one on first use.
  const adapters = await Deno.readTextFile(new URL("executors/adapters.ts", root));
  assert.doesNotMatch(adapters, /"(npm:)?@aws-sdk\//, "executors/adapters.ts names the AWS SDK");
  assert.match(adapters, /lambda: async[^\n]*await import\("\.\/lambda\/executor\.ts"\)/);
});

Deno.test("Bucket.fromData() rebuilds a local bucket from its structured-cloned toData()", async () => {
  await using local = await localProvider();
  const out = local.provider.bucket({ bucket: "lake", path: "w/x.arrow" });
  await out.write(sampleTable(4));
  const data = structuredClone(out.toData());
  assert.equal(data.scheme, "file");
  const copy = Bucket.fromData(data, out.location.storage);
  assert.equal(copy.uri, out.uri);
  assert.deepEqual(rowsOf(await copy.scanArrow()), rowsOf(sampleTable(4)));
  assert.throws(() => Bucket.fromData({ ...data, config: {} }, out.location.storage), TypeError);
});

Deno.test("a path not in Unicode normal form C is refused, naming the form Terraform would write", () => {
  const aws = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
  assert.throws(
    () => aws.bucket({ bucket: "lake", path: "raw/\uF900.csv" }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("normal form C") && e.message.includes("\u8C48"),
  );
  assert.equal(aws.bucket({ bucket: "lake", path: "raw/\u8C48.csv" }).uri, "s3://lake/raw/\u8C48.csv");
});
