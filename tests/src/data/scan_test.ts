// Bucket.scan() as a polars LazyFrame, Bucket.write() of polars frames, and
// Bucket.localPath(): local folder buckets, an in-memory store (read by
// download), and S3 through s3rver on 127.0.0.1.
import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { type Table, tableFromArrays, tableToIPC } from "apache-arrow";
import * as pw from "parquet-wasm";
import { AwsConfig, Bucket, GlacierError, LocalConfig, Provider } from "../../../mod.ts";
import { closeS3Stores } from "../../../aws.ts";
import { defineWiring, GLACIER_WIRING, type TableFormat } from "../../../extend.ts";
import { TABLE_FORMATS } from "../../../src/data/formats.ts";
import { CORE_STORAGE, type ObjectStore } from "../../../src/resources/object_store.ts";
import { FORMAT_CASES, glacierError } from "../../support/bucket_cases.ts";
import { rowsOf, sampleTable } from "../../support/tables.ts";
import { startS3rver, useS3rverEnv } from "../../support/s3rver.ts";

async function localLake(): Promise<
  { provider: Provider; root: string; lake: Bucket; [Symbol.asyncDispose](): Promise<void> }
> {
  const root = await Deno.makeTempDir({ prefix: "glacier-scan-" });
  const provider = new Provider({ config: new LocalConfig({ root }) });
  return {
    provider,
    root,
    lake: provider.bucket({ bucket: "lake", path: "" }),
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** An object store in memory: every scan of it is by download. */
class MemoryStore implements ObjectStore {
  readonly scheme = "mem";
  readonly objects = new Map<string, Uint8Array>();
  gets = 0;
  uri(bucket: string, key: string): string {
    return `mem://${bucket}/${key}`;
  }
  get(bucket: string, key: string): Promise<Uint8Array> {
    this.gets++;
    const bytes = this.objects.get(`${bucket}/${key}`);
    if (!bytes) {
      return Promise.reject(
        new GlacierError("USER:OBJECT_NOT_FOUND", `No object at ${this.uri(bucket, key)}`),
      );
    }
    return Promise.resolve(bytes);
  }
  put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    this.objects.set(`${bucket}/${key}`, data.slice());
    return Promise.resolve();
  }
  list(bucket: string, prefix: string): Promise<string[]> {
    return Promise.resolve(
      [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) =>
        k.slice(bucket.length + 1)
      ).sort(),
    );
  }
  exists(bucket: string, key: string): Promise<boolean> {
    return Promise.resolve(this.objects.has(`${bucket}/${key}`));
  }
  delete(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
    return Promise.resolve();
  }
}

function memoryBucket(
  store: MemoryStore,
  path: string,
  formats: readonly TableFormat[] = TABLE_FORMATS,
): Bucket {
  return new Bucket(
    {
      scheme: "mem",
      config: {},
      uri: (b, k) => `mem://${b}/${k}`,
      store,
      storage: { ...CORE_STORAGE, formats },
    },
    "lake",
    path,
  );
}

const text = (s: string) => new TextEncoder().encode(s);

async function collect(bucket: Bucket, options?: Parameters<Bucket["scan"]>[0]): Promise<pl.DataFrame> {
  return await (await bucket.scan(options)).collect();
}

function dtypes(df: pl.DataFrame): Record<string, string> {
  return Object.fromEntries(Object.entries(df.schema).map(([k, v]) => [k, String(v)]));
}

function column(df: pl.DataFrame, name: string): unknown[] {
  return df.getColumn(name).toArray();
}

/** Each Date as its milliseconds, so values compare with deepEqual. */
function records(df: pl.DataFrame): Record<string, unknown>[] {
  return df.toRecords().map((row) =>
    Object.fromEntries(
      Object.entries(row as Record<string, unknown>).map((
        [k, v],
      ) => [k, v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v]),
    )
  );
}

// ------------------------------------------------------------ pushdown

// Runs a script in its own process with the tests' config; its stdout is JSON.
async function runScript(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../../deno.test.json", import.meta.url).pathname, ...args],
    env,
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("Bucket.scan() of a local Parquet file pushes the projection and the predicate into the scan", async () => {
  await using local = await localLake();
  const file = local.lake.at("events/x.parquet");
  await file.write(sampleTable(40));
  const query = (await file.scan()).filter(pl.col("id").gt(30)).select("name");
  const plan = query.describeOptimizedPlan();
  assert.match(plan, /Parquet SCAN \[.*events\/x\.parquet\]/);
  assert.match(plan, /PROJECT 2\/5 COLUMNS/);
  assert.match(plan, /SELECTION: .*col\("id"\)/);
  assert.equal((await query.collect()).height, 9);
});

Deno.test("Bucket.scan() of a local CSV file scans the file itself, with projection and predicate pushed down", async () => {
  await using local = await localLake();
  const file = local.lake.at("orders.csv");
  await file.write(sampleTable(40));
  const query = (await file.scan()).filter(pl.col("id").lt(5)).select("id", "score");
  const plan = query.describeOptimizedPlan();
  assert.match(plan, /Csv SCAN \[.*orders\.csv\]/);
  assert.match(plan, /PROJECT 2\/5 COLUMNS/);
  assert.match(plan, /SELECTION: .*col\("id"\)/);
  assert.deepEqual(column(await query.collect(), "id"), [0, 1, 2, 3, 4]);
});

// ------------------------------------------------------------ CSV rules

const RULES_CSV = [
  "code,small,big,huge,ratio,flag,day,naive,zoned,mixed,label,empty",
  "00123,1,2147483648,9223372036854775808,1.5,true,2024-01-02,2024-01-02 03:04,2024-01-02T03:04:05+02:00,2024-01-02,a,",
  "007,-2147483647,9007199254740993,1,NaN,FALSE,2024-02-29,2024-01-02T03:04:05.123,2024-01-02T03:04:05Z,2024-01-02T10:00,,",
  '42,+7,-9223372036854775808,2,inf,True,2024-12-31,2024-01-02T03:04:05,2024-01-02 03:04:05-0130,,"",',
  "1,,3,4,-Infinity,,,,,2024-01-03 00:00,c,",
].join("\n") + "\n";

Deno.test("Bucket.scan() types CSV columns by the rules of the Arrow reader, value for value", async () => {
  await using local = await localLake();
  const file = local.lake.at("rules.csv");
  await file.put(RULES_CSV);
  const df = await collect(file);
  assert.deepEqual(dtypes(df), {
    code: "DataType(String)", // 00123 and 007: codes, not numbers
    small: "DataType(Int32)",
    big: "DataType(Int64)", // beyond int32
    huge: "DataType(String)", // beyond int64: kept as written
    ratio: "DataType(Float64)",
    flag: "DataType(Bool)",
    day: "DataType(Date)",
    naive: "DataType(Datetime(ms,))",
    zoned: "DataType(Datetime(ms,))",
    mixed: "DataType(Datetime(ms,))", // dates with timestamps
    label: "DataType(String)",
    empty: "DataType(String)",
  });
  assert.deepEqual(column(df, "code"), ["00123", "007", "42", "1"]);
  assert.deepEqual(column(df, "small"), [1, -2147483647, 7, null]);
  // Exact: 9007199254740993 is 2^53 + 1, which a float64 cannot hold (read as text to see every digit).
  assert.deepEqual(df.getColumn("big").cast(pl.Utf8).toArray(), [
    "2147483648",
    "9007199254740993",
    "-9223372036854775808",
    "3",
  ]);
  assert.deepEqual(column(df, "huge"), ["9223372036854775808", "1", "2", "4"]);
  assert.deepEqual(column(df, "ratio"), [1.5, NaN, Infinity, -Infinity]);
  assert.deepEqual(column(df, "flag"), [true, false, true, null]);
  assert.deepEqual(column(df, "label"), ["a", null, null, "c"], "an empty field, quoted or not, is null");
  assert.deepEqual(column(df, "empty"), [null, null, null, null]);
  const ms = (name: string) =>
    df.getColumn(name).cast(pl.Int64).toArray().map((v) => v === null ? null : Number(v));
  assert.deepEqual(ms("naive"), [
    Date.UTC(2024, 0, 2, 3, 4),
    Date.UTC(2024, 0, 2, 3, 4, 5, 123),
    Date.UTC(2024, 0, 2, 3, 4, 5),
    null,
  ], "without an offset a timestamp is UTC, whatever the machine's time zone");
  assert.deepEqual(ms("zoned"), [
    Date.UTC(2024, 0, 2, 1, 4, 5),
    Date.UTC(2024, 0, 2, 3, 4, 5),
    Date.UTC(2024, 0, 2, 4, 34, 5),
    null,
  ], "an offset is converted to UTC");
  assert.deepEqual(ms("mixed"), [Date.UTC(2024, 0, 2), Date.UTC(2024, 0, 2, 10), null, Date.UTC(2024, 0, 3)]);

  // The Arrow reader of the same bytes agrees on every value.
  const arrow = await file.scanArrow();
  assert.deepEqual(
    records(df).map((r) => JSON.stringify(r, bigints)),
    rowsOf(arrow).map((r) => JSON.stringify(r, bigints)),
  );
});

function bigints(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

Deno.test("Bucket.scan() reads timestamps the same in every time zone", async () => {
  const script = `
    import { LocalConfig, Provider } from ${JSON.stringify(new URL("../../../mod.ts", import.meta.url).href)};
    import pl from "nodejs-polars";
    const root = Deno.args[0];
    const file = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "lake", path: "t.csv" });
    const df = await (await file.scan()).collect();
    console.log(JSON.stringify(df.getColumn("t").cast(pl.Int64).toArray().map(Number)));
  `;
  await using local = await localLake();
  await local.lake.at("t.csv").put("t\n2024-06-01 12:00\n2024-01-02T03:04:05.5\n");
  const path = join(local.root, "scan_tz.ts");
  await Deno.writeTextFile(path, script);
  const outputs = [];
  for (const tz of ["UTC", "America/New_York", "Asia/Kolkata"]) {
    outputs.push(await runScript([path, local.root], { TZ: tz }));
  }
  assert.deepEqual(outputs, Array(3).fill([Date.UTC(2024, 5, 1, 12), Date.UTC(2024, 0, 2, 3, 4, 5, 500)]));
});

Deno.test("Bucket.scan() infers from the first 10 000 rows; a later row that does not fit fails collect()", async () => {
  await using local = await localLake();
  const rows = Array.from({ length: 10_010 }, (_, i) => `${i},2024-01-01T00:00:00`);
  rows[10_004] = "oops,2024-01-01T00:00:00";
  const ints = local.lake.at("late_int.csv");
  await ints.put(["n,t", ...rows].join("\n") + "\n");
  const frame = await ints.scan();
  assert.equal(dtypes(await frame.limit(1).collect()).n, "DataType(Int32)");
  await assert.rejects(() => frame.collect(), /oops|parse|conver/i);

  const stamps = [...rows];
  stamps[10_004] = "10004,yesterday";
  const times = local.lake.at("late_time.csv");
  await times.put(["n,t", ...stamps].join("\n") + "\n");
  await assert.rejects(() => times.scan().then((f) => f.collect()), /not an ISO timestamp: yesterday/);
  // skipBadLines drops the rows instead.
  assert.equal((await collect(ints, { skipBadLines: true })).height, 10_009);
  const kept = await collect(times, { skipBadLines: true });
  assert.equal(kept.height, 10_009);
  assert.ok(!column(kept, "n").includes(10_004));
});

// ------------------------------------------------------------ options

Deno.test("Bucket.scan() reads another delimiter, a file without a header and extra null markers", async () => {
  await using local = await localLake();
  const semi = local.lake.at("semi.csv");
  await semi.put("\ufeffa;b;c\n1;x;NA\n2;-;3.5\n"); // a byte order mark is not part of the first name
  const df = await collect(semi, { delimiter: ";", nullValues: ["NA", "-"] });
  assert.deepEqual(records(df), [{ a: 1, b: "x", c: null }, { a: 2, b: null, c: 3.5 }]);
  assert.equal(dtypes(df).c, "DataType(Float64)");

  const tabs = local.lake.at("tabs.csv");
  await tabs.put("1\t00123\n2\t00124\n");
  const raw = await collect(tabs, { delimiter: "\t", header: false });
  assert.deepEqual(records(raw), [{ column_1: 1, column_2: "00123" }, { column_1: 2, column_2: "00124" }]);
});

Deno.test("Bucket.scan() takes column types from the schema option over the inferred ones", async () => {
  await using local = await localLake();
  const file = local.lake.at("typed.csv");
  await file.put("id,zip,amount\n00123,01234,5\n7,99999,6\n");
  const df = await collect(file, { schema: { id: pl.Int64, amount: pl.Float64 } });
  assert.deepEqual(dtypes(df), {
    id: "DataType(Int64)",
    zip: "DataType(String)",
    amount: "DataType(Float64)",
  });
  assert.deepEqual(df.getColumn("id").cast(pl.Utf8).toArray(), ["123", "7"]);
  // Other formats cast to the given type.
  const parquet = local.lake.at("typed.parquet");
  await parquet.write(tableFromArrays({ n: Int32Array.from([1, 2]) }));
  const cast = await collect(parquet, { schema: { n: pl.Float64 } });
  assert.equal(dtypes(cast).n, "DataType(Float64)");
  await assert.rejects(
    () => file.scan({ schema: { nope: pl.Int32 } }),
    (e: Error) => e instanceof RangeError && /"schema"/.test(e.message) && /"nope"/.test(e.message),
  );
});

Deno.test("Bucket.scan() with skipBadLines drops rows with too many fields or a field that does not parse", async () => {
  await using local = await localLake();
  const file = local.lake.at("bad_lines.csv");
  await file.put("id,when,ok\n1,2024-01-01,true\n2,2024-01-02,true,extra\n3,2024-01-03,false\n");
  await assert.rejects(
    () => file.scan(),
    glacierError("USER:CSV_MALFORMED", file.uri, "line 3", "skipBadLines"),
  );
  const df = await collect(file, { skipBadLines: true });
  assert.deepEqual(column(df, "id"), [1, 3]);
  assert.deepEqual(dtypes(df), { id: "DataType(Int32)", when: "DataType(Date)", ok: "DataType(Bool)" });
});

Deno.test("Bucket.scan() refuses a CSV that is not UTF-8 unless encoding is utf8-lossy", async () => {
  await using local = await localLake();
  const file = local.lake.at("latin1.csv");
  await file.put(new Uint8Array([...text("name\ncaf"), 0xe9, ...text("\nok\n")]));
  await assert.rejects(
    () => file.scan(),
    glacierError("USER:FILE_CORRUPT", file.uri, "UTF-8", 'encoding: "utf8-lossy"'),
  );
  assert.deepEqual(column(await collect(file, { encoding: "utf8-lossy" }), "name"), ["caf\ufffd", "ok"]);
  // Also past the rows the types are inferred from: polars refuses it when the frame is collected.
  const big = local.lake.at("late_latin1.csv");
  const body = text("n\n" + "abcdefghi\n".repeat(1_000_000));
  const bytes = new Uint8Array(body.length + 2);
  bytes.set(body);
  bytes.set([0xff, 0x0a], body.length);
  await big.put(bytes);
  const late = await big.scan();
  await assert.rejects(() => late.collect(), /invalid utf-8/i);
});

Deno.test("Bucket.scan() checks its options, naming the one that is wrong", async () => {
  await using local = await localLake();
  const file = local.lake.at("o.csv");
  await file.put("a\n1\n");
  const cases: [unknown, typeof RangeError | typeof TypeError, string][] = [
    [{ delimiter: "" }, RangeError, "delimiter"],
    [{ delimiter: ";;" }, RangeError, "delimiter"],
    [{ delimiter: '"' }, RangeError, "delimiter"],
    [{ delimiter: 1 }, TypeError, "delimiter"],
    [{ header: "yes" }, TypeError, "header"],
    [{ schema: { a: "int" } }, TypeError, "schema"],
    [{ schema: [] }, TypeError, "schema"],
    [{ nullValues: "NA" }, TypeError, "nullValues"],
    [{ nullValues: [1] }, TypeError, "nullValues"],
    [{ skipBadLines: 1 }, TypeError, "skipBadLines"],
    [{ encoding: "latin1" }, RangeError, "encoding"],
    [{ seperator: ";" }, TypeError, "seperator"],
    ["a", TypeError, "options"],
  ];
  for (const [options, type, name] of cases) {
    await assert.rejects(
      () => file.scan(options as never),
      (e: Error) => e instanceof type && e.message.includes(name),
      JSON.stringify(options),
    );
  }
});

// ------------------------------------------------------------ errors

Deno.test("Bucket.scan() refuses a CSV header that names a column twice, naming it and the file", async () => {
  await using local = await localLake();
  const file = local.lake.at("dup.csv");
  await file.put("id, name,name\n1,a,b\n");
  await assert.rejects(() => file.scan(), glacierError("USER:DUPLICATE_COLUMN", '"name"', file.uri));
  assert.deepEqual(dtypes(await collect(file, { header: false })), {
    column_1: "DataType(String)",
    column_2: "DataType(String)",
    column_3: "DataType(String)",
  });
});

Deno.test("Bucket.scan() of a missing object, an unknown format, an empty pattern or a corrupt file names the URI", async () => {
  await using local = await localLake();
  const missing = local.lake.at("nope.csv");
  await assert.rejects(() => missing.scan(), glacierError("USER:OBJECT_NOT_FOUND", missing.uri));
  const unknown = local.lake.at("x.unknownfmt");
  await unknown.put("x");
  await assert.rejects(() => unknown.scan(), glacierError("USER:FORMAT_UNKNOWN", unknown.uri, ".parquet"));
  await local.lake.at("parts/readme.txt").put("x");
  const none = local.lake.at("parts/*.parquet");
  await assert.rejects(() => none.scan(), glacierError("USER:OBJECT_NOT_FOUND", none.uri));
  const corrupt = local.lake.at("bad.parquet");
  await corrupt.put("PAR1 not really");
  await assert.rejects(() => corrupt.scan(), glacierError("USER:FILE_CORRUPT", corrupt.uri));
  const arrow = local.lake.at("bad.arrow");
  await arrow.put("ARROW1 not really");
  await assert.rejects(() => arrow.scan(), glacierError("USER:FILE_CORRUPT", arrow.uri));
});

Deno.test("Bucket.scan() of a glob refuses objects whose schemas differ, naming both", async () => {
  await using local = await localLake();
  await local.lake.at("m/a.csv").put("id\n1\n");
  await local.lake.at("m/b.csv").put("id\nx\n");
  await assert.rejects(
    () => local.lake.at("m/*.csv").scan(),
    glacierError("USER:SCHEMA_MISMATCH", local.lake.at("m/a.csv").uri, local.lake.at("m/b.csv").uri),
  );
});

// ------------------------------------------------------------ many objects, every format

Deno.test("Bucket.scan() of a prefix or glob concatenates every data object lazily, in key order", async () => {
  await using local = await localLake();
  const events = local.lake.at("events/");
  await local.lake.at("events/b/part-1.parquet").write(sampleTable(3, 10));
  await local.lake.at("events/a/part-0.parquet").write(sampleTable(2, 0));
  await local.lake.at("events/_SUCCESS").put("");
  await local.lake.at("events/notes.txt").put("not a table");
  const frame = await events.scan();
  assert.deepEqual(column(await frame.collect(), "id"), [0, 1, 10, 11, 12]);
  // Each file is its own scan, and the query reaches into every one.
  const plan = frame.filter(pl.col("id").gt(0)).select("id").describeOptimizedPlan();
  assert.match(plan, /UNION\[maintain_order: true\]/);
  const scans = [...plan.matchAll(/Parquet SCAN \[(.*)\]\s+PROJECT 1\/5 COLUMNS\s+SELECTION/g)].map((m) =>
    m[1]
  );
  assert.equal(scans.length, 2, plan);
  assert.ok(
    scans[0].endsWith(join("a", "part-0.parquet")) && scans[1].endsWith(join("b", "part-1.parquet")),
    plan,
  );
  await local.lake.at("csv/2024-01.csv").put("id,v\n1,a\n");
  await local.lake.at("csv/2024-02.csv").put("id,v\n2,b\n");
  await local.lake.at("csv/empty.csv").put("");
  assert.deepEqual(records(await collect(local.lake.at("csv/*.csv"))), [{ id: 1, v: "a" }, {
    id: 2,
    v: "b",
  }]);
});

Deno.test("Bucket.scan() reads every built-in format, Arrow IPC streams and empty CSVs too", async () => {
  await using local = await localLake();
  const table = sampleTable(12);
  for (const { ext } of FORMAT_CASES) {
    const file = local.lake.at(`all/x.${ext}`);
    await file.write(table);
    const df = await collect(file);
    assert.equal(df.height, 12, ext);
    assert.deepEqual(column(df, "id").map(Number), rowsOf(table).map((r) => r.id), ext);
    assert.deepEqual(column(df, "name"), rowsOf(table).map((r) => r.name), ext);
  }
  const stream = local.lake.at("all/stream.arrow");
  await stream.put(tableToIPC(table, "stream"));
  assert.deepEqual(records(await collect(stream)), rowsOf(table));
  const empty = local.lake.at("all/empty.csv");
  await empty.put("");
  assert.deepEqual((await collect(empty)).shape, { height: 0, width: 0 });
  const headerOnly = local.lake.at("all/header.csv");
  await headerOnly.put("a,b\n");
  assert.deepEqual((await collect(headerOnly)).columns, ["a", "b"]);
});

Deno.test("Bucket.scan() of a format only the wiring knows decodes it with that format", async () => {
  await using local = await localLake();
  const lines: TableFormat = {
    name: "lines",
    extensions: ["lines"],
    decode: (bytes) => tableFromArrays({ line: new TextDecoder().decode(bytes).split("\n").filter(Boolean) }),
    encode: (t) => text(t.toArray().map((r) => String(r.line)).join("\n")),
  };
  const wiring = defineWiring({ formats: [...GLACIER_WIRING.formats, lines] }, GLACIER_WIRING);
  const provider = new Provider({ config: new LocalConfig({ root: local.root }), wiring });
  const notes = provider.bucket({ bucket: "lake", path: "notes.lines" });
  await notes.put("a\nb\nc\n");
  const frame = await notes.scan();
  assert.deepEqual(column(await frame.filter(pl.col("line").neq(pl.lit("b"))).collect(), "line"), ["a", "c"]);
  // write() of a polars frame goes through the format too.
  await notes.write(pl.DataFrame({ line: ["x", "y"] }));
  assert.equal(new TextDecoder().decode(await notes.read()), "x\ny");
});

// ------------------------------------------------------------ write

function sampleFrame(): pl.DataFrame {
  return pl.DataFrame({
    id: pl.Series("id", [1, 2, 3, 4], pl.Int32),
    score: pl.Series("score", [1.5, null, -2.25, 0.5], pl.Float64),
    name: pl.Series("name", ['a, "quoted"', null, "b", "c\nd"], pl.Utf8),
    ok: pl.Series("ok", [true, false, null, true], pl.Bool),
    at: pl.Series("at", [Date.UTC(2024, 0, 1, 12, 30), Date.UTC(2024, 1, 29), null, 0], pl.Int64).cast(
      pl.Datetime("ms"),
    ),
  });
}

// polars reads JSON's whole numbers as Int64 and its timestamps as text
// ("2024-01-01 12:30:00.000" as polars writes them, ISO with Z as Glacier
// does): bring them back to numbers to compare.
function normalized(df: pl.DataFrame): Record<string, unknown>[] {
  return records(df).map((r) => {
    const at = typeof r.at === "string" ? r.at.replace(" ", "T") : r.at;
    return {
      ...r,
      id: Number(r.id),
      at: typeof at === "string" ? Date.parse(/Z$/.test(at) ? at : `${at}Z`) : at,
    };
  });
}

Deno.test("Bucket.write() of a DataFrame, a LazyFrame and a Table round-trips through scan() in every format", async () => {
  await using local = await localLake();
  const frame = sampleFrame();
  const expected = records(frame);
  const table: Table = sampleTable(6);
  for (const { ext, exactTypes } of FORMAT_CASES) {
    for (
      const [kind, data] of [["DataFrame", frame], ["LazyFrame", frame.lazy().select(pl.all())]] as const
    ) {
      const file = local.lake.at(`rt/${kind}.${ext}`);
      await file.write(data);
      const back = await collect(file);
      assert.deepEqual(normalized(back), expected, `${kind} .${ext}`);
      if (exactTypes || ext === "csv") assert.deepEqual(dtypes(back), dtypes(frame), `${kind} .${ext} types`);
      assert.equal((await file.scanArrow()).numRows, 4, `${kind} .${ext} through scanArrow()`);
    }
    const file = local.lake.at(`rt/Table.${ext}`);
    await file.write(table);
    assert.deepEqual(normalized(await collect(file)), rowsOf(table), `Table .${ext}`);
  }
});

Deno.test("Bucket.write() of a polars frame uses polars' writers and the compression it is given", async () => {
  await using local = await localLake();
  const out = local.lake.at("c/x.parquet");
  await out.write(sampleFrame(), { compression: "snappy" });
  const file = await pw.ParquetFile.fromFile(new Blob([(await out.read()) as Uint8Array<ArrayBuffer>]));
  assert.equal(file.metadata().rowGroup(0).column(0).compression(), pw.Compression.SNAPPY);
  await assert.rejects(() => out.write(sampleFrame(), { compression: "lzma" as never }), RangeError);
  const csv = local.lake.at("c/x.csv");
  await csv.write(pl.DataFrame({ a: [1, 2] }).lazy());
  assert.equal(new TextDecoder().decode(await csv.read()), "a\n1.0\n2.0\n");
  await assert.rejects(() => csv.write({ rows: [] } as never), TypeError);
  await assert.rejects(
    () => local.lake.at("c/").write(sampleFrame()),
    glacierError("USER:OBJECT_IS_PREFIX", local.lake.at("c/").uri),
  );
});

// ------------------------------------------------------------ other stores, localPath

Deno.test("Bucket.localPath() of a local object is its real file; a prefix or a missing object is refused", async () => {
  await using local = await localLake();
  const file = local.lake.at("raw/x.csv");
  await file.put("a\n1\n");
  const path = await file.localPath();
  assert.equal(path, await Deno.realPath(join(local.root, "lake", "raw", "x.csv")));
  assert.equal(await Deno.readTextFile(path), "a\n1\n");
  await assert.rejects(() => local.lake.at("raw/").localPath(), glacierError("USER:OBJECT_IS_PREFIX"));
  const missing = local.lake.at("raw/none.csv");
  await assert.rejects(() => missing.localPath(), glacierError("USER:OBJECT_NOT_FOUND", missing.uri));
});

Deno.test("Bucket.scan() of another store scans a downloaded copy, with the same types and errors", async () => {
  const store = new MemoryStore();
  const file = memoryBucket(store, "rules.csv");
  await file.put(RULES_CSV);
  const df = await collect(file);
  assert.equal(dtypes(df).big, "DataType(Int64)");
  assert.deepEqual(column(df, "code"), ["00123", "007", "42", "1"]);
  assert.match((await file.scan()).describeOptimizedPlan(), /Csv SCAN \[.*glacier-objects-.*rules\.csv\]/);
  await memoryBucket(store, "p/0.parquet").write(sampleTable(2));
  await memoryBucket(store, "p/1.parquet").write(sampleTable(2, 2));
  assert.deepEqual(column(await collect(memoryBucket(store, "p/")), "id"), [0, 1, 2, 3]);
  await file.put(new Uint8Array([0x61, 0x0a, 0xff, 0x0a]));
  await assert.rejects(
    () => file.scan(),
    glacierError("USER:FILE_CORRUPT", "mem://lake/rules.csv", "utf8-lossy"),
  );
});

Deno.test("Bucket.localPath() of another store downloads into one folder per process, removed when it exits", async () => {
  const storage = new URL("../../../src/resources/storage.ts", import.meta.url).href;
  const core = new URL("../../../src/resources/object_store.ts", import.meta.url).href;
  // The same module runs as the main thread and as a worker: both download, the main thread prints both paths.
  const script = `
    import { Bucket } from ${JSON.stringify(storage)};
    import { CORE_STORAGE } from ${JSON.stringify(core)};
    const bytes = new TextEncoder().encode("hello");
    const store = { scheme: "mem", uri: (b, k) => "mem://" + b + "/" + k, get: async () => bytes };
    const location = { scheme: "mem", config: {}, uri: store.uri, store, storage: CORE_STORAGE };
    const path = await new Bucket(location, "lake", "a/b.txt").localPath();
    if (self.name === "worker") {
      self.postMessage(path);
    } else {
      const worker = new Worker(import.meta.url, { type: "module", name: "worker" });
      const fromWorker = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
      worker.terminate();
      console.log(JSON.stringify({ paths: [path, fromWorker], text: await Deno.readTextFile(fromWorker) }));
    }
  `;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "local_path.ts"), script);
    const { paths, text } = await runScript([join(dir, "local_path.ts")]) as {
      paths: string[];
      text: string;
    };
    assert.equal(text, "hello", "the worker's copy outlives the worker");
    assert.notEqual(paths[0], paths[1]);
    for (const path of paths) assert.match(path, /glacier-objects-\d+[\\/][0-9a-f]{8}-b\.txt$/);
    assert.equal(join(paths[0], ".."), join(paths[1], ".."), "one folder for the process");
    await assert.rejects(
      () => Deno.stat(join(paths[0], "..")),
      Deno.errors.NotFound,
      "gone with the process",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("S3 bucket localPath() and scan() read a downloaded copy of the object", async () => {
  const server = await startS3rver({ buckets: ["lake"] });
  const restore = useS3rverEnv(server.endpoint);
  try {
    const lake = new Provider({ config: new AwsConfig({ region: "us-east-1" }) }).bucket({
      bucket: "lake",
      path: "",
    });
    const csv = lake.at("raw/orders.csv");
    await csv.put("id,amount\n00123,10\n00124,25\n");
    const path = await csv.localPath();
    assert.notEqual(path, csv.uri);
    assert.equal(await Deno.readTextFile(path), "id,amount\n00123,10\n00124,25\n");
    const df = await (await csv.scan()).filter(pl.col("amount").gt(20)).collect();
    assert.deepEqual(records(df), [{ id: "00124", amount: 25 }]);
    await lake.at("parts/a.parquet").write(pl.DataFrame({ n: [1, 2] }));
    await lake.at("parts/b.parquet").write(pl.DataFrame({ n: [3] }).lazy());
    assert.deepEqual(column(await collect(lake.at("parts/*.parquet")), "n"), [1, 2, 3]);
    await assert.rejects(() => lake.at("parts/").localPath(), glacierError("USER:OBJECT_IS_PREFIX"));
    await assert.rejects(() => lake.at("raw/none.csv").localPath(), glacierError("USER:OBJECT_NOT_FOUND"));
  } finally {
    closeS3Stores();
    restore();
    await server.stop();
  }
});
