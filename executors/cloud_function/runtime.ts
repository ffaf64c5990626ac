/**
 * The Deno side of a Cloud Run function: an HTTP server on a loopback port
 * that the artifact's Node.js shim (`index.js`, the function's entry point)
 * starts once per instance and forwards every request body to. Each body is
 * a Glacier task payload, run with `runPayload`; the answer is the wire-JSON
 * result, or the task's error with the `x-glacier-function-error` header.
 * It prints `glacier-runtime-port <port>` once it listens.
 *
 * @module
 */
import { payloadRunner } from "../_function_runtime.ts";

if (import.meta.main) {
  const run = await payloadRunner({ echo: true });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(Deno.env.get("GLACIER_RUNTIME_PORT") ?? 0),
    onListen: ({ port }) => console.log(`glacier-runtime-port ${port}`),
  }, async (request) => {
    const answer = await run(await request.text());
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  });
  await server.finished;
}
