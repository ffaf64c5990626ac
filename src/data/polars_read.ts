/**
 * Table files into polars LazyFrames, for `Bucket.scan()`. Each file is
 * scanned where it lies on this machine (`pl.scanParquet`, `pl.scanIPC`,
 * `pl.scanCSV`, `pl.scanJson`), so polars pushes projections and predicates
 * into the read; `.json` (one array of rows) and Arrow IPC streams have no
 * polars scanner and are read whole, then made lazy.
 *
 * CSV is typed by Glacier's own rules (`inferCsvKind` in `_csv_kinds.ts`,
 * the ones `parseCsv` uses), inferred from the first {@linkcode CSV_SAMPLE_ROWS}
 * rows read as text (fewer in a file of many columns: {@linkcode CSV_SAMPLE_CELLS}). Polars then parses each column as the inferred type;
 * timestamps, which polars would read by one pattern per column and in local
 * time, are read as text and converted lazily to UTC milliseconds.
 *
 * This module is loaded with `import()` by `Bucket.scan()`, after nodejs-polars.
 *
 * @module
 */
import { Buffer, isUtf8 } from "node:buffer";
import type { DataFrame, DataType, Expr, LazyDataFrame } from "nodejs-polars";
import type { Table } from "apache-arrow";
import type { PolarsModule } from "./_polars.ts";
import { ipcWritable, loadArrow } from "./_arrow.ts";
import { csvColumnNames, type CsvKind, DATE, inferCsvKind, TIMESTAMP, ZONE } from "./_csv_kinds.ts";
import { errorMessage, GlacierError } from "../errors.ts";

/** How many CSV rows the column types are inferred from. */
export const CSV_SAMPLE_ROWS = 10_000;

/** At most this many sampled fields: a file of many columns samples fewer rows (at least 10). */
export const CSV_SAMPLE_CELLS = 2_000_000;

/** `Bucket.scan()`'s `ScanOptions`, checked, with their defaults. */
export interface CheckedScanOptions {
  readonly delimiter: string;
  readonly header: boolean;
  readonly schema: Readonly<Record<string, DataType>>;
  readonly nullValues: readonly string[];
  readonly skipBadLines: boolean;
  readonly encoding: "utf8" | "utf8-lossy";
}

/** One scanned object: its frame and the schema it promises. */
export interface ScannedFrame {
  /** The object's URI, for errors. */
  readonly uri: string;
  /** The lazy frame. */
  readonly frame: LazyDataFrame;
  /** `name: type` of every column, to compare objects of one scan. */
  readonly schema: readonly string[];
  /**
   * With `skipBadLines`, a CSV's count of the rows it drops: a lazy one-row
   * frame with the column `skipped` (collecting it reads the file).
   */
  readonly skipped?: LazyDataFrame;
}

const OPTION_NAMES = ["delimiter", "header", "schema", "nullValues", "skipBadLines", "encoding"];

/**
 * Checks scan options and fills in their defaults.
 *
 * @param pl The polars namespace, to tell its data types.
 * @param options The options as given.
 * @returns The checked options.
 * @throws {TypeError} When an option has the wrong type or is unknown.
 * @throws {RangeError} When `delimiter` is not one character or `encoding` is unknown.
 */
export function checkScanOptions(pl: PolarsModule, given: unknown): CheckedScanOptions {
  if (given === undefined) given = {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new TypeError(`Bucket.scan() options must be an object, got ${describe(given)}`);
  }
  // Typed as given only once each field is checked below.
  const options = given as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(
        `Bucket.scan() has no option ${JSON.stringify(key)}; use ${
          OPTION_NAMES.map((n) => `"${n}"`).join(", ")
        }`,
      );
    }
  }
  const { delimiter = ",", header = true, schema = {}, nullValues = [], skipBadLines = false } = options;
  const encoding = options.encoding ?? "utf8";
  if (typeof delimiter !== "string") {
    throw new TypeError(`Bucket.scan() option "delimiter" must be a string, got ${describe(delimiter)}`);
  }
  // polars splits on one byte; a quote or a line break cannot separate fields.
  const code = delimiter.length === 1 ? delimiter.charCodeAt(0) : 0;
  if (code === 0 || code > 0x7f || delimiter === '"' || delimiter === "\r" || delimiter === "\n") {
    throw new RangeError(
      `Bucket.scan() option "delimiter" must be one ASCII character other than a quote or a line break, got ${
        JSON.stringify(delimiter)
      }; use "," ";" "\\t" or "|", for instance`,
    );
  }
  const flag = (name: string, value: unknown): boolean => {
    if (typeof value === "boolean") return value;
    throw new TypeError(`Bucket.scan() option "${name}" must be true or false, got ${describe(value)}`);
  };
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new TypeError(
      `Bucket.scan() option "schema" must map column names to polars data types, such as { id: pl.Int64 }, got ${
        describe(schema)
      }`,
    );
  }
  for (const [name, type] of Object.entries(schema as Record<string, unknown>)) {
    if (!(type instanceof pl.DataType)) {
      throw new TypeError(
        `Bucket.scan() option "schema" gives column ${JSON.stringify(name)} ${
          describe(type)
        }, not a polars data type; use one such as pl.Int64, pl.Utf8 or pl.Datetime("ms")`,
      );
    }
  }
  if (!Array.isArray(nullValues) || nullValues.some((v) => typeof v !== "string")) {
    throw new TypeError(
      `Bucket.scan() option "nullValues" must be an array of strings, such as ["NA", "-"], got ${
        describe(nullValues)
      }`,
    );
  }
  if (encoding !== "utf8" && encoding !== "utf8-lossy") {
    throw new RangeError(
      `Bucket.scan() option "encoding" must be "utf8" or "utf8-lossy", got ${JSON.stringify(encoding)}`,
    );
  }
  return {
    delimiter,
    header: flag("header", header),
    schema: { ...schema as Record<string, DataType> },
    nullValues: [...nullValues as string[]],
    skipBadLines: flag("skipBadLines", skipBadLines),
    encoding,
  };
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

/**
 * Scans one file of a built-in format where it lies.
 *
 * @param pl The polars namespace.
 * @param path The file's path on this machine.
 * @param uri The object's URI, for errors.
 * @param format The built-in format's name: `parquet`, `arrow`, `csv`, `json` or `ndjson`.
 * @param options The checked scan options.
 * @returns The frame and its schema.
 * @throws {GlacierError} `USER:FILE_CORRUPT` when the file cannot be read, naming the URI.
 * @throws {GlacierError} `USER:DUPLICATE_COLUMN` when a CSV header names a column twice.
 * @throws {GlacierError} `USER:CSV_MALFORMED` when a sampled CSV row has more fields than the header.
 * @throws {RangeError} When the `schema` option names a column the file does not have.
 */
export async function scanFile(
  pl: PolarsModule,
  path: string,
  uri: string,
  format: string,
  options: CheckedScanOptions,
): Promise<ScannedFrame> {
  switch (format) {
    case "csv":
      return await scanCsv(pl, path, uri, options);
    case "parquet":
      return await probe(pl, uri, "Parquet", options, () => pl.scanParquet(path, { glob: false }));
    case "arrow": {
      const stream = !(await isIpcFile(path));
      return await probe(
        pl,
        uri,
        "Arrow IPC",
        options,
        async () => stream ? pl.readIPCStream(await fileBuffer(path)).lazy() : pl.scanIPC(path),
      );
    }
    case "ndjson":
      return await probe(
        pl,
        uri,
        "NDJSON",
        options,
        () => pl.scanJson(path, { inferSchemaLength: CSV_SAMPLE_ROWS }),
      );
    case "json":
      return await probe(
        pl,
        uri,
        "JSON",
        options,
        async () => pl.readJSON(await fileBuffer(path), { format: "json" }).lazy(),
      );
    default:
      throw new RangeError(`No polars reader for the format "${format}" of ${uri}`);
  }
}

/**
 * Hands a table a custom format decoded to polars, through Arrow IPC.
 *
 * @param pl The polars namespace.
 * @param table The decoded table.
 * @param uri The object's URI, for errors.
 * @param options The checked scan options (their `schema` casts columns).
 * @returns The frame and its schema.
 */
export async function frameFromTable(
  pl: PolarsModule,
  table: Table,
  uri: string,
  options: CheckedScanOptions,
): Promise<ScannedFrame> {
  const arrow = await loadArrow();
  return await probe(
    pl,
    uri,
    "the decoded table of",
    options,
    () =>
      table.schema.fields.length === 0
        ? pl.DataFrame({}).lazy()
        : pl.readIPC(bufferOf(arrow.tableToIPC(ipcWritable(arrow, table), "file"))).lazy(),
  );
}

/**
 * Concatenates the frames of one scan lazily, in order, refusing objects
 * whose schemas disagree. Frames without columns (an empty CSV) add nothing.
 *
 * @param pl The polars namespace.
 * @param frames The scanned objects, in key order.
 * @param uri The URI the scan names, for errors.
 * @returns One frame.
 * @throws {GlacierError} `USER:SCHEMA_MISMATCH` naming two objects that disagree.
 */
export function concatFrames(pl: PolarsModule, frames: readonly ScannedFrame[], uri: string): LazyDataFrame {
  const kept = frames.filter((f) => f.schema.length > 0);
  if (kept.length === 0) return frames[0].frame;
  const first = kept[0];
  const expected = first.schema.join(", ");
  for (const other of kept.slice(1)) {
    const actual = other.schema.join(", ");
    if (actual !== expected) {
      throw new GlacierError(
        "USER:SCHEMA_MISMATCH",
        `Cannot scan ${uri} into one frame: ${first.uri} has schema {${expected}} but ${other.uri} has {${actual}}; give them the same columns and types, or scan them separately`,
      );
    }
  }
  return kept.length === 1 ? first.frame : pl.concat(kept.map((f) => f.frame), { how: "vertical" });
}

// Builds a frame, applies the schema option as casts, and reads its schema:
// a file polars cannot open fails here, named, rather than at collect().
async function probe(
  pl: PolarsModule,
  uri: string,
  what: string,
  options: CheckedScanOptions,
  build: () => LazyDataFrame | Promise<LazyDataFrame>,
): Promise<ScannedFrame> {
  let frame: LazyDataFrame;
  let empty: DataFrame;
  try {
    frame = await build();
    empty = await frame.limit(0).collect();
  } catch (error) {
    throw corrupt(uri, what, error);
  }
  const overrides = Object.entries(options.schema);
  if (overrides.length) {
    checkColumns(uri, empty.columns, Object.keys(options.schema));
    frame = frame.withColumns(...overrides.map(([name, type]) => pl.col(name).cast(type, true)));
    empty = await frame.limit(0).collect();
  }
  return { uri, frame, schema: schemaOf(empty) };
}

function corrupt(uri: string, what: string, error: unknown): GlacierError {
  if (error instanceof GlacierError) return error;
  const message = errorMessage(error);
  if (what === "CSV" && /utf-?8/i.test(message)) return notUtf8(uri);
  return new GlacierError("USER:FILE_CORRUPT", `Cannot read ${what} ${uri}: ${message}`, { cause: error });
}

function notUtf8(uri: string, at?: number): GlacierError {
  return new GlacierError(
    "USER:FILE_CORRUPT",
    `Cannot read CSV ${uri}: it is not valid UTF-8${
      at === undefined ? "" : ` (at byte ${at})`
    }; pass encoding: "utf8-lossy" to read it with bad bytes replaced by U+FFFD, or convert the file to UTF-8`,
  );
}

async function fileBuffer(path: string): Promise<Buffer> {
  return bufferOf(await Deno.readFile(path));
}

// A Buffer over the same memory, not a copy.
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function schemaOf(frame: DataFrame): string[] {
  return Object.entries(frame.schema as Record<string, DataType>).map(([name, type]) =>
    `${name}: ${typeName(type)}`
  );
}

function typeName(type: DataType): string {
  return String(type).replace(/^DataType\((.*)\)$/, "$1");
}

function checkColumns(uri: string, columns: readonly string[], wanted: readonly string[]): void {
  const missing = wanted.find((name) => !columns.includes(name));
  if (missing !== undefined) {
    throw new RangeError(
      `Bucket.scan() option "schema" names column ${
        JSON.stringify(missing)
      }, which ${uri} does not have; its columns are ${columns.map((c) => JSON.stringify(c)).join(", ")}`,
    );
  }
}

async function isIpcFile(path: string): Promise<boolean> {
  using file = await Deno.open(path);
  const head = new Uint8Array(6);
  const n = await file.read(head);
  return n === 6 && new TextDecoder().decode(head) === "ARROW1";
}

// ---------------------------------------------------------------- CSV

const POLARS_TYPES: Record<Exclude<CsvKind, "timestamp">, (pl: PolarsModule) => DataType> = {
  int: (pl) => pl.Int32,
  bigint: (pl) => pl.Int64,
  float: (pl) => pl.Float64,
  bool: (pl) => pl.Bool,
  date: (pl) => pl.Date,
  string: (pl) => pl.Utf8,
};

async function scanCsv(
  pl: PolarsModule,
  path: string,
  uri: string,
  options: CheckedScanOptions,
): Promise<ScannedFrame> {
  const { delimiter, header, encoding, skipBadLines } = options;
  const read = { sep: delimiter, quoteChar: '"', encoding, hasHeader: false, inferSchemaLength: 0 } as const;
  // The header and the sample come from the file's head, read once: polars
  // reads a whole file even for a few rows. The head is checked for UTF-8
  // here; polars refuses invalid UTF-8 after it when the frame is collected.
  const head = await csvHead(path, CSV_SAMPLE_ROWS + 1);
  if (encoding === "utf8") checkUtf8(head, uri);
  let first: DataFrame;
  try {
    // The first line alone, unless a quoted line break makes it more.
    first = tryRead(() => pl.readCSV(lines(head, 1), { ...read, nRows: 1 })) ??
      pl.readCSV(lines(head, Infinity), { ...read, nRows: 1 });
  } catch (error) {
    if (/empty/i.test(errorMessage(error))) return { uri, frame: pl.DataFrame({}).lazy(), schema: [] };
    throw corrupt(uri, "CSV", error);
  }
  const width = first.width;
  const names = header
    ? csvColumnNames(first.row(0).map((v) => (v ?? "") as string))
    : Array.from({ length: width }, (_, i) => `column_${i + 1}`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new GlacierError(
        "USER:DUPLICATE_COLUMN",
        `Cannot scan CSV ${uri}: its header names the column ${
          JSON.stringify(name)
        } twice; rename one of them in the file, or pass header: false to name the columns column_1, column_2, …`,
      );
    }
    seen.add(name);
  }
  checkColumns(uri, names, Object.keys(options.schema));

  // The sample, every field as text, with one column more than the header
  // to see rows that have too many fields.
  const extra = unusedName(names);
  const textSchema = (cols: readonly string[]) => Object.fromEntries(cols.map((c) => [c, pl.Utf8]));
  let sample: DataFrame;
  const sampleRows = Math.max(10, Math.min(CSV_SAMPLE_ROWS, Math.floor(CSV_SAMPLE_CELLS / (width + 1)))) +
    (header ? 1 : 0);
  try {
    // The head holds at most CSV_SAMPLE_ROWS + 1 lines: a sample of that many is all of it.
    sample = pl.readCSV(lines(head, sampleRows > CSV_SAMPLE_ROWS ? Infinity : sampleRows), {
      ...read,
      schema: textSchema([...names, extra]),
      truncateRaggedLines: true,
      nRows: sampleRows,
    });
  } catch (error) {
    throw corrupt(uri, "CSV", error);
  }
  // The sample's rows below the header; a row with a field in the extra
  // column has too many fields.
  const skip = header ? 1 : 0;
  let body = sample.slice(skip, Math.max(0, sample.height - skip));
  const ragged = body.getColumn(extra).isNotNull().argTrue().toArray() as number[];
  if (ragged.length) {
    if (!skipBadLines) {
      throw new GlacierError(
        "USER:CSV_MALFORMED",
        `Cannot scan CSV ${uri}: line ${ragged[0] + skip + 1} has more fields than the ${width} of ${
          header ? "the header" : "the first line"
        }; fix the row, quote fields that hold ${
          JSON.stringify(delimiter)
        }, or pass skipBadLines: true to drop such rows`,
      );
    }
    body = body.filter(pl.col(extra).isNull());
  }
  const nulls = new Set(["", ...options.nullValues]);
  const kinds = new Map<string, CsvKind | DataType>();
  const column = sampledValues(body, names);
  for (const [i, name] of names.entries()) {
    if (Object.hasOwn(options.schema, name)) {
      kinds.set(name, options.schema[name]);
      continue;
    }
    // Null markers other than the empty field are few: only then is every field looked up.
    const fields = column(i);
    kinds.set(
      name,
      inferCsvKind(nulls.size > 1 ? fields.map((v) => v !== null && nulls.has(v) ? "" : v) : fields),
    );
  }

  const scan = {
    sep: delimiter,
    quoteChar: '"',
    encoding,
    hasHeader: header,
    inferSchemaLength: 0,
    nullValues: [...nulls] as string[],
    glob: false,
  } as const;
  let frame: LazyDataFrame;
  let skipped: LazyDataFrame | undefined;
  if (!skipBadLines) {
    const schema: Record<string, DataType> = {};
    for (const [name, kind] of kinds) {
      schema[name] = typeof kind !== "string"
        ? kind
        : kind === "timestamp"
        ? pl.Utf8
        : POLARS_TYPES[kind](pl);
    }
    frame = pl.scanCSV(path, { ...scan, schema, truncateRaggedLines: false });
    const stamps = [...kinds].filter(([, kind]) => kind === "timestamp").map(([name]) => name);
    if (stamps.length) frame = frame.withColumns(...stamps.map((name) => strictTimestamp(pl, name)));
  } else {
    // Every field as text; a row is dropped when it has too many fields or
    // any of its fields does not convert to its column's type.
    const text = pl.scanCSV(path, {
      ...scan,
      schema: textSchema([...names, extra]),
      truncateRaggedLines: true,
    });
    const converted = [...kinds].map(([name, kind]) => ({ name, kind, expr: convert(pl, name, kind) }));
    let bad: Expr = pl.col(extra).isNotNull();
    for (const { name, kind, expr } of converted) {
      if (kind !== "string") bad = bad.or(pl.col(name).isNotNull().and(expr.isNull()));
    }
    frame = text.filter(bad.not()).select(...converted.map(({ name, expr }) => expr.alias(name)));
    skipped = text.filter(bad).select(pl.len().alias("skipped"));
  }
  let empty: DataFrame;
  try {
    empty = await frame.limit(0).collect();
  } catch (error) {
    throw corrupt(uri, "CSV", error);
  }
  return { uri, frame, schema: schemaOf(empty), ...(skipped ? { skipped } : {}) };
}

// Each column's sampled fields, for inferCsvKind: its distinct values (the
// kind does not depend on order or repeats), or every value past a few
// hundred columns, read row by row: nodejs-polars' getColumns() is quadratic
// in the column count.
function sampledValues(body: DataFrame, names: readonly string[]): (i: number) => (string | null)[] {
  if (names.length <= 500) {
    const columns = names.map((name) => body.getColumn(name).unique().toArray() as (string | null)[]);
    return (i) => columns[i];
  }
  const rows = body.rows() as (string | null)[][];
  return (i) => rows.map((row) => row[i]);
}

function unusedName(names: readonly string[]): string {
  let name = "__glacier_extra_field";
  while (names.includes(name)) name += "_";
  return name;
}

// A column's text converted to its kind, null where it does not convert.
function convert(pl: PolarsModule, name: string, kind: CsvKind | DataType): Expr {
  const raw = pl.col(name);
  if (typeof kind !== "string") return kind.equals(pl.Bool) ? bool(pl, raw) : raw.cast(kind, false);
  switch (kind) {
    case "timestamp":
      return timestamp(pl, name);
    case "bool":
      return bool(pl, raw);
    case "date":
      return pl.when(raw.str.contains(DATE)).then(raw.str.strptime(pl.Date, "%Y-%m-%d")).otherwise(
        pl.lit(null),
      );
    case "string":
      return raw;
    default:
      return raw.cast(POLARS_TYPES[kind](pl), false);
  }
}

function bool(pl: PolarsModule, raw: Expr): Expr {
  const lower = raw.str.toLowerCase();
  return pl.when(lower.eq(pl.lit("true"))).then(pl.lit(true))
    .when(lower.eq(pl.lit("false"))).then(pl.lit(false))
    .otherwise(pl.lit(null).cast(pl.Bool));
}

// The text of a timestamp column (csv.ts's DATE or TIMESTAMP) as UTC
// milliseconds, naive like the Arrow reader's TimestampMillisecond: written
// without an offset it is read as UTC, with one it is converted. The text is
// first brought to one form, `YYYY-MM-DDTHH:MM:SS[.f][+HH:MM]`; anything else
// is null.
function timestamp(pl: PolarsModule, name: string): Expr {
  const raw = pl.col(name);
  const canonical = raw
    .str.replace(/^(\d{4}-\d{2}-\d{2})$/, "${1}T00:00")
    .str.replace(/^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(Z|[+-]|$)/, "${1}T${2}:00${3}")
    .str.replace(/^(\d{4}-\d{2}-\d{2}) /, "${1}T")
    .str.replace(/Z$/, "+00:00")
    .str.replace(/([+-]\d{2})(\d{2})$/, "${1}:${2}");
  const shaped = raw.str.contains(TIMESTAMP).or(raw.str.contains(DATE));
  const withOffset = canonical.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.f%:z")
    .cast(pl.Datetime("ms", "UTC")).cast(pl.Int64);
  const asUtc = canonical.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.f")
    .cast(pl.Datetime("ms")).cast(pl.Int64);
  return pl.when(shaped.and(raw.str.contains(ZONE))).then(withOffset)
    .when(shaped).then(asUtc)
    .otherwise(pl.lit(null).cast(pl.Int64))
    .cast(pl.Datetime("ms"));
}

// As timestamp(), but a value that is not a timestamp fails the query at
// collect(), naming the column and the value, instead of becoming null.
function strictTimestamp(pl: PolarsModule, name: string): Expr {
  const raw = pl.col(name);
  const value = timestamp(pl, name);
  const refused = pl.when(raw.isNotNull().and(value.isNull()))
    .then(pl.concatString([pl.lit("not an ISO timestamp: "), raw], ""))
    .otherwise(pl.lit(null).cast(pl.Utf8))
    .alias(name)
    .cast(pl.Datetime("ms"), true);
  return value.fillNull(refused).alias(name);
}

/** At most this much of a CSV file's start is read for the header and the type sample. */
export const CSV_HEAD_BYTES = 16 << 20;

// The file's start up to the line break that ends its first `rows` lines, or
// to the last line break in CSV_HEAD_BYTES (so no row is cut short), or the
// whole file. Read in growing chunks: a narrow file's sample is a small head.
async function csvHead(path: string, rows: number): Promise<Uint8Array> {
  using file = await Deno.open(path);
  let buffer = new Uint8Array(1 << 20);
  let length = 0;
  let breaks = 0;
  while (true) {
    if (length === buffer.length) {
      if (length === CSV_HEAD_BYTES) break;
      const grown = new Uint8Array(Math.min(CSV_HEAD_BYTES, length * 4));
      grown.set(buffer);
      buffer = grown;
    }
    const n = await file.read(buffer.subarray(length));
    if (n === null) return buffer.subarray(0, length);
    for (
      let at = buffer.indexOf(0x0a, length);
      at >= 0 && at < length + n;
      at = buffer.indexOf(0x0a, at + 1)
    ) {
      if (++breaks === rows) return buffer.subarray(0, at + 1);
    }
    length += n;
  }
  const end = buffer.lastIndexOf(0x0a);
  return buffer.subarray(0, end < 0 ? length : end + 1);
}

// The first `n` lines of the head, as polars reads bytes (a Buffer over them, not a copy).
function lines(bytes: Uint8Array, n: number): Buffer {
  if (n === Infinity) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = 0;
  for (let i = 0; i < n && end < bytes.length; i++) {
    const next = bytes.indexOf(0x0a, end);
    end = next < 0 ? bytes.length : next + 1;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, end);
}

function tryRead(read: () => DataFrame): DataFrame | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

// Whether the head is UTF-8 (it ends at a line break or at the file's end, so with a whole character).
function checkUtf8(bytes: Uint8Array, uri: string): void {
  if (!isUtf8(bytes)) throw notUtf8(uri, firstBadByte(bytes));
}

// Where the first byte that breaks UTF-8 is; only called once a chunk failed.
function firstBadByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const sequence = bytes.subarray(i, i + length);
    if (length === 0 || sequence.length < length || !isUtf8(sequence)) return i;
    i += length;
  }
  return bytes.length;
}
