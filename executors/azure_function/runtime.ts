/**
 * The Deno side of an Azure function app: a custom handler, the web server
 * the Functions host starts (`host.json` `customHandler`) and reaches on
 * `FUNCTIONS_CUSTOMHANDLER_PORT`. The host POSTs `/<function>` with the JSON
 * request envelope `{ Data: { req: { Url, Method, Query, Headers, Params,
 * Identities, Body } }, Metadata }` and reads `{ Outputs: { res: { statusCode,
 * headers, body } }, Logs, ReturnValue }` back; the request body is a Glacier
 * task payload, run with `runPayload`.
 *
 * @module
 */
import { payloadRunner } from "../_function_runtime.ts";
import { AZURE_FUNCTION_NAME } from "./artifact.ts";

/** The host's request envelope for an HTTP trigger named `req`. */
export interface HostRequest {
  readonly Data: { readonly req: { readonly Body?: unknown; readonly Method?: string } };
  readonly Metadata?: Record<string, unknown>;
}

if (import.meta.main) {
  const port = Number(Deno.env.get("FUNCTIONS_CUSTOMHANDLER_PORT"));
  if (!port) {
    console.error(
      "glacier runtime: FUNCTIONS_CUSTOMHANDLER_PORT is not set; the Functions host starts this handler",
    );
    Deno.exit(2);
  }
  const run = await payloadRunner({ echo: false });
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
    if (new URL(request.url).pathname !== `/${AZURE_FUNCTION_NAME}`) {
      return new Response("no such function", { status: 404 });
    }
    const envelope = await request.json() as HostRequest;
    const body = envelope.Data?.req?.Body;
    const answer = await run(typeof body === "string" ? body : JSON.stringify(body ?? null));
    return Response.json({
      Outputs: { res: { statusCode: answer.status, headers: answer.headers, body: answer.body } },
      Logs: answer.logs.map(([, text]) => text.replace(/\n$/, "")),
      ReturnValue: null,
    });
  });
  await server.finished;
}
