#!/usr/bin/env -S deno run -A
/**
 * A local AWS Lambda for tests and demos, in the manner of AWS's runtime
 * interface emulator: an HTTP server on 127.0.0.1 that speaks the Lambda
 * service API the SDK uses — `CreateFunction`, `GetFunction`,
 * `UpdateFunctionCode`, `DeleteFunction` and `Invoke` (RequestResponse, with
 * `X-Amz-Log-Type: Tail` → `X-Amz-Log-Result`, `X-Amz-Function-Error`,
 * `ResourceNotFoundException`, injectable `TooManyRequestsException`, the
 * 6 MB request and response caps) — and runs each function's real `bootstrap`
 * from its unpacked zip as a subprocess against a Runtime API it serves
 * (`AWS_LAMBDA_RUNTIME_API`), one sandbox per concurrent invocation. The
 * bytes the SDK sends are the bytes the bootstrap receives.
 *
 * Functions persist in `functionsDir`, so an emulator restarted on the same
 * folder serves the same functions. Run it by hand:
 *
 * ```sh
 * deno run -A tests/support/lambda_emulator.ts --port 9001 --functions-dir /tmp/fns
 * curl -X POST 'http://127.0.0.1:9001/_emulator/throttle?function=f&count=2'
 * ```
 *
 * @module
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { unzipSync } from "fflate";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";

/** Options for {@linkcode startLambdaEmulator}. */
export interface LambdaEmulatorOptions {
  /** The port; 0 lets the OS pick. @default {0} */
  port?: number;
  /** Where functions (config, zip, unpacked code) are kept. @default {a new temp folder} */
  functionsDir?: string;
  /** Sandboxes per function; more invocations wait for one. @default {4} */
  maxConcurrency?: number;
  /** Variables every sandbox gets (credentials and endpoints, as a function role would). @default {{}} */
  env?: Record<string, string>;
}

/** A running emulator. */
export interface LambdaEmulator {
  /** The endpoint, such as `http://127.0.0.1:53100`. */
  readonly endpoint: string;
  /** The port. */
  readonly port: number;
  /** The functions folder. */
  readonly functionsDir: string;
  /** How many Invoke requests reached a sandbox, per function. */
  readonly invocations: Map<string, number>;
  /** Makes the next `count` invocations of a function fail with 429 TooManyRequestsException. */
  throttle(functionName: string, count: number): void;
  /** Stops the server and every sandbox; safe to call twice. */
  stop(): Promise<void>;
}

interface FunctionConfig {
  FunctionName: string;
  FunctionArn: string;
  Runtime: string;
  Role: string;
  Handler: string;
  CodeSize: number;
  CodeSha256: string;
  Timeout: number;
  MemorySize: number;
  LastModified: string;
  Version: string;
  State: string;
  LastUpdateStatus: string;
  PackageType: string;
  Architectures: string[];
  Environment: { Variables: Record<string, string> };
}

interface Invocation {
  readonly id: string;
  readonly body: Bytes;
  readonly deadline: number;
  readonly done: PromiseWithResolvers<{ body: Bytes; error?: string }>;
  log: string;
}

interface Sandbox {
  readonly fn: string;
  readonly codeSha: string;
  readonly server: Deno.HttpServer;
  readonly process: Deno.ChildProcess;
  busy: boolean;
  dead: boolean;
  current?: Invocation;
  /** A pending `GET …/invocation/next`; `null` ends it (the sandbox is going away). */
  poll?: (invocation: Invocation | null) => void;
  /** Resolves once the sandbox's Runtime API server is closed. */
  closed?: Promise<void>;
  /** An invocation handed over before the sandbox polled. */
  queued?: Invocation;
  /** When the runtime last printed (performance.now()). */
  printedAt: number;
  /** Whose log the runtime's output goes to: the current invocation, and after its answer until the next starts (what it printed before answering may still be in the pipe). */
  logging?: Invocation;
}

type Bytes = Uint8Array<ArrayBuffer>;

const PAYLOAD_CAP = 6 * 1024 * 1024;
const ZIP_UPLOAD_CAP = 50 * 1024 * 1024;
const ACCOUNT = "000000000000";
const encoder = new TextEncoder();

/**
 * Starts the emulator on 127.0.0.1.
 *
 * @param options Port, functions folder, concurrency and sandbox environment.
 * @returns The running emulator.
 */
export async function startLambdaEmulator(options: LambdaEmulatorOptions = {}): Promise<LambdaEmulator> {
  const functionsDir = options.functionsDir ?? await Deno.makeTempDir({ prefix: "glacier-lambda-" });
  const ownsDir = options.functionsDir === undefined;
  await Deno.mkdir(functionsDir, { recursive: true });
  const maxConcurrency = options.maxConcurrency ?? 4;
  const functions = new Map<string, FunctionConfig>();
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    try {
      const config = JSON.parse(await Deno.readTextFile(join(functionsDir, entry.name, "config.json")));
      functions.set(config.FunctionName, config);
    } catch { /* a half-written function: ignore */ }
  }
  const sandboxes = new Map<string, Sandbox[]>();
  const waiting = new Map<string, (() => void)[]>();
  const throttles = new Map<string, number>();
  const invocations = new Map<string, number>();
  let stopped = false;
  const region = options.env?.AWS_REGION ?? "us-east-1";

  const codeDir = (sha: string) => join(functionsDir, ".code", hex(sha));

  async function unpack(zip: Bytes, sha: string): Promise<void> {
    const dir = codeDir(sha);
    try {
      await Deno.stat(join(dir, ".complete"));
      return;
    } catch { /* not yet */ }
    const temp = `${dir}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    const modes = zipModes(zip);
    const files = unzipSync(zip);
    for (const [path, data] of Object.entries(files)) {
      if (path.endsWith("/")) continue;
      const target = join(temp, path);
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeFile(target, data, { mode: modes.get(path) ?? 0o644 });
    }
    await Deno.writeTextFile(join(temp, ".complete"), "");
    await Deno.mkdir(dirname(dir), { recursive: true });
    try {
      await Deno.rename(temp, dir);
    } catch {
      await Deno.remove(temp, { recursive: true }).catch(() => {}); // unpacked meanwhile
    }
  }

  async function saveFunction(config: FunctionConfig): Promise<void> {
    const dir = join(functionsDir, config.FunctionName);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
    functions.set(config.FunctionName, config);
  }

  // Code from S3 is read with the S3 endpoint and credentials the sandboxes get.
  async function fromS3(bucket: string, key: string): Promise<Bytes> {
    const env = options.env ?? {};
    const client = new S3Client({
      region,
      endpoint: env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      ...(env.AWS_ACCESS_KEY_ID
        ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
          },
        }
        : {}),
    });
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return new Uint8Array(await got.Body!.transformToByteArray());
    } finally {
      client.destroy();
    }
  }

  async function setCode(
    config: FunctionConfig,
    code: Record<string, unknown>,
  ): Promise<Response | undefined> {
    let zip: Bytes;
    if (typeof code.ZipFile === "string") {
      zip = (Uint8Array as unknown as { fromBase64(s: string): Bytes }).fromBase64(code.ZipFile);
      if (zip.byteLength > ZIP_UPLOAD_CAP) {
        return awsError(
          413,
          "RequestEntityTooLargeException",
          "Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation",
        );
      }
    } else if (typeof code.S3Bucket === "string" && typeof code.S3Key === "string") {
      try {
        zip = await fromS3(code.S3Bucket, code.S3Key);
      } catch (error) {
        return awsError(
          400,
          "InvalidParameterValueException",
          `Error occurred while GetObject. S3 Error Code: ${(error as Error).name}. S3 Error Message: ${
            (error as Error).message
          }`,
        );
      }
    } else {
      return awsError(400, "InvalidParameterValueException", "Code needs ZipFile, or S3Bucket and S3Key");
    }
    const sha = await sha256(zip);
    try {
      await unpack(zip, sha);
    } catch (error) {
      return awsError(
        400,
        "InvalidZipFileException",
        `Could not unzip uploaded file: ${(error as Error).message}`,
      );
    }
    config.CodeSha256 = sha;
    config.CodeSize = zip.byteLength;
    config.LastModified = new Date().toISOString().replace("Z", "+0000");
    return undefined;
  }

  function retire(fn: string, all: boolean): void {
    for (const sandbox of sandboxes.get(fn) ?? []) if (all || !sandbox.busy) kill(sandbox);
  }

  function kill(sandbox: Sandbox): void {
    if (sandbox.dead) return;
    sandbox.dead = true;
    try {
      sandbox.process.kill("SIGKILL");
    } catch { /* gone */ }
    // A pending next-invocation poll would hold the graceful shutdown open forever.
    sandbox.poll?.(null);
    sandbox.closed = sandbox.server.shutdown().catch(() => {});
    const list = sandboxes.get(sandbox.fn) ?? [];
    list.splice(list.indexOf(sandbox), 1);
    waiting.get(sandbox.fn)?.shift()?.();
  }

  function spawn(config: FunctionConfig): Sandbox {
    const root = codeDir(config.CodeSha256);
    // deno-lint-ignore prefer-const
    let sandbox: Sandbox;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => runtimeApi(sandbox, request),
    );
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      ...options.env,
      ...config.Environment.Variables,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.addr.port}`,
      LAMBDA_TASK_ROOT: root,
      LAMBDA_RUNTIME_DIR: root,
      _HANDLER: config.Handler,
      AWS_LAMBDA_FUNCTION_NAME: config.FunctionName,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.MemorySize),
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
    };
    const process = new Deno.Command(join(root, "bootstrap"), {
      cwd: root,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    sandbox = {
      fn: config.FunctionName,
      codeSha: config.CodeSha256,
      server,
      process,
      busy: false,
      dead: false,
      printedAt: 0,
    };
    for (const stream of [process.stdout, process.stderr]) {
      stream.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({
          write(chunk) {
            sandbox.printedAt = performance.now();
            if (sandbox.logging) sandbox.logging.log = (sandbox.logging.log + chunk).slice(-8192);
          },
        }),
      ).catch(() => {});
    }
    process.status.then((status) => {
      const current = sandbox.current;
      if (current) {
        sandbox.current = undefined;
        current.done.resolve({
          error: "Unhandled",
          body: json({
            errorType: "Runtime.ExitError",
            errorMessage:
              `RequestId: ${current.id} Error: Runtime exited with error: exit status ${status.code}`,
          }),
        });
      }
      kill(sandbox);
    });
    const list = sandboxes.get(config.FunctionName) ?? [];
    list.push(sandbox);
    sandboxes.set(config.FunctionName, list);
    return sandbox;
  }

  async function runtimeApi(sandbox: Sandbox, request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const prefix = "/2018-06-01/runtime";
    if (request.method === "GET" && path === `${prefix}/invocation/next`) {
      const invocation = sandbox.queued ??
        await new Promise<Invocation | null>((resolve) => sandbox.poll = resolve);
      sandbox.queued = undefined;
      sandbox.poll = undefined;
      if (!invocation) return new Response("the sandbox is shutting down", { status: 410 });
      sandbox.current = sandbox.logging = invocation;
      invocation.log = `START RequestId: ${invocation.id} Version: $LATEST\n`;
      return new Response(invocation.body, {
        headers: {
          "Lambda-Runtime-Aws-Request-Id": invocation.id,
          "Lambda-Runtime-Deadline-Ms": String(invocation.deadline),
          "Lambda-Runtime-Invoked-Function-Arn": arn(sandbox.fn),
          "Lambda-Runtime-Trace-Id": `Root=1-${crypto.randomUUID().slice(0, 8)}`,
          "Content-Type": "application/json",
        },
      });
    }
    const match = path.match(/^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/);
    if (request.method === "POST" && match) {
      const invocation = sandbox.current;
      if (!invocation || invocation.id !== match[1]) {
        return new Response(json({ errorMessage: "Invalid request ID", errorType: "InvalidRequestID" }), {
          status: 400,
        });
      }
      const body = new Uint8Array(await request.arrayBuffer());
      sandbox.current = undefined;
      if (match[2] === "response" && body.byteLength > PAYLOAD_CAP) {
        invocation.done.resolve({
          error: "Unhandled",
          body: json({
            errorMessage:
              `Response payload size exceeded maximum allowed payload size (${PAYLOAD_CAP} bytes).`,
            errorType: "Function.ResponseSizeTooLarge",
          }),
        });
        return new Response(
          json({ errorMessage: "Response payload size exceeded", errorType: "RequestEntityTooLarge" }),
          { status: 413 },
        );
      }
      invocation.done.resolve(match[2] === "response" ? { body } : { body, error: "Unhandled" });
      return new Response(json({ status: "OK" }), { status: 202 });
    }
    if (request.method === "POST" && path === `${prefix}/init/error`) {
      const body = new Uint8Array(await request.arrayBuffer());
      const pending = sandbox.queued ?? sandbox.current;
      sandbox.queued = sandbox.current = undefined;
      pending?.done.resolve({ body, error: "Unhandled" });
      setTimeout(() => kill(sandbox), 0);
      return new Response(json({ status: "OK" }), { status: 202 });
    }
    return new Response("not found", { status: 404 });
  }

  async function acquire(config: FunctionConfig): Promise<Sandbox> {
    for (;;) {
      const list = sandboxes.get(config.FunctionName) ?? [];
      const idle = list.find((s) => !s.busy && !s.dead && s.codeSha === config.CodeSha256);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (list.length < maxConcurrency) {
        const sandbox = spawn(config);
        sandbox.busy = true;
        return sandbox;
      }
      await new Promise<void>((resolve) => {
        const queue = waiting.get(config.FunctionName) ?? [];
        queue.push(resolve);
        waiting.set(config.FunctionName, queue);
      });
    }
  }

  function release(sandbox: Sandbox): void {
    sandbox.busy = false;
    waiting.get(sandbox.fn)?.shift()?.();
  }

  async function invoke(config: FunctionConfig, request: Request): Promise<Response> {
    const type = request.headers.get("X-Amz-Invocation-Type") ?? "RequestResponse";
    if (type !== "RequestResponse") {
      return awsError(400, "InvalidParameterValueException", `Invocation type "${type}" is not emulated`);
    }
    const left = throttles.get(config.FunctionName) ?? 0;
    if (left > 0) {
      throttles.set(config.FunctionName, left - 1);
      return awsError(429, "TooManyRequestsException", "Rate Exceeded.", {
        Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
      });
    }
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > PAYLOAD_CAP) {
      return awsError(
        413,
        "RequestEntityTooLargeException",
        `Request must be smaller than ${PAYLOAD_CAP} bytes for the InvokeFunction operation`,
      );
    }
    invocations.set(config.FunctionName, (invocations.get(config.FunctionName) ?? 0) + 1);
    const sandbox = await acquire(config);
    const invocation: Invocation = {
      id: crypto.randomUUID(),
      body,
      deadline: Date.now() + config.Timeout * 1000,
      done: Promise.withResolvers(),
      log: "",
    };
    if (sandbox.poll) sandbox.poll(invocation);
    else sandbox.queued = invocation;
    const started = performance.now();
    const timer = setTimeout(() => {
      invocation.done.resolve({
        error: "Unhandled",
        body: json({
          errorType: "Sandbox.Timedout",
          errorMessage: `RequestId: ${invocation.id} Error: Task timed out after ${
            config.Timeout.toFixed(2)
          } seconds`,
        }),
      });
      sandbox.current = undefined;
      kill(sandbox);
    }, config.Timeout * 1000);
    const result = await invocation.done.promise;
    clearTimeout(timer);
    // What the runtime printed before answering may still be in its pipes (Lambda's log has
    // it): read on until they have been quiet for 25 ms since the answer, a second at most.
    const answered = performance.now();
    for (const until = answered + 1000; performance.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (performance.now() - Math.max(answered, sandbox.printedAt) >= 25) break;
    }
    const elapsed = (performance.now() - started).toFixed(2);
    const log = invocation.log +
      `END RequestId: ${invocation.id}\nREPORT RequestId: ${invocation.id}\tDuration: ${elapsed} ms\tMemory Size: ${config.MemorySize} MB\n`;
    if (!sandbox.dead) release(sandbox);
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "X-Amz-Executed-Version": "$LATEST",
      "X-Amzn-RequestId": invocation.id,
    };
    if (result.error) headers["X-Amz-Function-Error"] = result.error;
    if (request.headers.get("X-Amz-Log-Type") === "Tail") {
      headers["X-Amz-Log-Result"] = (encoder.encode(log.slice(-4096)) as Uint8Array & { toBase64(): string })
        .toBase64();
    }
    return new Response(result.body, { status: 200, headers });
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname);
    if (path === "/_emulator/throttle" && request.method === "POST") {
      const fn = url.searchParams.get("function") ?? "";
      throttles.set(fn, Number(url.searchParams.get("count") ?? "1"));
      return new Response(json({ function: fn, throttled: throttles.get(fn) }));
    }
    if (path === "/2015-03-31/functions" || path === "/2015-03-31/functions/") {
      if (request.method !== "POST") return awsError(405, "InvalidRequestContentException", "Not emulated");
      const input = await request.json();
      const name = String(input.FunctionName ?? "");
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
        return awsError(
          400,
          "InvalidParameterValueException",
          `Invalid function name ${JSON.stringify(name)}`,
        );
      }
      if (functions.has(name)) {
        return awsError(409, "ResourceConflictException", `Function already exist: ${name}`);
      }
      const config: FunctionConfig = {
        FunctionName: name,
        FunctionArn: arn(name),
        Runtime: input.Runtime ?? "provided.al2023",
        Role: input.Role ?? `arn:aws:iam::${ACCOUNT}:role/glacier`,
        Handler: input.Handler ?? "bootstrap",
        CodeSize: 0,
        CodeSha256: "",
        Timeout: input.Timeout ?? 3,
        MemorySize: input.MemorySize ?? 128,
        LastModified: "",
        Version: "$LATEST",
        State: "Active",
        LastUpdateStatus: "Successful",
        PackageType: "Zip",
        Architectures: input.Architectures ?? ["x86_64"],
        Environment: { Variables: input.Environment?.Variables ?? {} },
      };
      const failed = await setCode(config, input.Code ?? {});
      if (failed) return failed;
      await saveFunction(config);
      return new Response(json(config), { status: 201, headers: { "Content-Type": "application/json" } });
    }
    const match = path.match(/^\/2015-03-31\/functions\/([^/]+)(\/code|\/invocations)?\/?$/);
    if (!match) return awsError(404, "UnknownOperationException", `No emulated operation at ${path}`);
    const name = match[1].replace(/^arn:aws:lambda:[^:]+:\d+:function:/, "");
    const config = functions.get(name);
    if (!config) return awsError(404, "ResourceNotFoundException", `Function not found: ${arn(name)}`);
    if (match[2] === "/invocations" && request.method === "POST") return await invoke(config, request);
    if (match[2] === "/code" && request.method === "PUT") {
      const input = await request.json();
      const failed = await setCode(config, input);
      if (failed) return failed;
      await saveFunction(config);
      retire(name, false);
      return new Response(json(config), { headers: { "Content-Type": "application/json" } });
    }
    if (!match[2] && request.method === "GET") {
      return new Response(
        json({
          Configuration: config,
          Code: { RepositoryType: "S3", Location: `${endpoint}/_emulator/code/${name}` },
        }),
        { headers: { "Content-Type": "application/json" } },
      );
    }
    if (!match[2] && request.method === "DELETE") {
      retire(name, true);
      functions.delete(name);
      await Deno.remove(join(functionsDir, name), { recursive: true }).catch(() => {});
      return new Response(null, { status: 204 });
    }
    return awsError(405, "InvalidRequestContentException", `${request.method} ${path} is not emulated`);
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (request) => {
      try {
        return await handle(request);
      } catch (error) {
        return awsError(500, "ServiceException", (error as Error).message);
      }
    },
  );
  const port = server.addr.port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    functionsDir,
    invocations,
    throttle(functionName: string, count: number) {
      throttles.set(functionName, count);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const all = [...sandboxes.values()].flat();
      for (const sandbox of all) kill(sandbox);
      await Promise.all(all.map((s) => Promise.all([s.process.status.catch(() => {}), s.closed])));
      await server.shutdown();
      if (ownsDir) await Deno.remove(functionsDir, { recursive: true }).catch(() => {});
    },
  };
}

function arn(name: string): string {
  return `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
}

function json(value: unknown): Bytes {
  return encoder.encode(JSON.stringify(value));
}

function awsError(
  status: number,
  type: string,
  message: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(json({ Type: "User", message, ...extra }), {
    status,
    headers: { "Content-Type": "application/json", "x-amzn-ErrorType": type },
  });
}

async function sha256(bytes: Bytes): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return (digest as Uint8Array & { toBase64(): string }).toBase64();
}

function hex(base64: string): string {
  return Array.from(atob(base64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

// Unix modes of a zip's entries, from the central directory (fflate keeps no attributes).
function zipModes(zip: Bytes): Map<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const modes = new Map<string, number>();
  let end = zip.byteLength - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) return modes;
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  for (let i = 0; i < count && view.getUint32(at, true) === 0x02014b50; i++) {
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const external = view.getUint32(at + 38, true);
    const name = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength));
    if (madeBy === 3 && external >>> 16) modes.set(name, (external >>> 16) & 0o777);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return modes;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      "functions-dir": { type: "string" },
      concurrency: { type: "string", default: "4" },
    },
  });
  const passthrough = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      k.startsWith("AWS_") && k !== "AWS_ENDPOINT_URL_LAMBDA"
    ),
  );
  const emulator = await startLambdaEmulator({
    port: Number(values.port),
    functionsDir: values["functions-dir"],
    maxConcurrency: Number(values.concurrency),
    env: passthrough,
  });
  console.log(`lambda emulator listening on ${emulator.endpoint} (functions in ${emulator.functionsDir})`);
  const stop = async () => {
    await emulator.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
