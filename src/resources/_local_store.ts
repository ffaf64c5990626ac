// The local folder store: bucket `lake`, key `raw/x.csv` is `<root>/lake/raw/x.csv`.
// Every access resolves links first and refuses a key whose real path leaves
// the bucket folder: `checkKey` stops `..`, this stops a symbolic link inside
// the bucket (an unpacked archive can hold one) pointing out of it.
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { GlacierError } from "../errors.ts";
import { isNotFound, writeFileAtomic } from "../_fs.ts";
import { isInside, realPathLoose } from "../_real_path.ts";
import { checkKey, type ObjectStore } from "./object_store.ts";

export class LocalStore implements ObjectStore {
  readonly scheme = "file";
  readonly root: string;
  readonly #folders = new Map<string, string>();

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
    const real = await this.#resolve(bucket, key, "read");
    try {
      return await Deno.readFile(real);
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
    // Written beside the real parent and renamed over the entry: never through a link.
    const path = this.path(bucket, key);
    const folder = await this.#folder(bucket);
    const parent = await realPathLoose(dirname(path));
    this.#refuseOutside(parent, folder, bucket, key, "write");
    const entry = join(parent, basename(path));
    if ((await Deno.lstat(entry).catch(() => undefined))?.isSymlink) {
      this.#refuseOutside(await realPathLoose(entry), folder, bucket, key, "write");
    }
    await writeFileAtomic(entry, data);
  }

  /**
   * The folder `prefix` lists from (the prefix itself when it ends in `/`),
   * when it does not exist.
   */
  async missingFolder(bucket: string, prefix: string): Promise<string | undefined> {
    const folder = this.path(bucket, prefix.slice(0, prefix.lastIndexOf("/") + 1));
    return (await Deno.stat(folder).catch(() => undefined))?.isDirectory ? undefined : folder;
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const start = this.path(bucket, prefix);
    const folder = await this.#folder(bucket);
    const real = await realPathLoose(start);
    this.#refuseOutside(real, folder, bucket, prefix, "list");
    const info = await Deno.stat(real).catch(() => undefined);
    if (info?.isFile) return [prefix];
    // A prefix can end mid-name (`raw/2024-`): walk from its folder. Keys are
    // named from that folder's key, so a link inside the bucket keeps its name.
    const fromKey = info?.isDirectory
      ? (prefix === "" || prefix.endsWith("/") ? prefix : prefix + "/")
      : prefix.slice(0, prefix.lastIndexOf("/") + 1);
    const from = info?.isDirectory ? real : await realPathLoose(join(this.root, bucket, fromKey));
    this.#refuseOutside(from, folder, bucket, fromKey, "list");
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
        if (entry.isDirectory) {
          await walk(full);
          continue;
        }
        if (/\.tmp-[0-9a-f]{8}$/.test(entry.name)) continue;
        const key = fromKey + relative(from, full).split(sep).join("/");
        if (!key.startsWith(prefix)) continue;
        if (entry.isFile) keys.push(key);
        else if (entry.isSymlink) {
          // Only links are resolved (one call each), not every file of a big listing.
          // A link to a folder inside the bucket is not followed: its objects are
          // listed where they are, and a link to an ancestor cannot loop.
          this.#refuseOutside(await realPathLoose(full), folder, bucket, key, "list");
          if ((await Deno.stat(full).catch(() => undefined))?.isFile) keys.push(key);
        }
      }
    };
    await walk(from);
    return keys.sort();
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    const real = await this.#resolve(bucket, key, "check");
    const info = await Deno.stat(real).catch(() => undefined);
    return info?.isFile ?? false;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.#resolve(bucket, key, "delete");
    // The entry itself is removed (a link, not what it points to), at its real place.
    const path = this.path(bucket, key);
    const entry = join(await realPathLoose(dirname(path)), basename(path));
    await Deno.remove(entry).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
  }

  // The bucket folder's real path: the root or the bucket folder may itself be
  // a link the user set up (a bigger disk); what matters is what lies below.
  // Kept once the folder exists: if it is swapped for a link later, objects
  // resolve outside the kept path and are refused, never let through.
  async #folder(bucket: string): Promise<string> {
    const known = this.#folders.get(bucket);
    if (known) return known;
    const path = join(this.root, bucket);
    const real = await realPathLoose(path);
    if (await Deno.stat(path).then((info) => info.isDirectory, () => false)) this.#folders.set(bucket, real);
    return real;
  }

  // The real path of an object, refused when it lies outside the bucket folder.
  async #resolve(bucket: string, key: string, action: string): Promise<string> {
    const path = this.path(bucket, key);
    const [folder, real] = await Promise.all([this.#folder(bucket), realPathLoose(path)]);
    this.#refuseOutside(real, folder, bucket, key, action);
    return real;
  }

  #refuseOutside(real: string, folder: string, bucket: string, key: string, action: string): void {
    if (isInside(real, folder)) return;
    throw new GlacierError(
      "USER:PATH_OUTSIDE_BUCKET",
      `Cannot ${action} ${JSON.stringify(this.uri(bucket, key))}: it resolves to ${
        JSON.stringify(real)
      } through a symbolic link, outside the bucket folder ${
        JSON.stringify(folder)
      }; remove the link, or copy the data into the bucket`,
    );
  }
}
