/**
 * CSV to and from Arrow tables. Parsing goes through `csv-parse` (quotes,
 * embedded newlines, BOMs); column types are inferred from the values: whole
 * numbers, decimals, booleans, ISO dates and timestamps, strings; an empty
 * field is null.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import {
  Bool,
  type DataType,
  DateDay,
  Float64,
  Int32,
  Table,
  TimestampMillisecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";

const INT = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOL = /^(true|false)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

type Kind = "int" | "float" | "bool" | "date" | "timestamp" | "string";

function kindOf(column: readonly string[]): Kind {
  let kind: Kind | undefined;
  for (const value of column) {
    if (value === "") continue;
    const k: Kind = INT.test(value) && Math.abs(Number(value)) <= 2_147_483_647
      ? "int"
      : FLOAT.test(value)
      ? "float"
      : BOOL.test(value)
      ? "bool"
      : DATE.test(value)
      ? "date"
      : TIMESTAMP.test(value)
      ? "timestamp"
      : "string";
    if (kind === undefined || kind === k) kind = k;
    else if ((kind === "int" && k === "float") || (kind === "float" && k === "int")) kind = "float";
    else if ((kind === "date" && k === "timestamp") || (kind === "timestamp" && k === "date")) {
      kind = "timestamp";
    } else return "string";
  }
  return kind ?? "string";
}

const TYPES: Record<Kind, () => DataType> = {
  int: () => new Int32(),
  float: () => new Float64(),
  bool: () => new Bool(),
  date: () => new DateDay(),
  timestamp: () => new TimestampMillisecond(),
  string: () => new Utf8(),
};

function convert(kind: Kind, value: string): unknown {
  if (value === "") return null;
  switch (kind) {
    case "int":
    case "float":
      return Number(value);
    case "bool":
      return value.toLowerCase() === "true";
    case "date":
    case "timestamp":
      return new Date(kind === "date" ? `${value}T00:00:00Z` : value.replace(" ", "T")).getTime();
    default:
      return value;
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
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true });
  } catch (error) {
    throw new GlacierError("USER:CSV_MALFORMED", `Cannot read CSV ${uri}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (rows.length === 0) return new Table();
  const [header, ...body] = rows;
  const names = header.map((name, i) => name.trim() || `column_${i + 1}`);
  const columns: Record<string, Vector> = {};
  for (let c = 0; c < names.length; c++) {
    const raw = body.map((row) => row[c]);
    const kind = kindOf(raw);
    const values = raw.map((v) => convert(kind, v));
    // deno-lint-ignore no-explicit-any
    columns[names[c]] = vectorFromArray(values as any, TYPES[kind]());
  }
  return new Table(columns);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  const text = typeof value === "bigint"
    ? value.toString()
    : typeof value === "object"
    ? JSON.stringify(value)
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
  const isDate = fields.map((f) => f.type instanceof DateDay);
  const isTime = fields.map((f) => /Timestamp|Date/.test(String(f.type)) && !(f.type instanceof DateDay));
  const lines = [fields.map((f) => cell(f.name)).join(",")];
  for (let r = 0; r < table.numRows; r++) {
    let line = "";
    for (let c = 0; c < columns.length; c++) {
      let value = columns[c].get(r);
      if (value !== null && (isDate[c] || isTime[c])) {
        const iso = new Date(Number(value)).toISOString();
        value = isDate[c] ? iso.slice(0, 10) : iso;
      }
      line += (c ? "," : "") + cell(value);
    }
    lines.push(line);
  }
  return lines.join("\n") + "\n";
}
