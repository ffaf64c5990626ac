// What the Cloud Run functions and Azure Functions emulators share: unpacking
// a deployed zip with its file modes, starting an instance process on a port
// and waiting until it accepts connections, and the faults tests inject.
import { unzipSync } from "fflate";
import { dirname, join } from "node:path";

/** A fault answered instead of the real thing, for the next `count` invocations. */
export interface Faults {
  throttle: number;
  serverError: number;
}

/** Unpacks a zip into a folder, keeping Unix modes (fflate keeps none). */
export async function unpackZip(zip: Uint8Array<ArrayBuffer>, dir: string): Promise<void> {
  const modes = zipModes(zip);
  for (const [path, data] of Object.entries(unzipSync(zip))) {
    if (path.endsWith("/")) continue;
    const target = join(dir, path);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeFile(target, data, { mode: modes.get(path) ?? 0o644 });
  }
}

/** A free port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** An instance process of a deployed function, serving on a port. */
export interface Instance {
  readonly port: number;
  readonly process: Deno.ChildProcess;
  /** The process's last output. */
  log: string;
}

/**
 * Starts an instance and waits until its port accepts connections (the
 * service's readiness check), or the process exits.
 */
export async function startInstance(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  port: number,
): Promise<Instance> {
  const process = new Deno.Command(command, {
    args,
    cwd,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const instance: Instance = { port, process, log: "" };
  for (const stream of [process.stdout, process.stderr]) {
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write(chunk) {
          instance.log = (instance.log + chunk).slice(-8192);
        },
      }),
    ).catch(() => {});
  }
  let exited = false;
  process.status.then(() => exited = true);
  for (let i = 0; i < 600; i++) {
    if (exited) throw new Error(`the instance exited before it listened: ${instance.log}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return instance;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  process.kill("SIGKILL");
  throw new Error(`the instance did not listen on port ${port} within 30 s: ${instance.log}`);
}

/** Kills an instance and waits for it. */
export async function stopInstance(instance: Instance): Promise<void> {
  try {
    instance.process.kill("SIGKILL");
  } catch { /* gone */ }
  await instance.process.status;
}

// Unix modes of a zip's entries, from the central directory.
function zipModes(zip: Uint8Array<ArrayBuffer>): Map<string, number> {
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
