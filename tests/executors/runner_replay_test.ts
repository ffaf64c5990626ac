// deno-lint-ignore-file no-explicit-any -- the ASL is navigated by path
// Runs the payloads a generated Step Functions state machine sends, step by
// step in topological order, through runPayload (and one through the
// `runner.ts --payload` command line) with s3rver as staging and data lake,
// and checks the outputs equal a local run of the same pipeline; and the
// payloads a generated Airflow DAG's task instances send, rendered as Airflow
// renders them (tests/support/airflow_render.ts).
import assert from "node:assert/strict";
import type { Table } from "apache-arrow";
import { runPayload } from "../../executors/runner.ts";
import { decodeValue, ensureArrow } from "../../src/data/payload.ts";
import { GlacierError } from "../../src/errors.ts";
import { S3RVER_CREDENTIALS, s3rverStore, startS3rver, useS3rverEnv } from "../support/s3rver.ts";
import { runAirflowDag } from "../support/airflow_render.ts";
import { fromWireJson, toWireJson } from "../../executors/_wire.ts";
import { inbox, out, raw, replayEtl } from "../fixtures/replay_pipeline.ts";

await ensureArrow(); // encodeValue()/decodeValue() of tables need apache-arrow loaded first

const ROOT = new URL("../../", import.meta.url);
const RUNNER = new URL("../../executors/runner.ts", import.meta.url).pathname;
const PARAMS = { minScore: 2 };

// Every state of a machine, nested ones included.
function allStates(machine: any, out: any[] = []): any[] {
  for (const state of Object.values<any>(machine.States)) {
    out.push(state);
    for (const branch of state.Branches ?? []) allStates(branch, out);
    if (state.ItemProcessor) allStates(state.ItemProcessor, out);
  }
  return out;
}

// Fills a payload template as Step Functions would for one execution (and item).
function fill(template: Record<string, any>, runId: string, item?: { value: unknown; index: number }): any {
  const payload: Record<string, any> = {};
  for (const [key, value] of Object.entries(template)) {
    if (!key.endsWith(".$")) {
      payload[key] = value;
      continue;
    }
    const name = key.slice(0, -2);
    const format = /^States\.Format\('(.*)', (.*)\)$/.exec(value);
    if (format) {
      payload[name] = format[1].replace("{}", format[2] === "$.item.index" ? String(item!.index) : runId);
    } else if (value === "$.params") payload[name] = PARAMS;
    else if (value === "$.item") payload[name] = item;
    else if (value === "$.runId" || value === "$$.Execution.Name") payload[name] = runId;
    else if (value === "$.staging") payload[name] = `s3://replay-staging/g/runs/${runId}/`;
    else if (value.startsWith("States.MathAdd")) payload[name] = 1;
    else throw new Error(`unexpected template ${key}: ${value}`);
  }
  return payload;
}

const rows = (t: Table) => t.toArray().map((r) => ({ name: String(r.name), score: Number(r.score) }));

Deno.test("runner replays a generated Step Functions run: literal buckets, params and a dynamic fan-out give the local run's outputs", async () => {
  const s3 = await startS3rver({ buckets: ["replay-staging", "replay-lake"] });
  const store = s3rverStore(s3.endpoint);
  // The fixture's buckets come from a mod.ts Provider: Glacier's own S3 store, pointed at s3rver.
  const restoreEnv = useS3rverEnv(s3.endpoint);
  try {
    await raw.put("name,score\na,1\nb,2\nc,3\nd,4\n");
    for (let i = 1; i <= 3; i++) await inbox.at(`inbox/part-${i}.txt`).put("x".repeat(i * 10));

    const expected = await replayEtl.run({ workers: 0, quiet: true, params: PARAMS });
    const expectedFile = await out.read();
    await out.delete();

    const { files } = await replayEtl.deploy({ orchestrator: "step_functions" });
    const asl = JSON.parse(files["state_machine.asl.json"]);
    const templates = new Map<string, any>();
    for (const state of allStates(asl)) {
      const payload = state.Parameters?.Payload;
      if (payload?.nodeId) templates.set(payload.nodeId, payload);
    }
    const dag = await replayEtl.trace(PARAMS);
    const order = dag.topologicalSort().map((n) => n.id);
    assert.deepEqual([...templates.keys()].sort(), [...order].sort());

    const runId = "exec-1";
    const resolveModule = (m: string) => new URL(m, ROOT).href;
    const results = new Map<string, unknown>();
    for (const id of order) {
      const template = templates.get(id)!;
      if ("item.$" in template) {
        const source = dag.get(id)!.inputs[0].id;
        const items = results.get(source) as unknown[];
        assert.equal(items.length, 3);
        for (const [index, value] of items.entries()) {
          await runPayload(fill(template, runId, { value, index }), { resolveModule });
        }
      } else if (id === "combine") {
        // The gathering step through the command line, as Airflow/Databricks run it.
        const payload = JSON.stringify(fill(template, runId));
        const done = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", RUNNER, "--payload", payload],
          cwd: ROOT.pathname,
          env: {
            AWS_ENDPOINT_URL_S3: s3.endpoint,
            AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
            AWS_REGION: "us-east-1",
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(done.stderr);
        assert.equal(done.code, 0, stderr);
        const lines = new TextDecoder().decode(done.stdout).trim().split("\n");
        results.set(id, fromWireJson(lines[lines.length - 1]));
      } else {
        results.set(id, await runPayload(fill(template, runId), { resolveModule }));
      }
    }

    assert.equal(results.get("save"), expected.saved);
    assert.equal(results.get("combine"), expected.total);
    assert.equal(expected.total, 60);
    const staged = await store.get("replay-staging", `g/runs/${runId}/clean.out`);
    const cleaned = decodeValue(
      fromWireJson(new TextDecoder().decode(staged)),
      raw.location.storage,
    ) as Table;
    assert.deepEqual(rows(cleaned), rows(expected.cleaned as unknown as Table));
    assert.deepEqual(rows(cleaned).map((r) => r.name), ["b", "c", "d"]);
    assert.deepEqual(await out.read(), expectedFile);

    // A step whose upstream never ran names the staged object it needed.
    const missing = fill(templates.get("clean"), "exec-2");
    await assert.rejects(
      () => runPayload(missing, { resolveModule }),
      (error: unknown) => {
        assert.ok(error instanceof GlacierError);
        assert.equal(error.code, "SYSTEM:STAGING_READ");
        assert.match(error.message, /s3:\/\/replay-staging\/g\/runs\/exec-2\/extract\.out/);
        assert.match(error.message, /run "extract" first/);
        return true;
      },
    );
  } finally {
    restoreEnv();
    store.close();
    await s3.stop();
  }
});

Deno.test("runner replays a generated Airflow run: each mapped task instance sends its own try number and map index, and the runner reads its item at that index from the list's staged output", async () => {
  const s3 = await startS3rver({ buckets: ["replay-staging", "replay-lake"] });
  const store = s3rverStore(s3.endpoint);
  const restoreEnv = useS3rverEnv(s3.endpoint);
  try {
    await raw.put("name,score\na,1\nb,2\nc,3\nd,4\n");
    for (let i = 1; i <= 3; i++) await inbox.at(`inbox/part-${i}.txt`).put("x".repeat(i * 10));
    const expected = await replayEtl.run({ workers: 0, quiet: true, params: PARAMS });
    await out.delete();

    const source = Object.values((await replayEtl.deploy({ orchestrator: "airflow" })).files)[0];
    const run = { runId: "manual__af", conf: PARAMS, itemsTry: 1 };
    const resolveModule = (m: string) => new URL(m, ROOT).href;
    // Every task runs on this machine: a BashOperator whose command ends with the payload.
    const unmapped = await runAirflowDag(source, { ...run, taskTry: 1 });
    const payloads = new Map(unmapped.plain.map((t) => [t.task, JSON.parse(t.payloadText)]));
    assert.deepEqual([...payloads.keys()].sort(), ["clean", "combine", "extract", "listFiles", "save"]);
    const results = new Map<string, unknown>();
    for (const id of ["extract", "clean", "save", "listFiles"]) {
      results.set(id, await runPayload(payloads.get(id), { resolveModule }));
    }
    const keys = results.get("listFiles") as string[];
    assert.equal(keys.length, 3);

    // The mapped instances, on their second try (the list's @task on its first): BashOperator pushed the
    // runner's last stdout line, the list's JSON text, to XCom.
    const { mapped } = await runAirflowDag(source, { ...run, taskTry: 2, listings: [toWireJson(keys)] });
    assert.deepEqual(mapped.map((c) => `${c.task}[${c.index}]`), [
      "processFile[0]",
      "processFile[1]",
      "processFile[2]",
    ]);
    for (const c of mapped) {
      const payload = JSON.parse(c.payloadText);
      assert.equal(payload.attempt, 2, "the mapped task instance's own try number");
      assert.deepEqual(payload.item, { index: c.index });
      assert.equal(payload.output, `processfile/${c.index}.out`);
      const size = await runPayload(payload, { resolveModule });
      assert.equal(size, (await inbox.at(keys[c.index]).read()).byteLength, `processFile[${c.index}]`);
    }
    assert.equal(await runPayload(payloads.get("combine"), { resolveModule }), expected.total);
    assert.equal(expected.total, 60);

    // A map index past the staged list (the list changed after Airflow mapped the call) is refused.
    const stale = { ...JSON.parse(mapped[0].payloadText), item: { index: 3 } };
    await assert.rejects(
      () => runPayload(stale, { resolveModule }),
      (error: unknown) => {
        assert.ok(error instanceof GlacierError);
        assert.equal(error.code, "SYSTEM:REPLAY_ITEM_INDEX");
        assert.match(error.message, /has no item 3 in the output of "listFiles"/);
        assert.match(error.message, /s3:\/\/replay-staging\/g\/runs\/manual__af\/listfiles\.out/);
        assert.match(error.message, /a list of 3/);
        return true;
      },
    );
  } finally {
    restoreEnv();
    store.close();
    await s3.stop();
  }
});

Deno.test("The Lambda runtime runs a Step Functions Payload event by replay and stages its output", async () => {
  const s3 = await startS3rver({ buckets: ["replay-staging", "replay-lake"] });
  const env = {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  };
  const store = s3rverStore(s3.endpoint);
  await store.put("replay-lake", "raw/scores.csv", new TextEncoder().encode("name,score\na,1\nb,2\n"));
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/glacier.json`,
    JSON.stringify({
      version: 1,
      pipeline: "replay_etl",
      root: "file:///elsewhere/project/",
      runtime: "executors/lambda/runtime.ts",
      modules: ["tests/fixtures/replay_pipeline.ts"],
    }),
  );
  const { files } = await replayEtl.deploy({ orchestrator: "step_functions" });
  const template = allStates(JSON.parse(files["state_machine.asl.json"]))
    .find((s) => s.Parameters?.Payload?.nodeId === "extract").Parameters.Payload;
  const queue = [{ id: "sfn-1", body: JSON.stringify(fill(template, "exec-l")) }];
  const posts: { path: string; body: string }[] = [];
  const finished = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/2018-06-01/runtime/invocation/next") {
      const next = queue.shift();
      if (!next) {
        finished.resolve();
        return new Response("gone", { status: 500 });
      }
      return new Response(next.body, { headers: { "Lambda-Runtime-Aws-Request-Id": next.id } });
    }
    posts.push({ path, body: await request.text() });
    return new Response(JSON.stringify({ status: "OK" }), { status: 202 });
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../executors/lambda/runtime.ts", import.meta.url).pathname],
    cwd: ROOT.pathname,
    env: {
      ...env,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.addr.port}`,
      GLACIER_MANIFEST: `${dir}/glacier.json`,
      GLACIER_APP_ROOT: ROOT.pathname,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await finished.promise;
    assert.deepEqual(
      posts.map((p) => p.path),
      ["/2018-06-01/runtime/invocation/sfn-1/response"],
      posts[0]?.body,
    );
    const inline = decodeValue(fromWireJson(posts[0].body), raw.location.storage) as Table;
    assert.deepEqual(rows(inline), [{ name: "a", score: 1 }, { name: "b", score: 2 }]);
    const staged = await store.get("replay-staging", "g/runs/exec-l/extract.out");
    assert.deepEqual(
      rows(decodeValue(fromWireJson(new TextDecoder().decode(staged)), raw.location.storage) as Table),
      rows(inline),
    );
  } finally {
    try {
      child.kill();
    } catch { /* it already exited on the "gone" answer */ }
    await child.status;
    await child.stderr.cancel();
    await server.shutdown();
    store.close();
    await s3.stop();
  }
});
