// The project files a VM task needs, copied to the VM's remoteDir over SSH
// before its first task: the task module's graph and the remote runner's, as
// `deno info` lists them, with the project's deno.json, deno.lock and
// package.json. Only files under the project root are copied (the ones the
// executor maps under remoteDir); remote modules and npm packages are
// fetched by Deno on the VM. The copy is a tar stream with fixed times, so
// the same files give the same bytes: its SHA-256 is written beside it
// (`.glacier/vm-sync`) and a VM that already holds it is not sent it again.
import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { GlacierError } from "../../src/errors.ts";

/** Where the stamp of the last copy is, under remoteDir. */
export const SYNC_STAMP = ".glacier/vm-sync";

const CONFIG_FILES = ["deno.json", "deno.jsonc", "deno.lock", "package.json"];

/**
 * The files under `root` the modules need, relative to it with `/`, sorted.
 *
 * @param modules Module URLs; only `file:` ones under `root` are followed.
 * @param root The project root.
 * @param deno The Deno that lists the graphs.
 * @returns The paths.
 * @throws {GlacierError} `USER:VM_SYNC` when `deno info` cannot read a module's graph.
 */
export async function projectFiles(
  modules: readonly string[],
  root: string,
  deno = Deno.execPath(),
): Promise<string[]> {
  const files = new Set<string>();
  const under = (path: string) => {
    const rel = relative(root, path);
    if (rel && !rel.startsWith("..") && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel)) {
      files.add(rel.split(sep).join("/"));
    }
  };
  for (const module of modules) {
    if (!module.startsWith("file:")) continue;
    const out = await new Deno.Command(deno, {
      args: ["info", "--json", fileURLToPath(module)],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      throw new GlacierError(
        "USER:VM_SYNC",
        `Cannot list the modules of ${module} to copy them to the VM: ${
          new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
        }`,
      );
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
    for (const m of info.modules) if (m.specifier.startsWith("file:")) under(fileURLToPath(m.specifier));
  }
  for (const name of CONFIG_FILES) {
    try {
      if ((await Deno.stat(`${root}/${name}`)).isFile) files.add(name);
    } catch {
      // not in this project
    }
  }
  return [...files].sort();
}

// 2000-01-01: fixed times keep the stream the same for the same files.
const MTIME = 946_684_800;

/**
 * A ustar archive of the files (regular files, mode 0644).
 *
 * @param root The folder the paths are relative to.
 * @param paths Relative paths with `/`.
 * @returns The archive.
 * @throws {GlacierError} `USER:VM_SYNC` for a path ustar cannot hold (a name part over 100 bytes).
 */
export async function tarOf(root: string, paths: readonly string[]): Promise<Uint8Array> {
  const utf8 = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const path of paths) {
    const data = await Deno.readFile(`${root}/${path}`);
    const header = new Uint8Array(512);
    const put = (offset: number, length: number, text: string) => {
      const bytes = utf8.encode(text);
      header.set(bytes.subarray(0, length), offset);
    };
    const octal = (offset: number, length: number, n: number) =>
      put(offset, length, n.toString(8).padStart(length - 1, "0") + "\0");
    const [prefix, name] = splitPath(path);
    put(0, 100, name);
    octal(100, 8, 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, data.length);
    octal(136, 12, MTIME);
    header.fill(0x20, 148, 156); // the checksum counts its own field as spaces
    put(156, 1, "0");
    put(257, 6, "ustar\0");
    put(263, 2, "00");
    put(345, 155, prefix);
    let sum = 0;
    for (const b of header) sum += b;
    put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    chunks.push(header, data, new Uint8Array((512 - data.length % 512) % 512));
  }
  chunks.push(new Uint8Array(1024));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ustar keeps a name in 100 bytes and a folder prefix in 155.
function splitPath(path: string): [string, string] {
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  if (bytes(path) <= 100) return ["", path];
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i), name = path.slice(i + 1);
    if (bytes(prefix) <= 155 && bytes(name) <= 100) return [prefix, name];
  }
  throw new GlacierError(
    "USER:VM_SYNC",
    `Cannot copy ${path} to the VM: its path is too long for a tar archive (a name part over 100 bytes or a folder over 155)`,
  );
}

/**
 * The hex SHA-256 of an archive: the stamp of a copy.
 *
 * @param archive The archive.
 * @returns The digest.
 */
export async function stampOf(archive: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", archive as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
