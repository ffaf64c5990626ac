#!/usr/bin/env -S deno run -A
// Multi-output: a task returns a tuple or an object; destructure the ref and
// each part flows on its own.
import { pipeline, Provider } from "../../mod.ts";

const local = new Provider().local();

const split = local.task(function split(xs: number[], ratio: number): [number[], number[]] {
  const cut = Math.round(xs.length * ratio);
  return [xs.slice(0, cut), xs.slice(cut)];
});
const describe = local.task(function describe(xs: number[]): { count: number; sum: number } {
  return { count: xs.length, sum: xs.reduce((a, b) => a + b, 0) };
});
const report = local.task(function report(trainCount: number, testSum: number): string {
  return `train has ${trainCount} rows, test sums to ${testSum}`;
});

export const multiOutput = pipeline({ name: "multi_output" }, () => {
  const [train, test] = split([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.8);
  const { count } = describe(train);
  const { sum } = describe(test);
  return report(count, sum);
});

if (import.meta.main) console.log(await multiOutput.run());
