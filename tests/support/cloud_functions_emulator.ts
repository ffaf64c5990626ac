#!/usr/bin/env -S deno run -A
/**
 * A local Cloud Run functions (Cloud Functions 2nd gen) service for tests and
 * demos: an HTTP server on 127.0.0.1 that serves each deployed function at
 * `/<name>` as Cloud Run's front does — it requires `Authorization: Bearer
 * <identity token>` (401 without, 403 for another token), refuses bodies over
 * 32 MiB (413), answers 429 or 503 when a test injects throttling or a
 * service error, and gives up after the function's timeout (504) — and runs
 * the deployed source as the `nodejs` runtime does: the zip unpacked, then
 * `node` with the Functions Framework's HTTP signature
 * (`_functions_framework.cjs`) loading the package's `main` and its export
 * `FUNCTION_TARGET` on `PORT`, one instance started on the first request
 * (the cold start) and kept warm.
 *
 * ```sh
 * deno run -A tests/support/cloud_functions_emulator.ts --port 9002 --functions-dir /tmp/gcf
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  type Faults,
  freePort,
  type Instance,
  startInstance,
  stopInstance,
  unpackZip,
} from "./_function_host.ts";

/** Cloud Run's HTTP/1 request cap. */
const REQUEST_CAP = 32 * 1024 * 1024;
const FRAMEWORK = fileURLToPath(new URL("./_functions_framework.cjs", import.meta.url));

/** How a function is deployed. */
export interface CloudFunctionDeployment {
  /** The entry point (the export). @default {"glacier"} */
  entryPoint?: string;
  /** Its environment (what the service account and Terraform give it). @default {{}} */
  env?: Record<string, string>;
  /** The timeout in seconds. @default {300} */
  timeoutSeconds?: number;
}

/** A running emulator. */
export interface CloudFunctionsEmulator {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The URL template for `GLACIER_CLOUD_FUNCTIONS_URL`. */
  readonly urlTemplate: string;
  /** The identity token it accepts. */
  readonly token: string;
  /** Invocations that reached an instance, per function. */
  readonly invocations: Map<string, number>;
  /** Cold starts, per function. */
  readonly coldStarts: Map<string, number>;
  /** Deploys a built zip as a function (and replaces a running instance). */
  deploy(name: string, zipPath: string, deployment?: CloudFunctionDeployment): Promise<void>;
  /** Answers the next `count` invocations of a function with 429. */
  throttle(name: string, count: number): void;
  /** Answers the next `count` invocations of a function with 503. */
  failService(name: string, count: number): void;
  /** Stops the server and every instance. */
  stop(): Promise<void>;
}

interface Deployed {
  dir: string;
  deployment: CloudFunctionDeployment;
  faults: Faults;
  instance?: Promise<Instance>;
}

/**
 * Starts the emulator.
 *
 * @param options The port, the folder functions are kept in, and the token it accepts.
 * @returns The running emulator.
 */
export async function startCloudFunctionsEmulator(
  options: { port?: number; functionsDir?: string; token?: string } = {},
): Promise<CloudFunctionsEmulator> {
  const root = options.functionsDir ?? await Deno.makeTempDir({ prefix: "glacier-gcf-" });
  const ownsDir = options.functionsDir === undefined;
  const token = options.token ?? `gcf-test-${crypto.randomUUID()}`;
  const functions = new Map<string, Deployed>();
  const invocations = new Map<string, number>();
  const coldStarts = new Map<string, number>();
  // Functions deployed by an earlier emulator on the same folder come back.
  for await (const entry of Deno.readDir(root)) {
    try {
      const deployment = JSON.parse(await Deno.readTextFile(join(root, entry.name, "deployment.json")));
      functions.set(entry.name, { dir: join(root, entry.name, "source"), deployment, faults: fresh() });
    } catch { /* not a function */ }
  }

  function instanceOf(name: string, fn: Deployed): Promise<Instance> {
    if (!fn.instance) {
      coldStarts.set(name, (coldStarts.get(name) ?? 0) + 1);
      const port = freePort();
      fn.instance = startInstance("node", [FRAMEWORK], fn.dir, {
        ...fn.deployment.env,
        PORT: String(port),
        FUNCTION_TARGET: fn.deployment.entryPoint ?? "glacier",
        K_SERVICE: name,
        K_REVISION: `${name}-00001`,
        FUNCTION_SIGNATURE_TYPE: "http",
      }, port);
      fn.instance.then(
        (i) => i.process.status.then(() => fn.instance = undefined),
        () => fn.instance = undefined,
      );
    }
    return fn.instance;
  }

  async function invoke(name: string, fn: Deployed, request: Request): Promise<Response> {
    const auth = request.headers.get("authorization");
    if (!auth?.startsWith("Bearer ")) {
      return text(401, "Your client does not have permission to the requested URL");
    }
    if (auth !== `Bearer ${token}`) return text(403, "Your client does not have permission to get URL");
    const length = Number(request.headers.get("content-length") ?? 0);
    const body = new Uint8Array(await request.arrayBuffer());
    if (Math.max(length, body.byteLength) > REQUEST_CAP) return text(413, "Request Entity Too Large");
    if (fn.faults.throttle > 0) {
      fn.faults.throttle--;
      return text(429, "Rate exceeded. The request was aborted because there was no available instance.");
    }
    if (fn.faults.serverError > 0) {
      fn.faults.serverError--;
      return text(503, "Service Unavailable");
    }
    let instance: Instance;
    try {
      instance = await instanceOf(name, fn);
    } catch (error) {
      return text(503, `The instance failed to start: ${(error as Error).message}`);
    }
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
    const timeout = AbortSignal.timeout((fn.deployment.timeoutSeconds ?? 300) * 1000);
    try {
      const answer = await fetch(`http://127.0.0.1:${instance.port}/`, {
        method: "POST",
        headers: { "content-type": request.headers.get("content-type") ?? "application/json" },
        body,
        signal: timeout,
      });
      const out = new Uint8Array(await answer.arrayBuffer());
      if (out.byteLength > REQUEST_CAP) return text(500, "Response size was too large");
      const headers = new Headers();
      // Cloud Run passes the function's own headers through, hop-by-hop ones aside.
      answer.headers.forEach((v, h) => {
        if (!/^(connection|keep-alive|transfer-encoding|content-length)$/i.test(h)) headers.set(h, v);
      });
      return new Response(out, { status: answer.status, headers });
    } catch (error) {
      if (timeout.aborted) return text(504, "upstream request timeout");
      return text(503, `The instance did not answer: ${(error as Error).message}`);
    }
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (request) => {
      const name = decodeURIComponent(new URL(request.url).pathname.slice(1));
      const fn = functions.get(name);
      if (!fn) {
        await request.body?.cancel();
        return text(404, `The requested URL /${name} was not found on this server.`);
      }
      if (request.method !== "POST") return text(405, "Method Not Allowed");
      return await invoke(name, fn, request);
    },
  );
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  return {
    endpoint,
    urlTemplate: `${endpoint}/{name}`,
    token,
    invocations,
    coldStarts,
    async deploy(name, zipPath, deployment = {}) {
      const old = functions.get(name);
      if (old?.instance) await stopInstance(await old.instance).catch(() => {});
      const dir = join(root, name);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await unpackZip(await Deno.readFile(zipPath), join(dir, "source"));
      await Deno.writeTextFile(join(dir, "deployment.json"), JSON.stringify(deployment));
      functions.set(name, { dir: join(dir, "source"), deployment, faults: fresh() });
    },
    throttle(name, count) {
      functions.get(name)!.faults.throttle = count;
    },
    failService(name, count) {
      functions.get(name)!.faults.serverError = count;
    },
    async stop() {
      for (const fn of functions.values()) {
        if (fn.instance) await stopInstance(await fn.instance).catch(() => {});
      }
      await server.shutdown();
      if (ownsDir) await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

function fresh(): Faults {
  return { throttle: 0, serverError: 0 };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/html; charset=UTF-8" } });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      "functions-dir": { type: "string" },
      token: { type: "string" },
    },
  });
  const emulator = await startCloudFunctionsEmulator({
    port: Number(values.port),
    functionsDir: values["functions-dir"],
    token: values.token,
  });
  console.log(`cloud functions emulator listening on ${emulator.endpoint}`);
  const stop = async () => {
    await emulator.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
