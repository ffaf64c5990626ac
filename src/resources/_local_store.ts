// The local folder store: bucket `lake`, key `raw/x.csv` is `<root>/lake/raw/x.csv`.
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { GlacierError } from "../errors.ts";
import { isNotFound, writeFileAtomic } from "../_fs.ts";
import { checkKey, type ObjectStore } from "./object_store.ts";

export class LocalStore implements ObjectStore {
  readonly scheme = "file";
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  path(bucket: string, key: string): string {
    checkKey(bucket, key);
    return join(this.root, bucket, ...key.split("/").filter(Boolean));
  }

  uri(bucket: string, key: string): string {
    const url = pathToFileURL(this.path(bucket, key)).href;
    return key.endsWith("/") && !url.endsWith("/") ? url + "/" : url;
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    try {
      return await Deno.readFile(this.path(bucket, key));
    } catch (error) {
      if (isNotFound(error)) {
        throw new GlacierError(
          "USER:OBJECT_NOT_FOUND",
          `No object at ${this.uri(bucket, key)}: check the bucket and path, or write it first`,
          { cause: error },
        );
      }
      if (error instanceof Deno.errors.IsADirectory) {
        throw new GlacierError(
          "USER:OBJECT_IS_PREFIX",
          `${
            this.uri(bucket, key)
          } is a folder, not an object: end the path with "/" to scan every object under it`,
        );
      }
      throw error;
    }
  }

  async put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(this.path(bucket, key), data);
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const base = join(this.root, bucket);
    const start = this.path(bucket, prefix);
    const keys: string[] = [];
    const walk = async (dir: string) => {
      let entries;
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (error) {
        if (isNotFound(error) || error instanceof Deno.errors.NotADirectory) return;
        throw error;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory) await walk(full);
        else if (entry.isFile && !/\.tmp-[0-9a-f]{8}$/.test(entry.name)) {
          const key = relative(base, full).split(sep).join("/");
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    // A prefix can end mid-name (`raw/2024-`): walk from its folder.
    const info = await Deno.stat(start).catch(() => undefined);
    if (info?.isFile) return [prefix];
    const from = info?.isDirectory ? start : join(start, "..");
    if (relative(base, from).startsWith("..")) return []; // the bucket folder itself is missing
    await walk(from);
    return keys.sort();
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    const info = await Deno.stat(this.path(bucket, key)).catch(() => undefined);
    return info?.isFile ?? false;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await Deno.remove(this.path(bucket, key)).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
  }
}
