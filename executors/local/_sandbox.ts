// What a narrowed task's worker is started with. Deno grants a path as given
// and follows links when it opens a file, so two things are done here that
// Deno does not do (worker permissions have no deny list, and a CLI
// --deny-read is bypassed by a link just the same):
//
// - Links out of a granted folder are refused before the task runs: every
//   granted folder is walked once per permission set and pool, and a link
//   whose real target lies outside every path granted for that access fails
//   the task. A narrowed task cannot make a new link itself (Deno.symlink
//   needs unscoped read and write).
// - The worker reads exactly the files of its task module's import graph
//   (listed once per module with `deno info`), not the project folder, which
//   holds `.env` files, `.glacier/` caches and data. Its own entry
//   (worker.ts and its imports) is loaded by this process and needs no grant.
import { fileURLToPath } from "node:url";
import { basename, join, resolve } from "node:path";
import { GlacierError } from "../../src/errors.ts";
import { isInside, realPathLoose } from "../../src/_real_path.ts";
import type { TaskPermissions } from "../../src/task.ts";
import { projectRoot } from "../../src/_project.ts";

/** A link that leads out of what a permission grants. */
export interface Escape {
  /** `"read"` or `"write"`. */
  readonly access: "read" | "write";
  /** The granted folder the link is in (real path). */
  readonly granted: string;
  /** The link. */
  readonly link: string;
  /** Where it resolves. */
  readonly target: string;
}

/** The worker permissions for a narrowed task, or the first link that escapes them. */
export type Narrowed = { permissions: Deno.PermissionOptionsObject; escape?: undefined } | {
  permissions?: undefined;
  escape: Escape;
};

const NONE: Deno.PermissionOptionsObject = {
  env: false,
  ffi: false,
  net: false,
  read: false,
  run: false,
  sys: false,
  write: false,
  import: false,
};

type PathGrant = Deno.PermissionOptionsObject["read"];

/**
 * Checks a narrowed permission set for links out of its granted folders and
 * gives each granted path its real path too (a grant on a linked folder, such
 * as macOS's `/tmp`, also covers what the task sees through `Deno.realPath`).
 */
export async function checkGrants(permissions: Exclude<TaskPermissions, "inherit">): Promise<Narrowed> {
  const base = permissions === "none" ? NONE : permissions;
  const out: Deno.PermissionOptionsObject = { ...base };
  for (const access of ["read", "write"] as const) {
    const grant = base[access];
    if (!Array.isArray(grant)) continue;
    const given = grant.map((p) => p instanceof URL ? fileURLToPath(p) : resolve(p));
    const roots = [...new Set(await Promise.all(given.map((p) => realPathLoose(p))))];
    const escape = await findEscape(access, roots);
    if (escape) return { escape };
    out[access] = [...new Set([...given, ...roots])];
  }
  return { permissions: out };
}

/**
 * Adds read access to the files a worker imports to find the task: its
 * module's import graph. Nothing else of the project is readable unless the
 * task granted it (a `.env` it lists explicitly, say).
 */
export function withModuleFiles(permissions: Deno.PermissionOptionsObject, files: string[]): PathGrant {
  const read = permissions.read;
  if (read === true || read === "inherit") return read;
  return [...new Set([...(Array.isArray(read) ? read : []), ...files])];
}

/**
 * The local files of a module's import graph, from `deno info --json`, run in
 * the module's project folder so its import map applies. A bare specifier
 * that this project cannot resolve is resolved with this process's import
 * map; a local file it names is listed with its own graph.
 *
 * @throws {GlacierError} `USER:MODULE_GRAPH` when `deno info` cannot run.
 */
export async function moduleFiles(module: string): Promise<string[]> {
  const files = new Set<string>();
  const pending = [module];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const m of await denoInfo(next)) {
      if (!m.specifier.startsWith("file:")) continue;
      const file = m.local ?? fileURLToPath(m.specifier);
      if (!/^\.env/.test(basename(file))) files.add(file); // never implicitly, even if imported as text
      for (const dep of m.dependencies ?? []) {
        const unresolved = dep.code?.error !== undefined || dep.type?.error !== undefined;
        if (!unresolved || /^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(dep.specifier)) continue;
        try {
          const url = import.meta.resolve(dep.specifier);
          if (url.startsWith("file:") && !files.has(fileURLToPath(url))) pending.push(url);
        } catch { /* not in this process's import map either: the worker will say so */ }
      }
    }
  }
  return [...files].sort();
}

interface InfoModule {
  specifier: string;
  local?: string;
  dependencies?: { specifier: string; code?: { error?: string }; type?: { error?: string } }[];
}

async function denoInfo(module: string): Promise<InfoModule[]> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", module],
      cwd: projectRoot(fileURLToPath(module)),
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new GlacierError(
      "USER:MODULE_GRAPH",
      `Cannot list the modules ${JSON.stringify(module)} imports with "deno info" (${
        (error as Error).message
      }): a task with "permissions" is given read access to exactly those; run with --allow-run, or leave "permissions" out to inherit the process's`,
      { cause: error },
    );
  }
  if (!out.success) {
    throw new GlacierError(
      "USER:MODULE_GRAPH",
      `Cannot list the modules ${JSON.stringify(module)} imports: "deno info" failed (${
        new TextDecoder().decode(out.stderr).trim().slice(0, 500)
      }); fix the module so "deno info" accepts it, or leave "permissions" out to inherit the process's`,
    );
  }
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] }).modules;
}

// Walks each granted folder (not following links) for a link whose real
// target lies outside every root granted for the same access.
async function findEscape(access: "read" | "write", roots: string[]): Promise<Escape | undefined> {
  if (roots.includes("/")) return undefined; // everything is inside
  const outside = (path: string) => !roots.some((root) => isInside(path, root));
  // A root inside another is walked as part of it.
  const walked = roots.filter((r) => !roots.some((o) => o !== r && isInside(r, o)));
  for (const root of walked) {
    if (!(await Deno.lstat(root).catch(() => undefined))?.isDirectory) continue;
    const folders = [root];
    while (folders.length > 0) {
      const dir = folders.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch {
        continue; // unreadable to this process: unreadable to the worker too
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory) folders.push(path);
        else if (entry.isSymlink) {
          const target = await realPathLoose(path);
          if (outside(target)) return { access, granted: root, link: path, target };
        }
      }
    }
  }
  return undefined;
}
