/**
 * Azurite, Microsoft's Azure Storage emulator from npm (`azurite`, pinned in
 * tests/deno.test.json), as the real Blob server of the tests and demos: its
 * Blob service runs under Deno in a subprocess on 127.0.0.1, on a free port,
 * in memory, with Azurite's development account (`devstoreaccount1`) and its
 * path-style endpoint.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { AZURITE_ACCOUNT, AZURITE_KEY, sharedKeyAuthorization } from "../../stores/_azure_auth.ts";
import { BLOB_API_VERSION } from "../../stores/azure_blob.ts";
import { freePort } from "./_function_host.ts";

export { freePort };

/** A running Azurite Blob service. */
export interface Azurite {
  /** The Blob endpoint, `http://127.0.0.1:<port>/devstoreaccount1`. */
  readonly endpoint: string;
  /** The port. */
  readonly port: number;
  /** The connection string for `AZURE_STORAGE_CONNECTION_STRING`. */
  readonly connectionString: string;
  /** Creates a container. */
  createContainer(name: string): Promise<void>;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

const CONFIG = fileURLToPath(new URL("../deno.test.json", import.meta.url));

/**
 * Starts Azurite's Blob service.
 *
 * @param options Containers to create, and a port to bring a stopped one back on.
 * @returns The running server.
 */
export async function startAzurite(
  options: { containers?: string[]; port?: number } = {},
): Promise<Azurite> {
  const port = options.port ?? freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      "azurite/azurite-blob",
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--inMemoryPersistence",
      "--skipApiVersionCheck",
      "--silent",
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("successfully listens")) {
    const { value, done } = await reader.read();
    if (done) {
      const err = await new Response(child.stderr).text();
      throw new Error(`Azurite exited before listening: ${text}${err}`);
    }
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  child.stderr.cancel().catch(() => {});
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  let stopped = false;
  const azurite: Azurite = {
    endpoint,
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    async createContainer(name: string) {
      const url = new URL(`${endpoint}/${name}?restype=container`);
      const headers: Record<string, string> = {
        "x-ms-date": new Date().toUTCString(),
        "x-ms-version": BLOB_API_VERSION,
        "content-length": "0",
      };
      headers.authorization = await sharedKeyAuthorization(
        { account: AZURITE_ACCOUNT, endpoint, key: AZURITE_KEY },
        "PUT",
        url,
        headers,
      );
      const response = await fetch(url, { method: "PUT", headers });
      const body = await response.text();
      if (!response.ok && response.status !== 409) {
        throw new Error(`Azurite refused container ${name}: ${response.status} ${body}`);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        // In memory, nothing to flush; Azurite waits on idle keep-alive sockets after SIGTERM.
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
  };
  for (const name of options.containers ?? []) await azurite.createContainer(name);
  return azurite;
}
