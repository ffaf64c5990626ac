import assert from "node:assert/strict";
import { GlacierError, isTask, Provider, TaskError } from "../../mod.ts";

const local = new Provider().local();

const double = local.task(function double(x: number): number {
  return x * 2;
});

Deno.test("a task called outside a pipeline runs at once and can be awaited", async () => {
  assert.equal(await double(21), 42);
  // A ref from a direct call can feed another direct call.
  assert.equal(await double(double(5)), 20);
  assert.ok(isTask(double));
  assert.equal(double.name, "double");
  assert.equal(double.module, import.meta.url);
  assert.match(double.source, /return x \* 2/);
});

Deno.test("an anonymous task is a TypeError that says how to name it", () => {
  assert.throws(
    () => local.task((x: number) => x),
    (e: Error) => e instanceof TypeError && /anonymous function.*name: "clean"/.test(e.message),
  );
  assert.equal(local.task({ name: "named" }, (x: number) => x).name, "named");
  assert.throws(() => local.task({ name: "has space" }, (x: number) => x), TypeError);
  assert.throws(() => local.task(double as never), /already bound/);
});

Deno.test("task options are range-checked", () => {
  assert.throws(
    () => local.task({ retries: -1 }, function r() {}),
    (e: Error) => e instanceof RangeError && /Task "r": "retries"/.test(e.message),
  );
  assert.throws(() => local.task({ timeout: 0 }, function t() {}), RangeError);
  const t = local.task({ retries: 2, timeout: 1000, cache: true, reads: ["s3://a/b"] }, function opts() {});
  assert.deepEqual([t.options.retries, t.options.timeout, t.options.cache, t.options.reads], [2, 1000, true, [
    "s3://a/b",
  ]]);
});

Deno.test("a direct call retries with backoff and reports the attempt that failed", async () => {
  let calls = 0;
  const flaky = local.task({ retries: 2, retryDelay: 1 }, function flaky(): string {
    if (++calls < 3) throw new Error(`flake ${calls}`);
    return "ok";
  });
  assert.equal(await flaky(), "ok");
  assert.equal(calls, 3);

  let failures = 0;
  const broken = local.task({ retries: 1, retryDelay: 1 }, function broken(): never {
    failures++;
    throw new Error("always");
  });
  await assert.rejects(async () => await broken(), (e: Error) => {
    assert.ok(e instanceof TaskError);
    assert.equal(e.attempt, 2);
    assert.equal(e.task, "broken");
    assert.match(e.message, /Task "broken" .*failed on attempt 2: always/);
    assert.equal((e.cause as Error).message, "always");
    return true;
  });
  assert.equal(failures, 2);
});

Deno.test("a timeout fails the attempt with a timeout TaskError", async () => {
  const slow = local.task({ timeout: 20 }, function slow(): Promise<string> {
    return new Promise((resolve) => setTimeout(() => resolve("late"), 300));
  });
  await assert.rejects(
    async () => await slow(),
    (e: Error) =>
      e instanceof GlacierError && (e as TaskError).code === "USER:TASK_TIMEOUT" &&
      /timed out after 20 ms/.test(e.message),
  );
  await new Promise((r) => setTimeout(r, 320)); // let the slow promise settle before the sanitizer looks
});
