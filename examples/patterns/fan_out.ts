#!/usr/bin/env -S deno run -A
// Fan-out: one output feeds several independent tasks, which run in parallel.
import { pipeline, Provider } from "../../mod.ts";

const local = new Provider().local();

const readings = local.task(function readings(): number[] {
  return [12, 7, 3, 19, 4, 15, 8];
});
const minimum = local.task(function minimum(xs: number[]): number {
  return Math.min(...xs);
});
const maximum = local.task(function maximum(xs: number[]): number {
  return Math.max(...xs);
});
const mean = local.task(function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
});

export const fanOut = pipeline({ name: "fan_out" }, () => {
  const xs = readings();
  return { min: minimum(xs), max: maximum(xs), mean: mean(xs) };
});

if (import.meta.main) console.log(await fanOut.run());
