#!/usr/bin/env -S deno run -A
// Fan-in: several independent sources meet in one task.
import { pipeline, Provider } from "../../mod.ts";

const local = new Provider().local();

const orders = local.task(function orders(): { id: number; customer: string; amount: number }[] {
  return [{ id: 1, customer: "ada", amount: 30 }, { id: 2, customer: "bob", amount: 12 }, {
    id: 3,
    customer: "ada",
    amount: 5,
  }];
});
const customers = local.task(function customers(): Record<string, string> {
  return { ada: "Lovelace", bob: "Babbage" };
});
const join = local.task(function join(
  rows: { customer: string; amount: number }[],
  names: Record<string, string>,
): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const row of rows) totals[names[row.customer]] = (totals[names[row.customer]] ?? 0) + row.amount;
  return totals;
});

export const fanIn = pipeline({ name: "fan_in" }, () => join(orders(), customers()));

if (import.meta.main) console.log(await fanIn.run());
