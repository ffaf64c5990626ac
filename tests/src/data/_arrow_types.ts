// Arrow tables of every type, built from plain-data specs (so a spec can be
// printed by fast-check, serialized to a worker and rebuilt there), and an
// exact comparison of two tables. Shared by arrow_types_test.ts and the pool
// fixture tests/fixtures/arrow_types_tasks.ts.
import assert from "node:assert/strict";
import * as A from "apache-arrow";

/** A column type: a kind and its parameters (child types of nested kinds). */
export type ColumnType =
  | { kind: FixedKind }
  | { kind: "bool" | "null" | "utf8" | "large_utf8" | "binary" | "large_binary" }
  | { kind: "utf8_view" | "binary_view"; layout: "builder" | "variadic" | "polars"; bufferSize: number }
  | { kind: "decimal128"; precision: number; scale: number }
  | { kind: "timestamp"; unit: Unit; timezone: string | null }
  | { kind: "duration" | "time"; unit: Unit }
  | { kind: "interval"; unit: "year_month" | "day_time" | "month_day_nano" }
  | { kind: "fixed_size_binary"; width: number }
  | { kind: "dictionary"; ordered: boolean }
  | { kind: "list" | "large_list"; child: ColumnType }
  | { kind: "fixed_size_list"; size: number; child: ColumnType }
  | { kind: "struct"; children: { name: string; type: ColumnType }[] }
  | { kind: "map"; value: ColumnType };

export type Unit = "s" | "ms" | "us" | "ns";

/** Kinds stored as one typed-array slot (or a few) per row. */
export type FixedKind =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float16"
  | "float32"
  | "float64"
  | "date32"
  | "date64";

/** One column: its field and its cells, one array per record batch (`null` is a null cell). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** Per batch: the cells. Float16 cells are raw bits; decimals unscaled bigints; dates days. */
  batches: unknown[][];
  /** For `utf8_view` with the polars layout: each batch as polars' Arrow IPC stream. */
  polars?: Uint8Array[];
}

/** A table: its columns, and what is done to it after it is built. */
export interface TableSpec {
  columns: ColumnSpec[];
  /** Rows per record batch. */
  rows: number[];
  /** Slice the table to [begin, end) (a non-zero offset into every buffer). */
  slice?: [number, number];
  /** Pass it through Arrow IPC first, so every buffer is a view into one ArrayBuffer. */
  viaIpc: boolean;
}

const UNIT = {
  s: A.TimeUnit.SECOND,
  ms: A.TimeUnit.MILLISECOND,
  us: A.TimeUnit.MICROSECOND,
  ns: A.TimeUnit.NANOSECOND,
};

/** The Arrow type of a column type; dictionaries are numbered from `ids.next`. */
export function arrowType(t: ColumnType, ids: { next: number } = { next: 0 }): A.DataType {
  switch (t.kind) {
    case "int8":
      return new A.Int8();
    case "int16":
      return new A.Int16();
    case "int32":
      return new A.Int32();
    case "int64":
      return new A.Int64();
    case "uint8":
      return new A.Uint8();
    case "uint16":
      return new A.Uint16();
    case "uint32":
      return new A.Uint32();
    case "uint64":
      return new A.Uint64();
    case "float16":
      return new A.Float16();
    case "float32":
      return new A.Float32();
    case "float64":
      return new A.Float64();
    case "date32":
      return new A.DateDay();
    case "date64":
      return new A.DateMillisecond();
    case "bool":
      return new A.Bool();
    case "null":
      return new A.Null();
    case "utf8":
      return new A.Utf8();
    case "large_utf8":
      return new A.LargeUtf8();
    case "binary":
      return new A.Binary();
    case "large_binary":
      return new A.LargeBinary();
    case "utf8_view":
      return new A.Utf8View();
    case "binary_view":
      return new A.BinaryView();
    case "decimal128":
      return new A.Decimal(t.scale, t.precision, 128);
    case "timestamp":
      return new A.Timestamp(UNIT[t.unit], t.timezone);
    case "duration":
      return new A.Duration(UNIT[t.unit]);
    case "time":
      return new A.Time(UNIT[t.unit], t.unit === "s" || t.unit === "ms" ? 32 : 64);
    case "interval":
      return new A.Interval(
        {
          year_month: A.IntervalUnit.YEAR_MONTH,
          day_time: A.IntervalUnit.DAY_TIME,
          month_day_nano: A.IntervalUnit.MONTH_DAY_NANO,
        }[
          t.unit
        ],
      );
    case "fixed_size_binary":
      return new A.FixedSizeBinary(t.width);
    case "dictionary":
      return new A.Dictionary(new A.Utf8(), new A.Int32(), ids.next++, t.ordered);
    case "list":
      return new A.List(new A.Field("item", arrowType(t.child, ids), true));
    case "large_list":
      return new A.LargeList(new A.Field("item", arrowType(t.child, ids), true));
    case "fixed_size_list":
      return new A.FixedSizeList(t.size, new A.Field("item", arrowType(t.child, ids), true));
    case "struct":
      return new A.Struct(t.children.map((c) => new A.Field(c.name, arrowType(c.type, ids), true)));
    case "map":
      return new A.Map_(
        new A.Field(
          "entries",
          // deno-lint-ignore no-explicit-any
          new A.Struct<any>([
            new A.Field("key", new A.Utf8(), false),
            new A.Field("value", arrowType(t.value, ids), true),
          ]),
          false,
        ),
      );
  }
}

const FIXED: Record<FixedKind, new (n: number) => ArrayBufferView & ArrayLike<unknown>> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  date32: Int32Array,
  date64: BigInt64Array,
};

function validity(cells: readonly unknown[]): { nullCount: number; nullBitmap?: Uint8Array } {
  const bitmap = new Uint8Array((cells.length + 7) >> 3);
  let nullCount = 0;
  cells.forEach((c, i) => c === null ? nullCount++ : (bitmap[i >> 3] |= 1 << (i & 7)));
  return nullCount ? { nullCount, nullBitmap: bitmap } : { nullCount };
}

const utf8 = new TextEncoder();
const bytesOf = (cell: unknown): Uint8Array =>
  typeof cell === "string" ? utf8.encode(cell) : cell as Uint8Array;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** Unscaled decimal value as four little-endian two's-complement words. */
function decimalWords(v: bigint): number[] {
  const u = BigInt.asUintN(128, v);
  return [0, 1, 2, 3].map((i) => Number((u >> BigInt(32 * i)) & 0xffffffffn));
}

// Views the way polars lays them out: strings of up to 12 bytes inline, longer
// ones as a 4-byte prefix plus (buffer index, offset) into data buffers that
// are cut at `bufferSize` bytes, so a column can span several of them.
function viewLayout(
  cells: readonly unknown[],
  bufferSize: number,
): { views: Uint8Array; variadic: Uint8Array[] } {
  const views = new Uint8Array(cells.length * 16);
  const dv = new DataView(views.buffer);
  const buffers: Uint8Array[][] = [[]];
  let used = 0;
  cells.forEach((cell, i) => {
    if (cell === null) return;
    const bytes = bytesOf(cell);
    dv.setInt32(i * 16, bytes.length, true);
    if (bytes.length <= 12) {
      views.set(bytes, i * 16 + 4);
      return;
    }
    if (used > 0 && used + bytes.length > bufferSize) (buffers.push([]), used = 0);
    views.set(bytes.subarray(0, 4), i * 16 + 4);
    dv.setInt32(i * 16 + 8, buffers.length - 1, true);
    dv.setInt32(i * 16 + 12, used, true);
    buffers[buffers.length - 1].push(bytes);
    used += bytes.length;
  });
  return { views, variadic: buffers.filter((b) => b.length).map(concat) };
}

/** Builds one column's Data for one batch from its cells. */
export function buildData(
  t: ColumnType,
  type: A.DataType,
  cells: readonly unknown[],
  polarsIpc?: Uint8Array,
): A.Data {
  const length = cells.length;
  const { nullCount, nullBitmap } = validity(cells);
  const base = { type, length, nullCount, nullBitmap } as const;
  // deno-lint-ignore no-explicit-any
  const make = (props: Record<string, unknown>): A.Data => A.makeData({ ...base, ...props } as any);
  switch (t.kind) {
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "uint8":
    case "uint16":
    case "uint32":
    case "uint64":
    case "float16":
    case "float32":
    case "float64":
    case "date32": {
      const data = new FIXED[t.kind](length) as unknown as unknown[];
      const zero = data instanceof BigInt64Array || data instanceof BigUint64Array ? 0n : 0;
      cells.forEach((c, i) => data[i] = c ?? zero);
      return make({ data });
    }
    case "date64":
      return make({
        data: BigInt64Array.from(cells, (c) => c === null ? 0n : BigInt(c as number) * 86_400_000n),
      });
    case "bool": {
      const data = new Uint8Array((length + 7) >> 3);
      cells.forEach((c, i) => c === true && (data[i >> 3] |= 1 << (i & 7)));
      return make({ data });
    }
    case "null":
      return A.makeData({ type: type as A.Null, length });
    case "utf8":
    case "binary":
    case "large_utf8":
    case "large_binary": {
      const parts = cells.map((c) => c === null ? new Uint8Array() : bytesOf(c));
      const offsets = [0];
      for (const p of parts) offsets.push(offsets[offsets.length - 1] + p.length);
      const large = t.kind === "large_utf8" || t.kind === "large_binary";
      return make({
        valueOffsets: large ? BigInt64Array.from(offsets, BigInt) : Int32Array.from(offsets),
        data: concat(parts),
      });
    }
    case "utf8_view":
    case "binary_view": {
      if (t.layout === "polars") {
        // A copy: a table lent by `transfer` takes its bytes' buffer with it.
        const data = A.tableFromIPC(new Uint8Array(polarsIpc!)).getChild("s")!.data;
        assert.equal(data.length, 1, "polars wrote one chunk");
        assert.equal(String(data[0].type), "Utf8View", "polars writes strings as Utf8View");
        return data[0];
      }
      if (t.layout === "builder") return A.vectorFromArray(cells as never[], type).data[0];
      const { views, variadic } = viewLayout(cells, t.bufferSize);
      return make({ views, variadicBuffers: variadic });
    }
    case "decimal128":
      return make({
        data: Uint32Array.from(cells.flatMap((c) => decimalWords(c === null ? 0n : c as bigint))),
      });
    case "timestamp":
    case "duration":
      return make({ data: BigInt64Array.from(cells, (c) => c === null ? 0n : c as bigint) });
    case "time":
      return make({
        data: t.unit === "s" || t.unit === "ms"
          ? Int32Array.from(cells, (c) => c === null ? 0 : c as number)
          : BigInt64Array.from(cells, (c) => c === null ? 0n : c as bigint),
      });
    case "interval": {
      if (t.unit === "year_month") {
        return make({ data: Int32Array.from(cells, (c) => c === null ? 0 : c as number) });
      }
      if (t.unit === "day_time") {
        return make({ data: Int32Array.from(cells.flatMap((c) => c === null ? [0, 0] : c as number[])) });
      }
      const data = new Int32Array(length * 4);
      const dv = new DataView(data.buffer);
      cells.forEach((c, i) => {
        if (c === null) return;
        const [months, days, nanos] = c as [number, number, bigint];
        dv.setInt32(i * 16, months, true);
        dv.setInt32(i * 16 + 4, days, true);
        dv.setBigInt64(i * 16 + 8, nanos, true);
      });
      return make({ data });
    }
    case "fixed_size_binary":
      return make({ data: concat(cells.map((c) => c === null ? new Uint8Array(t.width) : c as Uint8Array)) });
    case "dictionary": {
      // The dictionary holds each value once, in first-seen order, plus one value no row uses.
      const values = [...new Set(cells.filter((c) => c !== null) as string[]), "unused"];
      const dictionary = A.makeVector(buildData({ kind: "utf8" }, new A.Utf8(), values));
      return make({
        data: Int32Array.from(cells, (c) => c === null ? 0 : values.indexOf(c as string)),
        dictionary,
      });
    }
    case "list":
    case "large_list":
    case "map": {
      const rows = cells.map((c) => c === null ? [] : c as unknown[]);
      const offsets = [0];
      for (const r of rows) offsets.push(offsets[offsets.length - 1] + r.length);
      const childType = (type as A.List | A.Map_).children[0].type;
      const flat = rows.flat(1);
      const child = t.kind === "map"
        ? buildData(
          {
            kind: "struct",
            children: [{ name: "key", type: { kind: "utf8" } }, { name: "value", type: t.value }],
          },
          childType,
          flat,
        )
        : buildData(t.child, childType, flat);
      return make({
        valueOffsets: t.kind === "large_list"
          ? BigInt64Array.from(offsets, BigInt)
          : Int32Array.from(offsets),
        child,
      });
    }
    case "fixed_size_list": {
      const flat = cells.flatMap((c) => c === null ? Array(t.size).fill(null) : c as unknown[]);
      return make({ child: buildData(t.child, (type as A.FixedSizeList).children[0].type, flat) });
    }
    case "struct": {
      const children = t.children.map((c, k) =>
        buildData(
          c.type,
          (type as A.Struct).children[k].type,
          cells.map((row) => row === null ? null : (row as unknown[])[k]),
        )
      );
      return make({ children });
    }
  }
}

/** Builds the table a spec describes. */
export function buildTable(spec: TableSpec): A.Table {
  const ids = { next: 0 };
  const fields = spec.columns.map((c) => new A.Field(c.name, arrowType(c.type, ids), c.nullable));
  const schema = new A.Schema(fields);
  const batches = spec.rows.map((length, b) =>
    new A.RecordBatch(
      schema,
      A.makeData({
        type: new A.Struct(fields),
        length,
        nullCount: 0,
        children: spec.columns.map((c, i) => buildData(c.type, fields[i].type, c.batches[b], c.polars?.[b])),
      }),
    )
  );
  let table = new A.Table(schema, batches);
  if (spec.viaIpc) table = A.tableFromIPC(A.tableToIPC(table, "stream"));
  if (spec.slice) table = table.slice(...spec.slice);
  return table;
}

// ------------------------------------------------------------------ comparison

/** A type with all its parameters: id, widths, signedness, scale, unit, zone, sizes, children. */
export function typeSignature(
  type: A.DataType,
  options: { dictionaryId?: boolean; viewsAsPlain?: boolean } = {},
): string {
  const t = type as unknown as Record<string, unknown>;
  const name = A.Type[type.typeId];
  const parts = [options.viewsAsPlain ? name.replace(/View$/, "") : name];
  for (
    const key of ["bitWidth", "isSigned", "precision", "scale", "unit", "listSize", "byteWidth", "keysSorted"]
  ) {
    if (t[key] !== undefined && t[key] !== null) parts.push(`${key}=${t[key]}`);
  }
  if (A.DataType.isTimestamp(type)) parts.push(`timezone=${JSON.stringify(type.timezone ?? null)}`);
  if (A.DataType.isDictionary(type)) {
    parts.push(`indices=${typeSignature(type.indices)}`, `values=${typeSignature(type.dictionary, options)}`);
    parts.push(`ordered=${type.isOrdered}`);
    if (options.dictionaryId) parts.push(`id=${type.id}`);
  }
  const children = (type.children ?? []) as A.Field[];
  if (children.length) {
    parts.push(
      `<${
        children.map((f) => `${f.name}${f.nullable ? "?" : ""}:${typeSignature(f.type, options)}`).join(", ")
      }>`,
    );
  }
  return parts.join(" ");
}

/** Options for {@linkcode assertTablesEqual}. */
export interface CompareOptions {
  /** Compare dictionary ids and each batch's dictionary vector, not only the values rows decode to. */
  strictDictionaries?: boolean;
  /** Compare schema and field metadata. */
  metadata?: boolean;
  /** Take Utf8View for Utf8 and BinaryView for Binary (values still compare exactly). */
  viewsAsPlain?: boolean;
}

/**
 * Asserts two tables are the same: schema (names, types with every
 * parameter, nullability) and every cell, exactly (bigint, NaN, -0, raw
 * timestamp units, null positions).
 */
export function assertTablesEqual(
  actual: A.Table,
  expected: A.Table,
  where: string,
  options: CompareOptions = {},
): void {
  const sig = (t: A.Table) =>
    t.schema.fields.map((f) =>
      `${f.name}${f.nullable ? "?" : ""}: ${
        typeSignature(f.type, {
          dictionaryId: options.strictDictionaries,
          viewsAsPlain: options.viewsAsPlain,
        })
      }`
    );
  assert.deepEqual(sig(actual), sig(expected), `${where}: schema`);
  if (options.metadata) {
    assert.deepEqual(actual.schema.metadata, expected.schema.metadata, `${where}: schema metadata`);
    actual.schema.fields.forEach((f, i) =>
      assert.deepEqual(f.metadata, expected.schema.fields[i].metadata, `${where}: ${f.name} metadata`)
    );
  }
  assert.equal(actual.numRows, expected.numRows, `${where}: rows`);
  for (const field of expected.schema.fields) {
    const a = actual.getChild(field.name)!;
    const e = expected.getChild(field.name)!;
    assertVectorsEqual(a, e, field.type, `${where}: ${field.name}`, options);
    // toArray() is the column as a user reads it in one go.
    if (!A.DataType.isNull(field.type)) {
      // A typed array holds null slots too, whose bytes mean nothing: only valid rows compare.
      const [ta, te] = [a.toArray(), e.toArray()];
      const stride = ArrayBuffer.isView(te) && e.length ? (te as Uint8Array).length / e.length : 1;
      const valid = (_: unknown, j: number) => !ArrayBuffer.isView(te) || e.isValid(Math.floor(j / stride));
      assertSameCells([...ta].filter(valid), [...te].filter(valid), `${where}: ${field.name}.toArray()`);
    }
  }
}

function assertVectorsEqual(
  a: A.Vector,
  e: A.Vector,
  type: A.DataType,
  path: string,
  options: CompareOptions,
  rows: readonly number[] = Array.from({ length: e.length }, (_, i) => i),
): void {
  assert.equal(a.length, e.length, `${path}: length`);
  const valid = rows.filter((i) => e.isValid(i));
  for (const i of rows) assert.equal(a.isValid(i), e.isValid(i), `${path}[${i}]: null or not`);
  if (A.DataType.isNull(type) || valid.length === 0) return;
  if (A.DataType.isStruct(type)) {
    type.children.forEach((f, k) =>
      assertVectorsEqual(a.getChildAt(k)!, e.getChildAt(k)!, f.type, `${path}.${f.name}`, options, valid)
    );
    return;
  }
  if (
    A.DataType.isList(type) || A.DataType.isLargeList(type) || A.DataType.isFixedSizeList(type) ||
    A.DataType.isMap(type)
  ) {
    // A map row is read as its list of entries, so keys and values compare as vectors.
    const asList = (v: A.Vector) =>
      A.DataType.isMap(type) ? A.makeVector(v.data.map((d) => d.clone(new A.List(type.children[0])))) : v;
    const [la, le] = [asList(a), asList(e)];
    for (const i of valid) {
      assertVectorsEqual(la.get(i)!, le.get(i)!, type.children[0].type, `${path}[${i}]`, options);
    }
    return;
  }
  if (A.DataType.isDictionary(type) && options.strictDictionaries) {
    // Batches without rows may be dropped on the way: they carry nothing.
    const [ad, edata] = [a.data.filter((d) => d.length > 0), e.data.filter((d) => d.length > 0)];
    assert.equal(ad.length, edata.length, `${path}: chunks`);
    ad.forEach((d, k) => {
      const ed = edata[k];
      assertVectorsEqual(d.dictionary!, ed.dictionary!, type.dictionary, `${path} dictionary ${k}`, options);
      assertSameCells(
        [...d.values.subarray(0, d.length)],
        [...ed.values.subarray(0, ed.length)],
        `${path} indices ${k}`,
      );
    });
  }
  assertSameCells(valid.map((i) => a.get(i)), valid.map((i) => e.get(i)), `${path} values`, valid);
  const raw = rawCells(a), rawE = rawCells(e);
  if (rawE.length) assertSameCells(valid.map((i) => raw[i]), valid.map((i) => rawE[i]), `${path} raw`, valid);
}

/** Each row's slot of the values buffer, for types whose `get()` converts (timestamps to ms, …). */
function rawCells(v: A.Vector): unknown[] {
  const t = v.type;
  const fixed = A.DataType.isInt(t) || A.DataType.isFloat(t) || A.DataType.isDecimal(t) ||
    A.DataType.isDate(t) ||
    A.DataType.isTime(t) || A.DataType.isTimestamp(t) || A.DataType.isDuration(t) ||
    A.DataType.isInterval(t) ||
    A.DataType.isFixedSizeBinary(t);
  if (!fixed) return [];
  const out: unknown[] = [];
  for (const d of v.data) {
    for (let i = 0; i < d.length; i++) out.push(d.values.subarray(i * d.stride, (i + 1) * d.stride));
  }
  return out;
}

function assertSameCells(
  actual: unknown[],
  expected: unknown[],
  path: string,
  rows?: readonly number[],
): void {
  assert.equal(actual.length, expected.length, `${path}: length`);
  expected.forEach((e, i) => {
    if (!sameCell(actual[i], e)) {
      assert.fail(`${path}[${rows?.[i] ?? i}]: got ${show(actual[i])}, expected ${show(e)}`);
    }
  });
}

function sameCell(a: unknown, e: unknown): boolean {
  if (
    typeof e === "number" || typeof e === "bigint" || typeof e === "string" || typeof e === "boolean" ||
    e === null
  ) {
    return Object.is(a, e);
  }
  if (ArrayBuffer.isView(e)) {
    if (!ArrayBuffer.isView(a)) return false;
    const [x, y] = [a as unknown as ArrayLike<unknown>, e as unknown as ArrayLike<unknown>];
    if (x.length !== y.length || a.constructor.name !== e.constructor.name) return false;
    for (let i = 0; i < y.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (e instanceof A.Vector) {
    return a instanceof A.Vector && a.length === e.length && [...e].every((x, i) => sameCell(a.get(i), x));
  }
  if (typeof e === "object") {
    // Struct and map rows: compare as plain entries.
    if (typeof a !== "object" || a === null) return false;
    const ea = [...Object.entries((e as { toJSON(): object }).toJSON?.() ?? e)];
    const aa = [...Object.entries((a as { toJSON(): object }).toJSON?.() ?? a)];
    return ea.length === aa.length && ea.every(([k, v], i) => aa[i][0] === k && sameCell(aa[i][1], v));
  }
  return Object.is(a, e);
}

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (ArrayBuffer.isView(v)) {
    return `${v.constructor.name}[${Array.from(v as unknown as ArrayLike<unknown>, (x) => show(x))}]`;
  }
  if (v instanceof A.Vector) return `[${[...v].map(show)}]`;
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x);
  } catch {
    return String(v);
  }
}
