// Atomic file writes: a temp file beside the target, then a rename, so a
// reader never sees half a file and a failed write leaves nothing behind.
import { dirname } from "node:path";

/**
 * Writes a file atomically.
 *
 * @param path The file.
 * @param data Its text, its bytes, or its bytes in parts written in order (none copied; shared memory too).
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | readonly Uint8Array[],
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data);
    else await writeParts(temp, data instanceof Uint8Array ? [data] : data);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

async function writeParts(path: string, parts: readonly Uint8Array[]): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (const part of parts) {
    for (let at = 0; at < part.byteLength;) at += await file.write(part.subarray(at));
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}
