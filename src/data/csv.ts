/**
 * CSV to and from Arrow tables. Parsing goes through `papaparse` (quotes,
 * embedded newlines; a BOM is dropped); column types are inferred from the values: whole
 * numbers (int32, else int64, exact beyond 2^53), decimals (with `NaN`,
 * `inf`), booleans, ISO dates and timestamps (UTC unless they give an
 * offset, so a file reads the same on every machine), strings; an empty field
 * is null. A whole number with a leading zero (`00123`, an id or a code) stays
 * a string. The inference rules ({@linkcode inferCsvKind}) are shared with
 * the polars scan of `Bucket.scan()`.
 *
 * @module
 */
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import {
  Bool,
  DataType,
  DateDay,
  DateUnit,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  Table,
  TimestampMillisecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { GlacierError } from "../errors.ts";
import { decimalScale, decimalText } from "./_decimal.ts";
import { csvColumnNames, type CsvKind as Kind, inferCsvKind, SPECIAL_FLOAT, ZONE } from "./_csv_kinds.ts";

export { csvColumnNames, type CsvKind, inferCsvKind } from "./_csv_kinds.ts";

// A decimal, or NaN / ±inf as CSV writers spell them.
function floatOf(text: string): number {
  if (!SPECIAL_FLOAT.test(text)) return Number(text);
  const lower = text.toLowerCase();
  return lower.endsWith("nan") ? NaN : lower.startsWith("-") ? -Infinity : Infinity;
}

// Columns are built straight into Arrow buffers: typed values plus a validity
// bitmap, and UTF-8 bytes with offsets for strings. Going through
// vectorFromArray's builders was several times slower on a million rows.
function column(kind: Kind, raw: readonly string[]): Vector {
  const length = raw.length;
  const validity = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < length; i++) {
    if (raw[i] === "" || raw[i] === undefined) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const nullBitmap = nullCount ? validity : undefined;
  switch (kind) {
    case "int":
    case "date": {
      const values = new Int32Array(length);
      if (kind === "int") {
        for (let i = 0; i < length; i++) if (raw[i]) values[i] = Number(raw[i]);
      } else {
        const days = new Map<string, number>(); // dates repeat: parse each once
        for (let i = 0; i < length; i++) {
          const v = raw[i];
          if (!v) continue;
          let day = days.get(v);
          if (day === undefined) days.set(v, day = Math.floor(Date.parse(`${v}T00:00:00Z`) / 86_400_000));
          values[i] = day;
        }
      }
      const type = kind === "int" ? new Int32() : new DateDay();
      return makeVector(makeData({ type, length, nullCount, nullBitmap, data: values } as never));
    }
    case "bigint": {
      const values = new BigInt64Array(length);
      for (let i = 0; i < length; i++) if (raw[i]) values[i] = BigInt(raw[i]);
      return makeVector(makeData({ type: new Int64(), length, nullCount, nullBitmap, data: values }));
    }
    case "float": {
      const values = new Float64Array(length);
      for (let i = 0; i < length; i++) if (raw[i]) values[i] = floatOf(raw[i]);
      return makeVector(makeData({ type: new Float64(), length, nullCount, nullBitmap, data: values }));
    }
    case "bool": {
      const values = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) {
        if (raw[i] && raw[i].toLowerCase() === "true") values[i >> 3] |= 1 << (i & 7);
      }
      return makeVector(makeData({ type: new Bool(), length, nullCount, nullBitmap, data: values }));
    }
    case "timestamp":
      return vectorFromArray(
        raw.map((
          v,
        ) => (v ? Date.parse(ZONE.test(v) ? v.replace(" ", "T") : `${v.replace(" ", "T")}Z`) : null)),
        new TimestampMillisecond(),
      );
    default: {
      // One encode of the joined column; when it is all ASCII the byte offsets
      // are the character offsets, else encode value by value.
      const offsets = new Int32Array(length + 1);
      const joined = raw.join("");
      let bytes = new TextEncoder().encode(joined);
      let end = bytes.length;
      if (end === joined.length) {
        for (let i = 0; i < length; i++) offsets[i + 1] = offsets[i] + (raw[i]?.length ?? 0);
      } else {
        const encoder = new TextEncoder();
        end = 0;
        for (let i = 0; i < length; i++) {
          const piece = encoder.encode(raw[i] ?? "");
          bytes.set(piece, end);
          end += piece.length;
          offsets[i + 1] = end;
        }
      }
      bytes = bytes.subarray(0, end);
      return makeVector(
        makeData({ type: new Utf8(), length, nullCount, nullBitmap, valueOffsets: offsets, data: bytes }),
      );
    }
  }
}

/**
 * Parses CSV text with a header row into a table with inferred column types.
 *
 * @param text The CSV text.
 * @param uri Where it came from, for errors.
 * @returns The table.
 * @throws {GlacierError} When the CSV is malformed (a ragged row, an open quote), naming the URI and line.
 */
export function parseCsv(text: string, uri: string): Table {
  const parsed = Papa.parse<string[]>(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
    skipEmptyLines: true,
    delimiter: ",",
  });
  const fatal = parsed.errors.find((e) => e.type === "Quotes" || e.type === "Delimiter");
  if (fatal) {
    throw new GlacierError(
      "USER:CSV_MALFORMED",
      `Cannot read CSV ${uri}: ${fatal.message}${
        fatal.row === undefined ? "" : ` at data row ${fatal.row + 1}`
      }`,
    );
  }
  const rows = parsed.data;
  if (rows.length === 0) return new Table();
  const [header, ...body] = rows;
  const ragged = body.findIndex((row) => row.length !== header.length);
  if (ragged >= 0) {
    throw new GlacierError(
      "USER:CSV_MALFORMED",
      `Cannot read CSV ${uri}: line ${ragged + 2} has ${
        body[ragged].length
      } fields, the header has ${header.length}; fix the row or quote fields that hold commas`,
    );
  }
  const names = csvColumnNames(header);
  const columns: Record<string, Vector> = {};
  for (let c = 0; c < names.length; c++) {
    const raw = body.map((row) => row[c]);
    columns[names[c]] = column(inferCsvKind(raw), raw);
  }
  return new Table(columns);
}

// 64-bit integers inside nested values: numbers when exact, else text (JSON has no bigint).
const nestedBigint = (_key: string, x: unknown): unknown =>
  typeof x !== "bigint"
    ? x
    : x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(x)
    : x.toString();

// A DateDay, also as read from Arrow IPC or Parquet (a Date_ with the DAY unit there, not a DateDay).
const isDateDay = (type: DataType): boolean => DataType.isDate(type) && type.unit === DateUnit.DAY;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  const text = typeof value === "bigint" ? value.toString() : Object.is(value, -0)
    ? "-0" // String(-0) is "0", and a float column would read back +0
    : typeof value === "object"
    ? JSON.stringify(value, nestedBigint)
    : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Writes a table as CSV with a header row (RFC 4180 quoting). Dates and
 * timestamps are written as ISO 8601.
 *
 * @param table The table.
 * @returns The CSV text.
 */
export function formatCsv(table: Table): string {
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name)!);
  const isDate = fields.map((f) => isDateDay(f.type));
  // Anchored: a struct or list of timestamps is written as JSON, not as a time.
  const isTime = fields.map((f) => /^(Timestamp|Date)/.test(String(f.type)) && !isDateDay(f.type));
  const scales = fields.map((f) => decimalScale(f.type));
  const lines = [fields.map((f) => cell(f.name)).join(",")];
  for (let r = 0; r < table.numRows; r++) {
    let line = "";
    for (let c = 0; c < columns.length; c++) {
      let value = columns[c].get(r);
      if (value !== null && (isDate[c] || isTime[c])) {
        const iso = new Date(Number(value)).toISOString();
        value = isDate[c] ? iso.slice(0, 10) : iso;
      } else if (value !== null && scales[c] !== undefined) value = decimalText(value, scales[c]!);
      line += (c ? "," : "") + cell(value);
    }
    lines.push(line);
  }
  return lines.join("\n") + "\n";
}
