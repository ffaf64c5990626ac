#!/usr/bin/env -S deno run -A
// Dynamic fan-out: the list of files is known only at run time. `await` gives
// the real list; one processFile call per file, then one combine.
import { type Bucket, pipeline, Provider } from "../../mod.ts";

const provider = new Provider();
const local = provider.local();
const inbox = provider.bucket({ bucket: "patterns", path: "inbox/" });

const seed = local.task(async function seed(dir: Bucket): Promise<number> {
  for (let i = 1; i <= 5; i++) await dir.at(`inbox/part-${i}.txt`).put(`${"x".repeat(i * 10)}\n`);
  return 5;
});
const listFiles = local.task(function listFiles(dir: Bucket, _ready: number): Promise<string[]> {
  return dir.list();
});
const processFile = local.task(async function processFile(dir: Bucket, key: string): Promise<number> {
  return (await dir.at(key).read()).byteLength;
});
const combine = local.task(function combine(sizes: number[]): number {
  return sizes.reduce((a, b) => a + b, 0);
});

export const dynamicFanOut = pipeline({ name: "dynamic_fan_out" }, async () => {
  const files = await listFiles(inbox, seed(inbox));
  return combine(files.map((key) => processFile(inbox, key)));
});

if (import.meta.main) console.log("total bytes:", await dynamicFanOut.run());
