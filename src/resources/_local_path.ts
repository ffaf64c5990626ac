// A path on this machine for an object, for readers that want a file (polars'
// scanners, DuckDB): a local folder's object is its real file; any other
// store's object is downloaded into this process's temporary folder, and the
// copy is what is read.
//
// One folder per process, `glacier-objects-<pid>` in the system's temporary
// folder, shared by the main thread and the pool's workers: a LazyFrame a
// worker scans crosses to other threads as a plan naming the file, so the
// file must outlive the worker. Workers never see `unload`; the main thread
// does, and removes the folder then. The listener is added when this module
// is first evaluated in the main thread (storage.ts imports it), so it is in
// place even when only workers download.
import { dirname, join } from "node:path";
import { LocalStore } from "./_local_store.ts";
import type { ObjectStore } from "./object_store.ts";

const NAME = `glacier-objects-${Deno.pid}`;
let folder: string | undefined;

// The system's temporary folder, as Deno.makeTempDir picks it (no env permission needed).
function systemTemp(): string {
  const probe = Deno.makeTempDirSync({ prefix: "glacier-probe-" });
  Deno.removeSync(probe);
  return dirname(probe);
}

// Only a real folder of this user counts: a link or another user's folder at
// the predictable name is not written into.
function isOwnFolder(path: string): boolean {
  const info = Deno.lstatSync(path);
  const uid = Deno.uid();
  return info.isDirectory && !info.isSymlink && (uid === null || info.uid === uid) &&
    (info.mode === null || (info.mode & 0o077) === 0);
}

function downloads(): string {
  if (folder !== undefined) return folder;
  const shared = join(systemTemp(), NAME);
  try {
    Deno.mkdirSync(shared, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  // A folder this thread cannot trust gets a private one instead (removed with the process only if in the main thread).
  return folder = isOwnFolder(shared) ? shared : Deno.makeTempDirSync({ prefix: `${NAME}-` });
}

function removeDownloads(): void {
  try {
    const path = folder ?? join(systemTemp(), NAME);
    if (isOwnFolder(path)) Deno.removeSync(path, { recursive: true });
  } catch {
    // nothing was downloaded, or the process may no longer write there: nothing to remove
  }
}

const isWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
if (!isWorker) globalThis.addEventListener("unload", removeDownloads);

/**
 * The path of an object on this machine.
 *
 * @param store The bucket's store.
 * @param bucket The bucket's name.
 * @param key The object's key.
 * @returns The real path of a local object, or of a downloaded copy.
 * @throws {GlacierError} `USER:OBJECT_NOT_FOUND` when the object is missing, as the store reports it.
 * @throws {GlacierError} `USER:PATH_OUTSIDE_BUCKET` when a local key resolves out of its bucket through a link.
 */
export async function localPath(store: ObjectStore, bucket: string, key: string): Promise<string> {
  if (store instanceof LocalStore) {
    // exists() resolves links and refuses a path out of the bucket; get()
    // gives the store's own error for a missing object or a folder.
    if (!(await store.exists(bucket, key))) await store.get(bucket, key);
    return await Deno.realPath(store.path(bucket, key));
  }
  const bytes = await store.get(bucket, key);
  const name = key.slice(key.lastIndexOf("/") + 1).replace(/[^\w.-]/g, "_") || "object";
  const path = join(downloads(), `${crypto.randomUUID().slice(0, 8)}-${name}`);
  await Deno.writeFile(path, bytes, { mode: 0o600 });
  return path;
}
