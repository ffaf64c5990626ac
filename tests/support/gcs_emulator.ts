/**
 * A Cloud Storage JSON API server for tests, over real HTTP on 127.0.0.1 and
 * backed by files in a temp folder: media upload
 * (`POST /upload/storage/v1/b/<bucket>/o?uploadType=media&name=…`), download
 * (`GET /storage/v1/b/<bucket>/o/<object>?alt=media`), metadata, delete and
 * list with `prefix`, `maxResults` and `pageToken`. An upload is written to a
 * temp file and renamed into place once its body is complete, as Cloud
 * Storage shows an object only when its upload finishes; an upload whose body
 * breaks off leaves nothing.
 *
 * Why not the Firebase Storage emulator (npm `firebase-tools`): it refuses to
 * start without Java 21 (Debian 12 ships 17) and downloads its rules runtime
 * jar from Google at first start, which neither a developer machine nor CI
 * here can reach.
 *
 * @module
 */
import { join } from "node:path";

/** A failure the emulator answers instead of the real thing. */
export interface GcsFault {
  /** The method, such as `GET`. */
  readonly method: string;
  /** Matches the path, such as `/o/` or `/upload/`. */
  readonly path: string;
  /** The HTTP status. */
  readonly status: number;
  /** How many requests it answers. @default {1} */
  times?: number;
}

/** A running emulator. */
export interface GcsEmulator {
  /** The endpoint, such as `http://127.0.0.1:53211`. */
  readonly endpoint: string;
  /** `host:port`, the value for `STORAGE_EMULATOR_HOST`. */
  readonly host: string;
  /** The folder objects live in: `<dir>/<bucket>/<encoded name>`. */
  readonly directory: string;
  /** `created <bucket>/<name>` and `deleted <bucket>/<name>`, in order. */
  readonly events: string[];
  /** Every request line and header, for leak checks. */
  readonly requests: string[];
  /** Answers the next matching requests with an error. */
  inject(fault: GcsFault): void;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startGcsEmulator}. */
export interface GcsEmulatorOptions {
  /** The buckets that exist. @default {[]} */
  readonly buckets?: readonly string[];
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const apiError = (status: number, message: string) =>
  json(status, {
    error: { code: status, message, errors: [{ message, reason: status === 404 ? "notFound" : "invalid" }] },
  });

/**
 * Starts the emulator on a free port.
 *
 * @param options The buckets.
 * @returns The running emulator.
 */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const directory = await Deno.makeTempDir({ prefix: "glacier-gcs-" });
  const tmp = join(directory, ".uploads");
  await Deno.mkdir(tmp);
  for (const bucket of options.buckets ?? []) await Deno.mkdir(join(directory, bucket));
  const events: string[] = [];
  const requests: string[] = [];
  const faults: GcsFault[] = [];

  const bucketDir = async (bucket: string) => {
    const dir = join(directory, bucket);
    try {
      return (await Deno.stat(dir)).isDirectory && !bucket.startsWith(".") ? dir : undefined;
    } catch {
      return undefined;
    }
  };
  const meta = (bucket: string, name: string, size: number) => ({
    kind: "storage#object",
    id: `${bucket}/${name}`,
    bucket,
    name,
    size: String(size),
  });

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search} ${JSON.stringify([...request.headers])}`);
    const fault = faults.find((f) => f.method === request.method && url.pathname.includes(f.path));
    if (fault) {
      if (--fault.times! <= 0) faults.splice(faults.indexOf(fault), 1);
      await request.body?.cancel();
      return apiError(fault.status, "Injected failure.");
    }
    const match = /^\/(upload\/|download\/)?storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
    if (!match) {
      await request.body?.cancel();
      return apiError(404, `Not Found: ${url.pathname}`);
    }
    const [, kind, bucket, rawName] = match;
    const dir = await bucketDir(decodeURIComponent(bucket));
    if (!dir) {
      await request.body?.cancel();
      return apiError(404, "The specified bucket does not exist.");
    }
    const name = rawName === undefined ? url.searchParams.get("name") ?? "" : decodeURIComponent(rawName);
    const file = join(dir, encodeURIComponent(name));
    if (kind === "upload/" && request.method === "POST") {
      if (url.searchParams.get("uploadType") !== "media" || !name) {
        await request.body?.cancel();
        return apiError(400, "Only uploadType=media with a name is supported.");
      }
      const part = join(tmp, crypto.randomUUID());
      try {
        const out = await Deno.open(part, { write: true, createNew: true });
        await (request.body ?? ReadableStream.from([])).pipeTo(out.writable);
        await Deno.rename(part, file);
      } catch (error) {
        await Deno.remove(part).catch(() => {});
        return apiError(400, `Upload broke off: ${error}`);
      }
      events.push(`created ${bucket}/${name}`);
      return json(200, meta(bucket, name, (await Deno.stat(file)).size));
    }
    if (rawName === undefined && request.method === "GET") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const max = Number(url.searchParams.get("maxResults") ?? 1000);
      const after = url.searchParams.get("pageToken") ?? "";
      const names: string[] = [];
      for await (const entry of Deno.readDir(dir)) names.push(decodeURIComponent(entry.name));
      const matching = names.filter((n) => n.startsWith(prefix) && n > after).sort();
      const page = matching.slice(0, max);
      return json(200, {
        kind: "storage#objects",
        items: page.map((n) => ({ name: n })),
        ...(matching.length > max ? { nextPageToken: page.at(-1) } : {}),
      });
    }
    let size: number;
    try {
      size = (await Deno.stat(file)).size;
    } catch {
      return apiError(404, `No such object: ${bucket}/${name}`);
    }
    if (request.method === "GET" && url.searchParams.get("alt") === "media") {
      return new Response((await Deno.open(file)).readable, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      });
    }
    if (request.method === "GET") return json(200, meta(bucket, name, size));
    if (request.method === "DELETE") {
      await Deno.remove(file);
      events.push(`deleted ${bucket}/${name}`);
      return new Response(null, { status: 204 });
    }
    return apiError(405, `${request.method} is not supported here.`);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const { port } = server.addr as Deno.NetAddr;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    directory,
    events,
    requests,
    inject(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    async stop() {
      await server.shutdown();
      await Deno.remove(directory, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Points `STORAGE_EMULATOR_HOST` at an emulator.
 *
 * @param host `host:port`.
 * @returns Restores the previous value.
 */
export function useGcsEmulatorEnv(host: string): () => void {
  const old = Deno.env.get("STORAGE_EMULATOR_HOST");
  Deno.env.set("STORAGE_EMULATOR_HOST", host);
  return () =>
    old === undefined ? Deno.env.delete("STORAGE_EMULATOR_HOST") : Deno.env.set("STORAGE_EMULATOR_HOST", old);
}
