// LambdaExecutor with a scripted client: LambdaConfig({ concurrency }) bounds
// the invocations in flight, and the code check runs once per executor.
import assert from "node:assert/strict";
import { join } from "node:path";
import { toWireJson } from "../../../executors/_wire.ts";
import { codeSha256, LambdaExecutor, type LambdaSender } from "../../../executors/lambda/executor.ts";
import { artifactPath } from "../../../src/codegen/naming.ts";
import { scale } from "./fixtures/lambda_pipeline.ts";

Deno.test("LambdaExecutor keeps at most LambdaConfig({ concurrency }) invocations in flight", async () => {
  const cwd = await Deno.makeTempDir();
  const zip = new Uint8Array([1, 2, 3]);
  const path = join(cwd, artifactPath("lambda_fixture", scale.resource.name));
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeFile(path, zip);
  const sha = await codeSha256(zip);
  let inFlight = 0;
  let most = 0;
  let getFunction = 0;
  const release: (() => void)[] = [];
  const client: LambdaSender = {
    async send(command) {
      const name = command.constructor.name;
      if (name === "GetFunctionCommand") {
        getFunction++;
        return { Configuration: { CodeSha256: sha } };
      }
      assert.equal(name, "InvokeCommand");
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      return { StatusCode: 200, Payload: new TextEncoder().encode(toWireJson(42)) };
    },
    destroy() {},
  };
  const executor = new LambdaExecutor({
    pipeline: "lambda_fixture",
    runId: "r",
    resource: scale.resource, // LambdaConfig({ concurrency: 2 })
    provider: scale.resource.providerConfig,
    syncCode: false,
    client,
    cwd,
  });
  const calls = Array.from({ length: 6 }, (_, i) =>
    executor.execute({
      pipeline: "lambda_fixture",
      runId: "r",
      nodeId: `scale#${i + 1}`,
      task: scale,
      args: [null, false, ""],
      attempt: 1,
      signal: new AbortController().signal,
    }));
  let done = 0;
  while (done < 6) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const next = release.shift();
    if (next) (next(), done++);
  }
  assert.deepEqual(await Promise.all(calls), [42, 42, 42, 42, 42, 42]);
  assert.equal(most, 2);
  assert.equal(getFunction, 1, "the deployed code is checked once per run");
  await executor.close();
});
