// The Lambda emulator speaks the service API the SDK uses and runs a
// function's real bootstrap: here a tiny echo runtime, not Glacier's.
import assert from "node:assert/strict";
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
} from "@aws-sdk/client-lambda";
import { zipSync } from "fflate";
import { startLambdaEmulator } from "../../support/lambda_emulator.ts";

const ECHO = `
const api = "http://" + Deno.env.get("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/";
for (;;) {
  const next = await fetch(api + "next");
  const id = next.headers.get("Lambda-Runtime-Aws-Request-Id");
  const body = new Uint8Array(await next.arrayBuffer());
  const text = new TextDecoder().decode(body.subarray(0, 200));
  console.log("handling " + id);
  let reply = body;
  if (text.startsWith('{"exit"')) Deno.exit(3);
  if (text.startsWith('{"fail"')) {
    await fetch(api + id + "/error", {
      method: "POST",
      headers: { "Lambda-Runtime-Function-Error-Type": "Oops" },
      body: JSON.stringify({ errorType: "Oops", errorMessage: "told to fail", stackTrace: ["at here"] }),
    });
    continue;
  }
  if (text.startsWith('{"big"')) reply = new Uint8Array(7 * 1024 * 1024);
  if (text.startsWith('{"barrier"')) {
    const { barrier, n } = JSON.parse(text);
    await Deno.writeTextFile(barrier + "/" + Deno.pid, "");
    while ([...Deno.readDirSync(barrier)].length < n) await new Promise((r) => setTimeout(r, 10));
    reply = new TextEncoder().encode(String(Deno.pid));
  }
  await (await fetch(api + id + "/response", { method: "POST", body: reply })).body?.cancel();
}
`;

function echoZip(variant = ""): Uint8Array {
  const bootstrap = `#!/bin/sh\n# ${variant}\nexec "${Deno.execPath()}" run -A "$LAMBDA_TASK_ROOT/echo.ts"\n`;
  const encoder = new TextEncoder();
  return zipSync({
    bootstrap: [encoder.encode(bootstrap), { os: 3, attrs: (0o100755 << 16) >>> 0 }],
    "echo.ts": encoder.encode(ECHO),
  });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return (digest as Uint8Array & { toBase64(): string }).toBase64();
}

const decoder = new TextDecoder();

Deno.test({
  name: "The Lambda emulator serves the Lambda API and runs the function's bootstrap",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const emulator = await startLambdaEmulator({ maxConcurrency: 3 });
    const client = new LambdaClient({
      endpoint: emulator.endpoint,
      region: "us-east-1",
      maxAttempts: 1,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const zip = echoZip();
    const invoke = (payload: Uint8Array | string) =>
      client.send(
        new InvokeCommand({
          FunctionName: "echo",
          LogType: "Tail",
          Payload: typeof payload === "string" ? new TextEncoder().encode(payload) : payload,
        }),
      );
    try {
      await t.step("CreateFunction and GetFunction report the zip's CodeSha256", async () => {
        await client.send(
          new CreateFunctionCommand({
            FunctionName: "echo",
            Runtime: "provided.al2023",
            Role: "arn:aws:iam::000000000000:role/test",
            Handler: "bootstrap",
            Code: { ZipFile: zip },
            Timeout: 30,
          }),
        );
        const got = await client.send(new GetFunctionCommand({ FunctionName: "echo" }));
        assert.equal(got.Configuration?.CodeSha256, await sha256(zip));
      });

      await t.step(
        "Invoke hands the bootstrap the exact bytes and returns its reply with a log tail",
        async () => {
          const payload = JSON.stringify({ text: "héllo", n: [1, 2, 3] });
          const response = await invoke(payload);
          assert.equal(decoder.decode(response.Payload), payload);
          assert.equal(response.FunctionError, undefined);
          const log = decoder.decode(Uint8Array.from(atob(response.LogResult!), (c) => c.charCodeAt(0)));
          const id = /START RequestId: (\S+)/.exec(log)?.[1];
          assert.ok(id, log);
          assert.ok(log.includes(`END RequestId: ${id}\nREPORT RequestId: ${id}\tDuration: `), log);
        },
      );

      await t.step(
        "A function error comes back with X-Amz-Function-Error and the runtime's error body",
        async () => {
          const response = await invoke('{"fail":true}');
          assert.equal(response.FunctionError, "Unhandled");
          assert.deepEqual(JSON.parse(decoder.decode(response.Payload)), {
            errorType: "Oops",
            errorMessage: "told to fail",
            stackTrace: ["at here"],
          });
        },
      );

      await t.step("A runtime that exits mid-invoke is a Runtime.ExitError", async () => {
        const response = await invoke('{"exit":1}');
        assert.equal(response.FunctionError, "Unhandled");
        assert.equal(JSON.parse(decoder.decode(response.Payload)).errorType, "Runtime.ExitError");
      });

      await t.step("Payloads over 6 MB are refused both ways", async () => {
        await assert.rejects(
          () => invoke(new Uint8Array(6 * 1024 * 1024 + 1)),
          (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
            e.name === "RequestEntityTooLargeException" && e.$metadata?.httpStatusCode === 413,
        );
        const response = await invoke('{"big":true}');
        assert.equal(JSON.parse(decoder.decode(response.Payload)).errorType, "Function.ResponseSizeTooLarge");
      });

      await t.step(
        "Unknown functions are ResourceNotFoundException; injected throttles are 429",
        async () => {
          await assert.rejects(
            () => client.send(new InvokeCommand({ FunctionName: "nope" })),
            (e: Error) => e.name === "ResourceNotFoundException",
          );
          emulator.throttle("echo", 1);
          await assert.rejects(
            () => invoke("{}"),
            (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
              e.name === "TooManyRequestsException" && e.$metadata?.httpStatusCode === 429,
          );
          assert.equal(decoder.decode((await invoke("{}")).Payload), "{}");
        },
      );

      await t.step("Concurrent invocations run in separate sandboxes at once", async () => {
        const barrier = await Deno.makeTempDir();
        const body = JSON.stringify({ barrier, n: 3 });
        const pids = await Promise.all([1, 2, 3].map(() => invoke(body)));
        assert.equal(new Set(pids.map((r) => decoder.decode(r.Payload))).size, 3);
      });

      await t.step("UpdateFunctionCode changes CodeSha256 and the code that runs", async () => {
        const next = echoZip("v2");
        const updated = await client.send(
          new UpdateFunctionCodeCommand({ FunctionName: "echo", ZipFile: next }),
        );
        assert.equal(updated.CodeSha256, await sha256(next));
        assert.equal(decoder.decode((await invoke('{"again":1}')).Payload), '{"again":1}');
      });
    } finally {
      client.destroy();
      await emulator.stop();
    }
  },
});
