// What a CSV field holds: the inference rules both CSV readers share,
// `parseCsv` (csv.ts, into Arrow) and the polars scan (polars_read.ts). Kept
// apart from csv.ts so the polars scan loads neither papaparse nor
// apache-arrow. The patterns are written for both JavaScript and Rust's
// regex syntax: the polars scan hands DATE, TIMESTAMP and ZONE to polars.

const INT = /^[-+]?\d+$/;
const LEADING_ZERO = /^[-+]?0\d/;
/** `NaN` and infinities as CSV writers spell them. */
export const SPECIAL_FLOAT = /^[-+]?(nan|inf|infinity)$/i;
const INT64_MAX = 2n ** 63n - 1n;
/** The offset at the end of a timestamp that gives one. */
export const ZONE = /(Z|[+-]\d{2}:?\d{2})$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOL = /^(true|false)$/i;
/** An ISO date. */
export const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** An ISO timestamp: `T` or a space, seconds and fractions optional, an offset optional. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * What a CSV column holds: `int` (Int32), `bigint` (exact Int64), `float`
 * (Float64, with `NaN` and `inf`), `bool`, `date` (ISO `YYYY-MM-DD`),
 * `timestamp` (ISO, UTC unless an offset is given) or `string`.
 */
export type CsvKind = "int" | "bigint" | "float" | "bool" | "date" | "timestamp" | "string";

function wholeKind(value: string): CsvKind {
  if (LEADING_ZERO.test(value)) return "string"; // 00123 is a code, not 123
  if (Math.abs(Number(value)) <= 2_147_483_647) return "int";
  const n = BigInt(value);
  return n <= INT64_MAX && n >= -INT64_MAX - 1n ? "bigint" : "string"; // exact, or kept as written
}

const WHOLE: ReadonlySet<CsvKind> = new Set(["int", "bigint"]);

/**
 * Infers a CSV column's kind from its fields as written. An empty field is
 * null and does not vote. A whole number with a leading zero (`00123`) is a
 * string; whole numbers beyond int32 are `bigint`, beyond int64 a string;
 * whole numbers with decimals make `float`; dates with timestamps make
 * `timestamp`; any other mix is a string.
 *
 * @param column The column's fields, `""` (or `null`) for an empty one.
 * @returns The kind.
 * @example Leading zeros, int64 and special floats
 * ```ts
 * import assert from "node:assert/strict";
 * import { inferCsvKind } from "./csv.ts";
 * assert.equal(inferCsvKind(["1", "00123"]), "string");
 * assert.equal(inferCsvKind(["1", "9007199254740993"]), "bigint");
 * assert.equal(inferCsvKind(["1.5", "NaN", "", "-inf"]), "float");
 * assert.equal(inferCsvKind(["2024-01-02", "2024-01-02 03:04"]), "timestamp");
 * ```
 */
export function inferCsvKind(column: readonly (string | null)[]): CsvKind {
  let kind: CsvKind | undefined;
  for (const value of column) {
    if (value === "" || value === null) continue;
    const k: CsvKind = INT.test(value)
      ? wholeKind(value)
      : FLOAT.test(value) || SPECIAL_FLOAT.test(value)
      ? "float"
      : BOOL.test(value)
      ? "bool"
      : DATE.test(value)
      ? "date"
      : TIMESTAMP.test(value)
      ? "timestamp"
      : "string";
    if (k === "string") return "string"; // nothing widens a string column back
    if (kind === undefined || kind === k) kind = k;
    else if (WHOLE.has(kind) && WHOLE.has(k)) kind = "bigint";
    else if ((WHOLE.has(kind) && k === "float") || (kind === "float" && WHOLE.has(k))) kind = "float";
    else if ((kind === "date" && k === "timestamp") || (kind === "timestamp" && k === "date")) {
      kind = "timestamp";
    } else return "string";
  }
  return kind ?? "string";
}

/**
 * The column names of a CSV header row: each trimmed, an empty one named
 * `column_<n>` (counting from 1).
 *
 * @param header The header row's fields.
 * @returns The names, in order.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvColumnNames } from "./csv.ts";
 * assert.deepEqual(csvColumnNames([" id ", "", "name"]), ["id", "column_2", "name"]);
 * ```
 */
export function csvColumnNames(header: readonly string[]): string[] {
  return header.map((name, i) => name.trim() || `column_${i + 1}`);
}
