#!/usr/bin/env -S deno run -A
// Sequential: each task takes the previous one's output.
import { pipeline, Provider } from "../../mod.ts";

const local = new Provider().local();

const load = local.task(function load(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
});
const square = local.task(function square(xs: number[]): number[] {
  return xs.map((x) => x * x);
});
const total = local.task(function total(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
});

export const sequential = pipeline({ name: "sequential" }, () => total(square(load(10))));

// run() needs no import.meta.main guard: it is a no-op when Glacier imports
// this file (to analyze it, say). Printing is this script's own business.
const result = await sequential.run();
if (import.meta.main) console.log("sum of squares:", result);
