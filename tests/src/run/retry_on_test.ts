import assert from "node:assert/strict";
import { GlacierError, Provider, TaskError } from "../../../mod.ts";
import * as fx from "../../fixtures/retry_tasks.ts";

const MODES = [
  { label: "in-process", options: { workers: 0, quiet: true } },
  { label: "pool", options: { workers: 1, quiet: true } },
] as const;

async function causeOf(kind: string, options: { workers: number; quiet: true }): Promise<Error> {
  let caught: unknown;
  await fx.kindPipeline.run({ ...options, params: { kind } }).catch((error) => caught = error);
  assert.ok(caught instanceof TaskError, `the ${kind} error did not fail the run with a TaskError`);
  assert.ok(caught.cause instanceof Error);
  return caught.cause;
}

Deno.test("a task's error keeps its class and code on the pool as with workers: 0", async () => {
  for (const kind of ["glacier", "type", "range", "deno"]) {
    const [inProcess, pooled] = [
      await causeOf(kind, MODES[0].options),
      await causeOf(kind, MODES[1].options),
    ];
    assert.equal(pooled.constructor, inProcess.constructor, `the ${kind} error's class`);
    assert.equal(pooled.name, inProcess.name);
    assert.equal(pooled.message, inProcess.message, `the ${kind} error's message`);
    assert.equal((pooled as { code?: string }).code, (inProcess as { code?: string }).code);
  }
  const cause = await causeOf("glacier", MODES[1].options);
  assert.ok(cause instanceof GlacierError);
  assert.equal(cause.code, "USER:OBJECT_NOT_FOUND");
  assert.ok((await causeOf("type", MODES[1].options)) instanceof TypeError);
  assert.ok((await causeOf("range", MODES[1].options)) instanceof RangeError);
  assert.ok((await causeOf("deno", MODES[1].options)) instanceof Deno.errors.NotFound);
});

for (const { label, options } of MODES) {
  Deno.test(`${label}: a user error is attempted once despite retries: 3`, async () => {
    const dir = await Deno.makeTempDir();
    const run = fx.retryPipelines.userError;
    await assert.rejects(() => run.run({ ...options, params: { dir } }), (e: Error) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.code, "USER:OBJECT_NOT_FOUND");
      assert.equal(e.attempt, 1);
      assert.equal(e.retryable, false);
      return true;
    });
    assert.equal(await Deno.readTextFile(`${dir}/attempts`), "1");
    assert.equal(run.lastRun!.tasks[0].attempts, 1);
  });

  for (const name of ["userErrorAny", "userErrorListed", "userErrorPredicate"]) {
    Deno.test(`${label}: a user error is retried when the task's retryOn asks (${name})`, async () => {
      const dir = await Deno.makeTempDir();
      const run = fx.retryPipelines[name];
      assert.equal(await run.run({ ...options, params: { dir } }), "landed");
      assert.equal(await Deno.readTextFile(`${dir}/attempts`), "3");
      assert.equal(run.lastRun!.tasks[0].attempts, 3);
    });
  }

  Deno.test(`${label}: an error that is not a user error is still retried`, async () => {
    const dir = await Deno.makeTempDir();
    const run = fx.retryPipelines.plainError;
    assert.equal(await run.run({ ...options, params: { dir } }), "recovered");
    assert.equal(run.lastRun!.tasks[0].attempts, 3);
  });
}

Deno.test('retryOn that is not "any", a list of codes or a function is refused naming the task and value', () => {
  const local = new Provider().local();
  assert.throws(
    // @ts-expect-error: a wrong value on purpose
    () => local.task({ retryOn: "always" }, function load() {}),
    (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^Task "load": "retryOn" is "always"; give "any", a list of error codes/);
      return true;
    },
  );
  assert.throws(
    () => local.task({ retryOn: ["OBJECT_NOT_FOUND"] }, function load() {}),
    (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        /"retryOn" lists "OBJECT_NOT_FOUND", which is not an error code.*"USER:OBJECT_NOT_FOUND"/,
      );
      return true;
    },
  );
});
