/**
 * JSON and NDJSON to and from Arrow tables. A `.json` file holds one array
 * of row objects; an `.ndjson` / `.jsonl` file holds one row object a line.
 * Column types are inferred from the values: whole numbers, decimals,
 * booleans, ISO dates and timestamps (strings that all look like one),
 * strings, and nested objects and arrays as Arrow structs and lists; a
 * missing key or `null` is null.
 *
 * @module
 */
import {
  Bool,
  DataType,
  DateDay,
  DateUnit,
  Float64,
  Int32,
  Table,
  TimestampMillisecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";
import { decimalScale, decimalText } from "./_decimal.ts";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

type Kind = "int" | "float" | "bool" | "date" | "timestamp" | "string" | "nested" | "json";

function kindOfValue(value: unknown): Kind {
  switch (typeof value) {
    case "number":
      return Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647 ? "int" : "float";
    case "boolean":
      return "bool";
    case "string":
      return DATE.test(value) ? "date" : TIMESTAMP.test(value) ? "timestamp" : "string";
    default:
      return "nested";
  }
}

function kindOf(values: readonly unknown[]): Kind {
  let kind: Kind | undefined;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const k = kindOfValue(value);
    if (kind === undefined || kind === k) kind = k;
    else if ((kind === "int" && k === "float") || (kind === "float" && k === "int")) kind = "float";
    else if ((kind === "date" && k === "timestamp") || (kind === "timestamp" && k === "date")) {
      kind = "timestamp";
    } else if (
      ["date", "timestamp", "string"].includes(kind) && ["date", "timestamp", "string"].includes(k)
    ) {
      kind = "string";
    } else return "json";
  }
  return kind ?? "string";
}

const TYPES: Partial<Record<Kind, () => DataType>> = {
  int: () => new Int32(),
  float: () => new Float64(),
  bool: () => new Bool(),
  date: () => new DateDay(),
  timestamp: () => new TimestampMillisecond(),
  string: () => new Utf8(),
  json: () => new Utf8(),
};

function column(values: unknown[]): Vector {
  const kind = kindOf(values);
  const present = values.map((v) => v === undefined ? null : v);
  if (kind === "nested") {
    // Arrow infers structs and lists; shapes it cannot type fall back to JSON text.
    try {
      return vectorFromArray(present);
    } catch {
      return column(present.map((v) => v === null ? null : JSON.stringify(v)));
    }
  }
  const converted = present.map((v) => {
    if (v === null) return null;
    if (kind === "date") return new Date(`${v}T00:00:00Z`).getTime();
    if (kind === "timestamp") return new Date(v as string).getTime();
    if (kind === "json") return typeof v === "string" ? v : JSON.stringify(v);
    return v;
  });
  // deno-lint-ignore no-explicit-any
  return vectorFromArray(converted as any, TYPES[kind]!());
}

function toTable(rows: readonly unknown[], uri: string, where: (i: number) => string): Table {
  const names: string[] = [];
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new GlacierError(
        "USER:JSON_MALFORMED",
        `Cannot read JSON ${uri}: ${where(i)} is ${
          row === null ? "null" : Array.isArray(row) ? "an array" : typeof row
        }, not an object; write one object per row`,
      );
    }
    for (const key of Object.keys(row)) if (!seen.has(key)) seen.add(key), names.push(key);
  });
  if (rows.length === 0) return new Table();
  const columns: Record<string, Vector> = {};
  for (const name of names) {
    columns[name] = column(rows.map((row) => (row as Record<string, unknown>)[name]));
  }
  return new Table(columns);
}

/**
 * Parses a JSON array of row objects into a table with inferred column types.
 *
 * @param text The JSON text.
 * @param uri Where it came from, for errors.
 * @returns The table; an empty array gives an empty table.
 * @throws {GlacierError} `USER:JSON_MALFORMED` when the text is not JSON, not an array, or holds a non-object row, naming the URI.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJson } from "./json.ts";
 * const table = parseJson('[{"a": 1, "b": "x"}, {"a": 2}]', "mem://x.json");
 * assert.ok(table.numRows === 2 && table.getChild("b")?.get(1) === null);
 * ```
 */
export function parseJson(text: string, uri: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new GlacierError("USER:JSON_MALFORMED", `Cannot read JSON ${uri}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (!Array.isArray(value)) {
    throw new GlacierError(
      "USER:JSON_MALFORMED",
      `Cannot read JSON ${uri}: the top level is ${
        value === null ? "null" : typeof value
      }, not an array of rows; write "[{…}, …]" or use ".ndjson" for one row a line`,
    );
  }
  return toTable(value, uri, (i) => `row ${i + 1}`);
}

/**
 * Parses newline-delimited JSON (one row object a line; blank lines are
 * skipped) into a table with inferred column types.
 *
 * @param text The NDJSON text.
 * @param uri Where it came from, for errors.
 * @returns The table.
 * @throws {GlacierError} `USER:JSON_MALFORMED` when a line is not a JSON object, naming the URI and line.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNdjson } from "./json.ts";
 * const table = parseNdjson('{"a": 1}\n{"a": 2.5}\n', "mem://x.ndjson");
 * assert.ok(table.getChild("a")?.get(1) === 2.5);
 * ```
 */
export function parseNdjson(text: string, uri: string): Table {
  const rows: unknown[] = [];
  const lines: number[] = [];
  const all = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < all.length; i++) {
    const line = all[i].trim();
    if (line === "") continue;
    try {
      rows.push(JSON.parse(line));
    } catch (error) {
      throw new GlacierError(
        "USER:JSON_MALFORMED",
        `Cannot read NDJSON ${uri}: line ${i + 1} is not JSON (${errorMessage(error)})`,
        { cause: error },
      );
    }
    lines.push(i + 1);
  }
  return toTable(rows, uri, (i) => `line ${lines[i]}`);
}

/** A cell as a JSON value: dates as ISO text, 64-bit integers as numbers when exact. */
function jsonValue(value: unknown, isDate: boolean, isTime: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (isDate || isTime) {
    const iso = new Date(Number(value)).toISOString();
    return isDate ? iso.slice(0, 10) : iso;
  }
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") {
    // Arrow structs, lists and maps have their own toJSON / toArray.
    const v = value as { toJSON?: () => unknown; toArray?: () => unknown };
    const plain = typeof v.toJSON === "function" ? v.toJSON() : value;
    return JSON.parse(
      JSON.stringify(plain, (_k, x) => typeof x === "bigint" ? jsonValue(x, false, false) : x),
    );
  }
  return value;
}

// A DateDay, also as read from Arrow IPC or Parquet (a Date_ with the DAY unit there, not a DateDay).
function isDateDay(type: DataType): boolean {
  return DataType.isDate(type) && type.unit === DateUnit.DAY;
}

function rowsOf(table: Table): Record<string, unknown>[] {
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name)!);
  const isDate = fields.map((f) => isDateDay(f.type));
  const isTime = fields.map((f) => /^(Timestamp|Date)/.test(String(f.type)) && !isDateDay(f.type));
  const scales = fields.map((f) => decimalScale(f.type));
  const rows: Record<string, unknown>[] = new Array(table.numRows);
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < fields.length; c++) {
      const value = columns[c].get(r);
      // A decimal as text: exact, with its scale (a JSON number would round it and drop trailing zeros).
      row[fields[c].name] = scales[c] !== undefined && value !== null
        ? decimalText(value, scales[c]!)
        : jsonValue(value, isDate[c], isTime[c]);
    }
    rows[r] = row;
  }
  return rows;
}

/**
 * Writes a table as a JSON array of row objects. Dates and timestamps are
 * ISO 8601 text; 64-bit integers are numbers when exact, else text.
 *
 * @param table The table.
 * @returns The JSON text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatJson } from "./json.ts";
 * import { tableFromArrays } from "apache-arrow";
 * assert.ok(formatJson(tableFromArrays({ a: Int32Array.from([1]) })) === '[{"a":1}]\n');
 * ```
 */
export function formatJson(table: Table): string {
  return JSON.stringify(rowsOf(table)) + "\n";
}

/**
 * Writes a table as NDJSON: one row object a line.
 *
 * @param table The table.
 * @returns The NDJSON text, ending in a newline when there are rows.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNdjson } from "./json.ts";
 * import { tableFromArrays } from "apache-arrow";
 * assert.ok(formatNdjson(tableFromArrays({ a: Int32Array.from([1, 2]) })) === '{"a":1}\n{"a":2}\n');
 * ```
 */
export function formatNdjson(table: Table): string {
  return rowsOf(table).map((row) => JSON.stringify(row) + "\n").join("");
}
