// Type test, checked by `deno check` in `deno task check` (not run): every
// `@ts-expect-error` line must be an error, or the check fails.
import type { Table } from "apache-arrow";
import { pipeline, Provider, type Ref } from "../../../mod.ts";

const local = new Provider().local();
const extract = local.task(function extract(): Promise<Table> {
  return Promise.resolve(null as unknown as Table);
});
const clean = local.task(function clean(df: Table): Table {
  return df;
});
const count = local.task(function count(df: Table): number {
  return df.numRows;
});
const label = local.task(function label(n: number, prefix: string): string {
  return `${prefix}${n}`;
});
const split = local.task(function split(df: Table): [Table, Table] {
  return [df, df];
});
const stats = local.task(function stats(_df: Table): { rows: number; name: string } {
  return { rows: 1, name: "x" };
});
const many = local.task(function many(xs: number[]): number {
  return xs.length;
});

export const typed = pipeline({ name: "typed" }, async (params: { prefix: string }) => {
  const cleaned: Ref<Table> = clean(extract());
  const n: Ref<number> = count(cleaned);
  label(n, params.prefix);
  const [train, test] = split(cleaned);
  count(train);
  const { rows, name } = stats(test);
  label(rows, name);
  many([n, 3, count(test)]);
  const awaited: number = await count(cleaned);
  label(awaited, "plain values mix with refs");

  // @ts-expect-error a Ref<number> is not a Table
  clean(n);
  // @ts-expect-error a Ref<string> is not a number
  label(name, "x");
  // @ts-expect-error the parameter order matters
  label(params.prefix, n);
  // @ts-expect-error no such field on the ref
  stats(test).missing;
  // @ts-expect-error an array of refs must hold refs of numbers
  many([n, name]);
  return { n };
});
