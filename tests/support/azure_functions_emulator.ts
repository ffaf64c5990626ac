#!/usr/bin/env -S deno run -A
/**
 * A local Azure Functions host for tests and demos, speaking the host's
 * custom-handler protocol: each deployed app is a zip unpacked as
 * `wwwroot`; its `host.json` `customHandler.description` names the handler
 * (`defaultExecutablePath`, `arguments`, `workingDirectory`), started on the
 * first request (the cold start) with `FUNCTIONS_CUSTOMHANDLER_PORT` and kept
 * warm; each `<function>/function.json` with an `httpTrigger` is served at
 * `/<app>/api/<function>` (the `routePrefix`). A request is checked as the
 * host does for `authLevel: "function"` (`x-functions-key` or `?code=`, or an
 * Entra bearer token the app accepts; 401 otherwise), refused over 100 MB
 * (413), and forwarded as the JSON request envelope (`Data.<trigger>` with
 * `Url`, `Method`, `Query`, `Headers`, `Params`, `Identities`, `Body`;
 * `Metadata`) to `POST /<function>` on the handler; the response envelope's
 * `Outputs.<http output>` (`statusCode`, `headers`, `body`) becomes the
 * HTTP answer. Tests inject 429s and 503s.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type Faults,
  freePort,
  type Instance,
  startInstance,
  stopInstance,
  unpackZip,
} from "./_function_host.ts";

const REQUEST_CAP = 100 * 1024 * 1024;

/** How an app is deployed. */
export interface AzureAppDeployment {
  /** Its app settings (environment). @default {{}} */
  env?: Record<string, string>;
}

/** A running host. */
export interface AzureFunctionsEmulator {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The URL template for `GLACIER_AZURE_FUNCTIONS_URL`. */
  readonly urlTemplate: string;
  /** The function key every app accepts. */
  readonly functionKey: string;
  /** An Entra token every app accepts. */
  readonly entraToken: string;
  /** Envelopes that reached a handler, per app. */
  readonly invocations: Map<string, number>;
  /** The last request envelope a handler got, per app. */
  readonly lastEnvelope: Map<string, unknown>;
  /** The `Logs` lines each app's handler answered with, as the host writes them to its log. */
  readonly logs: Map<string, string[]>;
  /** Handler starts, per app. */
  readonly coldStarts: Map<string, number>;
  /** Deploys a built zip as an app. */
  deploy(app: string, zipPath: string, deployment?: AzureAppDeployment): Promise<void>;
  /** Answers the next `count` invocations with 429. */
  throttle(app: string, count: number): void;
  /** Answers the next `count` invocations with 503. */
  failService(app: string, count: number): void;
  /** Stops the host and every handler. */
  stop(): Promise<void>;
}

interface Binding {
  type: string;
  direction: string;
  name: string;
  authLevel?: string;
  methods?: string[];
}

interface App {
  dir: string;
  env: Record<string, string>;
  host: {
    customHandler: {
      description: { defaultExecutablePath: string; workingDirectory?: string; arguments?: string[] };
      enableForwardingHttpRequest?: boolean;
    };
    extensions?: { http?: { routePrefix?: string } };
  };
  functions: Map<string, Binding[]>;
  faults: Faults;
  handler?: Promise<Instance>;
}

/**
 * Starts the host.
 *
 * @param options The port, the folder apps are kept in.
 * @returns The running host.
 */
export async function startAzureFunctionsEmulator(
  options: { port?: number; appsDir?: string; functionKey?: string } = {},
): Promise<AzureFunctionsEmulator> {
  const root = options.appsDir ?? await Deno.makeTempDir({ prefix: "glacier-azfn-" });
  const ownsDir = options.appsDir === undefined;
  const functionKey = options.functionKey ?? `fnkey-${crypto.randomUUID()}`;
  const entraToken = `entra-${crypto.randomUUID()}`;
  const apps = new Map<string, App>();
  const invocations = new Map<string, number>();
  const coldStarts = new Map<string, number>();
  const lastEnvelope = new Map<string, unknown>();
  const logs = new Map<string, string[]>();

  async function load(app: string): Promise<void> {
    const dir = join(root, app, "wwwroot");
    const host = JSON.parse(await Deno.readTextFile(join(dir, "host.json")));
    const env = JSON.parse(await Deno.readTextFile(join(root, app, "settings.json")));
    const functions = new Map<string, Binding[]>();
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      try {
        const fn = JSON.parse(await Deno.readTextFile(join(dir, entry.name, "function.json")));
        functions.set(entry.name, fn.bindings);
      } catch { /* not a function folder */ }
    }
    apps.set(app, { dir, env, host, functions, faults: { throttle: 0, serverError: 0 } });
  }
  for await (const entry of Deno.readDir(root)) {
    await load(entry.name).catch(() => {});
  }

  function handlerOf(name: string, app: App): Promise<Instance> {
    if (!app.handler) {
      coldStarts.set(name, (coldStarts.get(name) ?? 0) + 1);
      const port = freePort();
      const d = app.host.customHandler.description;
      const cwd = join(app.dir, d.workingDirectory ?? "");
      const exe = d.defaultExecutablePath.includes("/") || d.defaultExecutablePath === "node"
        ? d.defaultExecutablePath
        : join(app.dir, d.defaultExecutablePath);
      app.handler = startInstance(exe, d.arguments ?? [], cwd, {
        ...app.env,
        FUNCTIONS_CUSTOMHANDLER_PORT: String(port),
        WEBSITE_SITE_NAME: name,
        FUNCTIONS_WORKER_RUNTIME: "custom",
      }, port);
      app.handler.then(
        (h) => h.process.status.then(() => app.handler = undefined),
        () => app.handler = undefined,
      );
    }
    return app.handler;
  }

  async function invoke(name: string, app: App, fn: string, bindings: Binding[], request: Request) {
    const url = new URL(request.url);
    const trigger = bindings.find((b) => b.type === "httpTrigger" && b.direction === "in");
    const output = bindings.find((b) => b.type === "http" && b.direction === "out");
    if (!trigger) return text(404, "");
    if (trigger.methods && !trigger.methods.includes(request.method.toLowerCase())) return text(405, "");
    const level = trigger.authLevel ?? "function";
    if (level !== "anonymous") {
      const key = request.headers.get("x-functions-key") ?? url.searchParams.get("code");
      const bearer = request.headers.get("authorization");
      if (key !== functionKey && bearer !== `Bearer ${entraToken}`) return text(401, "");
    }
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > REQUEST_CAP) return text(413, "The request body is too large");
    if (app.faults.throttle > 0) {
      app.faults.throttle--;
      return text(429, "Too many requests");
    }
    if (app.faults.serverError > 0) {
      app.faults.serverError--;
      return text(503, "Function host is not running.");
    }
    let handler: Instance;
    try {
      handler = await handlerOf(name, app);
    } catch (error) {
      return text(503, `Function host is not running: ${(error as Error).message}`);
    }
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
    const headers: Record<string, string[]> = {};
    request.headers.forEach((v, k) => {
      if (k !== "x-functions-key" && k !== "authorization") headers[k] = [v];
    });
    const query = Object.fromEntries(url.searchParams);
    delete query.code;
    const envelope = {
      Data: {
        [trigger.name]: {
          Url: request.url,
          Method: request.method,
          Query: query,
          Headers: headers,
          Params: {},
          Identities: [],
          Body: new TextDecoder().decode(body),
        },
      },
      Metadata: {
        Query: query,
        Headers: headers,
        sys: { MethodName: fn, UtcNow: new Date().toISOString(), RandGuid: crypto.randomUUID() },
      },
    };
    lastEnvelope.set(name, {
      ...envelope,
      Data: { [trigger.name]: { ...envelope.Data[trigger.name], Body: `<${body.byteLength} bytes>` } },
    });
    let answer: Response;
    try {
      answer = await fetch(`http://127.0.0.1:${handler.port}/${fn}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(envelope),
      });
    } catch (error) {
      return text(500, `The custom handler did not answer: ${(error as Error).message}`);
    }
    if (!answer.ok) return text(500, `The custom handler answered ${answer.status}: ${await answer.text()}`);
    const out = await answer.json() as {
      Outputs?: Record<
        string,
        { statusCode?: number | string; headers?: Record<string, string>; body?: unknown }
      >;
      ReturnValue?: unknown;
      Logs?: unknown;
    };
    if (Array.isArray(out.Logs)) {
      logs.set(name, [...(logs.get(name) ?? []), ...out.Logs.map(String)]);
    }
    const res = out.Outputs?.[output?.name ?? "res"];
    if (!res) return new Response(null, { status: 204 });
    const resBody = typeof res.body === "string" ? res.body : JSON.stringify(res.body ?? "");
    return new Response(resBody, { status: Number(res.statusCode ?? 200), headers: res.headers ?? {} });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname.split("/").filter(Boolean);
      const app = apps.get(path[0] ?? "");
      const prefix = app?.host.extensions?.http?.routePrefix ?? "api";
      const fn = path[1] === prefix ? path[2] : undefined;
      const bindings = fn ? app?.functions.get(fn) : undefined;
      if (!app || !fn || !bindings) {
        await request.body?.cancel();
        return text(404, "");
      }
      return await invoke(path[0], app, fn, bindings, request);
    },
  );
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  return {
    endpoint,
    urlTemplate: `${endpoint}/{name}`,
    functionKey,
    entraToken,
    invocations,
    lastEnvelope,
    logs,
    coldStarts,
    async deploy(app, zipPath, deployment = {}) {
      const old = apps.get(app);
      if (old?.handler) await stopInstance(await old.handler).catch(() => {});
      await Deno.remove(join(root, app), { recursive: true }).catch(() => {});
      await unpackZip(await Deno.readFile(zipPath), join(root, app, "wwwroot"));
      await Deno.writeTextFile(join(root, app, "settings.json"), JSON.stringify(deployment.env ?? {}));
      await load(app);
    },
    throttle(app, count) {
      apps.get(app)!.faults.throttle = count;
    },
    failService(app, count) {
      apps.get(app)!.faults.serverError = count;
    },
    async stop() {
      for (const app of apps.values()) {
        if (app.handler) await stopInstance(await app.handler).catch(() => {});
      }
      await server.shutdown();
      if (ownsDir) await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

function text(status: number, body: string): Response {
  return new Response(body, { status });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      "apps-dir": { type: "string" },
      key: { type: "string" },
    },
  });
  const emulator = await startAzureFunctionsEmulator({
    port: Number(values.port),
    appsDir: values["apps-dir"],
    functionKey: values.key,
  });
  console.log(`azure functions host listening on ${emulator.endpoint}`);
  const stop = async () => {
    await emulator.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
