#!/usr/bin/env -S deno run -A
// Conditional on a param: `--params full=true` takes the other branch.
import { pipeline, Provider } from "../../mod.ts";

const local = new Provider().local();

const sample = local.task(function sample(): number[] {
  return Array.from({ length: 100 }, (_, i) => i);
});
const quickStats = local.task(function quickStats(xs: number[]): string {
  return `first 10 of ${xs.length}: ${xs.slice(0, 10).join(",")}`;
});
const fullStats = local.task(function fullStats(xs: number[]): string {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `all ${xs.length}, mean ${mean}`;
});

export const conditional = pipeline({ name: "conditional" }, (params: { full?: boolean }) => {
  const xs = sample();
  if (params.full) return fullStats(xs);
  return quickStats(xs);
});

if (import.meta.main) {
  console.log(await conditional.run());
  console.log(await conditional.run({ params: { full: true } }));
}
