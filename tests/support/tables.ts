/**
 * Sample tables and a value-level comparison for storage tests.
 *
 * @module
 */
import { Bool, Float64, Int32, Table, TimestampMillisecond, Utf8, vectorFromArray } from "apache-arrow";

/** A table with one column of each common type, nulls included. */
export function sampleTable(rows = 5, offset = 0): Table {
  const ids = Array.from({ length: rows }, (_, i) => i + offset);
  return new Table({
    id: vectorFromArray(ids, new Int32()),
    score: vectorFromArray(ids.map((i) => i % 3 === 1 ? null : i * 1.5), new Float64()),
    name: vectorFromArray(ids.map((i) => i % 4 === 2 ? null : `name, "${i}"`), new Utf8()),
    ok: vectorFromArray(ids.map((i) => i % 2 === 0), new Bool()),
    at: vectorFromArray(ids.map((i) => Date.UTC(2024, 0, 1 + (i % 28), 12, 30)), new TimestampMillisecond()),
  });
}

/** The rows as plain values (dates and 64-bit integers as numbers), to compare tables across formats. */
export function rowsOf(table: Table): Record<string, unknown>[] {
  return table.toArray().map((row) =>
    Object.fromEntries(
      Object.entries(row.toJSON()).map(([k, v]) => [
        k,
        v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v,
      ]),
    )
  );
}

/** `name: type` for every column. */
export function schemaOf(table: Table): string[] {
  return table.schema.fields.map((f) => `${f.name}: ${f.type}`);
}
