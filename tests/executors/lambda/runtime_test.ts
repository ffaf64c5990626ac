// The Lambda runtime (executors/lambda/runtime.ts) against a scripted
// Runtime API, run from the source tree: the payload round trip through
// runner.ts, error posts, and module mapping into the artifact.
import assert from "node:assert/strict";
import { tableFromArrays, tableFromIPC } from "apache-arrow";
import { fromWireJson, toWireJson } from "../../../executors/_wire.ts";
import { type ArtifactManifest, resolveArtifactModule } from "../../../executors/lambda/runtime.ts";
import { runPayload } from "../../../executors/runner.ts";
import { PAYLOAD_VERSION, type TaskPayload } from "../../../executors/payload.ts";
import { encodeValue, ensureArrow } from "../../../src/data/payload.ts";
import type { GlacierError } from "../../../src/errors.ts";

await ensureArrow(); // encodeValue()/decodeValue() of tables need apache-arrow loaded first

const ROOT = new URL("../../../", import.meta.url);
const FIXTURE = new URL("./fixtures/lambda_pipeline.ts", import.meta.url).href;
const RUNTIME = new URL("../../../executors/lambda/runtime.ts", import.meta.url).pathname;

function payload(args: unknown[], extra: Partial<TaskPayload> = {}): TaskPayload {
  return {
    version: PAYLOAD_VERSION,
    pipeline: "lambda_fixture",
    runId: "r1",
    nodeId: "scale",
    task: "scale",
    module: FIXTURE,
    attempt: 1,
    args: encodeValue(args, "ipc").value,
    ...extra,
  };
}

Deno.test("The wire format round-trips the payload codec's values through JSON", () => {
  const value = {
    bytes: new Uint8Array([1, 2, 255]),
    floats: new Float64Array([1.5, -2]),
    missing: undefined,
    when: new Date(0),
    map: new Map([["a", 1n]]),
    set: new Set([NaN, -0, Infinity]),
    nested: [{ $arrow: new Uint8Array([9]) }],
  };
  const back = fromWireJson(toWireJson(value)) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(back.floats instanceof Float64Array);
  assert.ok("missing" in back);
});

Deno.test("runPayload() runs a task from its payload and returns its table as Arrow IPC", async () => {
  const table = tableFromArrays({ x: Float64Array.from([1, 2, 3]) });
  const result = await runPayload(payload([table, false, ""])) as { $arrow: Uint8Array };
  assert.deepEqual([...tableFromIPC(result.$arrow).getChild("x")!.toArray()], [2, 4, 6]);
});

Deno.test("runPayload() refuses a payload of another version and a task that is not there", async () => {
  await assert.rejects(
    () => runPayload({ ...payload([]), version: 1 }),
    (e: GlacierError) => e.code === "SYSTEM:PAYLOAD_VERSION",
  );
  await assert.rejects(
    () => runPayload(payload([], { task: "nope" })),
    (e: GlacierError) => e.code === "USER:TASK_NOT_FOUND" && e.message.includes('"nope"'),
  );
});

Deno.test("resolveArtifactModule() maps a module to the artifact's copy, by build root or path suffix", () => {
  const manifest: ArtifactManifest = {
    version: 1,
    pipeline: "p",
    root: "file:///home/ci/project/",
    runtime: "executors/lambda/runtime.ts",
    modules: ["examples/etl.ts", "src/etl.ts"],
  };
  const app = "file:///var/task/app/";
  assert.equal(
    resolveArtifactModule("file:///home/ci/project/src/etl.ts", manifest, app),
    `${app}src/etl.ts`,
  );
  assert.equal(
    resolveArtifactModule("file:///Users/me/project/src/etl.ts", manifest, app),
    `${app}src/etl.ts`,
  );
  // Generated orchestrators send project-relative paths.
  assert.equal(resolveArtifactModule("examples/etl.ts", manifest, app), `${app}examples/etl.ts`);
  assert.throws(
    () => resolveArtifactModule("file:///x/other.ts", manifest, app),
    (e: GlacierError) => e.code === "USER:MODULE_NOT_IN_ARTIFACT" && /glacier build/.test(e.message),
  );
});

Deno.test("The runtime serves invocations from the Runtime API: a result, then an error with its stack", async () => {
  const dir = await Deno.makeTempDir();
  const manifest: ArtifactManifest = {
    version: 1,
    pipeline: "lambda_fixture",
    root: "file:///elsewhere/project/",
    runtime: "executors/lambda/runtime.ts",
    modules: ["tests/executors/lambda/fixtures/lambda_pipeline.ts"],
  };
  await Deno.writeTextFile(`${dir}/glacier.json`, JSON.stringify(manifest));
  const table = tableFromArrays({ x: Float64Array.from([5]) });
  // The module as the scheduler's machine saw it: another root, mapped by suffix.
  const module = "file:///elsewhere/project/tests/executors/lambda/fixtures/lambda_pipeline.ts";
  const queue = [
    { id: "ok-1", body: toWireJson(payload([table, false, ""], { module })) },
    { id: "err-2", body: toWireJson(payload([table, true, ""], { module })) },
  ];
  const posts: { path: string; type: string | null; body: string }[] = [];
  const finished = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/2018-06-01/runtime/invocation/next") {
      const next = queue.shift();
      if (!next) {
        finished.resolve();
        return new Response("gone", { status: 500 });
      }
      return new Response(next.body, {
        headers: {
          "Lambda-Runtime-Aws-Request-Id": next.id,
          "Lambda-Runtime-Deadline-Ms": `${Date.now() + 60_000}`,
        },
      });
    }
    posts.push({
      path,
      type: request.headers.get("Lambda-Runtime-Function-Error-Type"),
      body: await request.text(),
    });
    return new Response(JSON.stringify({ status: "OK" }), { status: 202 });
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUNTIME],
    cwd: ROOT.pathname,
    env: {
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.addr.port}`,
      GLACIER_MANIFEST: `${dir}/glacier.json`,
      GLACIER_APP_ROOT: ROOT.pathname,
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await finished.promise;
    assert.deepEqual(posts.map((p) => p.path), [
      "/2018-06-01/runtime/invocation/ok-1/response",
      "/2018-06-01/runtime/invocation/err-2/error",
    ]);
    const result = fromWireJson(posts[0].body) as { $arrow: Uint8Array };
    assert.equal(tableFromIPC(result.$arrow).getChild("x")!.get(0), 10);
    const error = JSON.parse(posts[1].body);
    assert.equal(posts[1].type, "RangeError");
    assert.equal(error.errorType, "RangeError");
    assert.equal(error.errorMessage, "scale was told to fail on 1 rows");
    assert.ok(
      Array.isArray(error.stackTrace) && error.stackTrace.some((l: string) => l.includes("at scale")),
    );
  } finally {
    try {
      child.kill();
    } catch { /* it already exited on the "gone" answer */ }
    await child.status;
    await server.shutdown();
  }
});
