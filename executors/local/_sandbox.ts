// What a narrowed task's subprocess is started with (`_subprocess.ts` runs
// it). Deno grants a path as given and follows links when it opens a file,
// so two things are done here that Deno does not do (a --deny-read is
// bypassed by a link just the same):
//
// - Links out of a granted folder are refused before the task runs: every
//   granted folder is walked once per permission set and pool, and a link
//   whose real target lies outside every path granted for that access fails
//   the task. A narrowed task cannot make a new link itself (Deno.symlink
//   needs unscoped read and write).
// - The subprocess reads exactly the files of its entry's and its task
//   module's import graphs (listed once per module with `deno info`), not
//   the project folder, which holds `.env` files, `.glacier/` caches and
//   data; a `.env*` file in the project folder or a granted folder is denied
//   unless the task lists it. It may import from exactly the hosts those
//   graphs were loaded from (a JSR registry, say), plus what the task grants.
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
 * The local files of a module's import graph, from `deno info --json`, run in
 * the module's project folder so its import map applies. A bare specifier
 * that this project cannot resolve is resolved with this process's import
 * map; a local file it names is listed with its own graph.
 *
 * @throws {GlacierError} `USER:MODULE_GRAPH` when `deno info` cannot run.
 */
export async function moduleFiles(module: string): Promise<string[]> {
  return (await moduleGraph(module)).files;
}

/**
 * The local files of a module's import graph (as {@linkcode moduleFiles})
 * and the hosts of its remote modules (`host[:port]`, as `--allow-import`
 * takes them): what a narrowed subprocess must be able to load.
 *
 * @throws {GlacierError} `USER:MODULE_GRAPH` when `deno info` cannot run.
 */
export async function moduleGraph(module: string): Promise<{ files: string[]; hosts: string[] }> {
  const files = new Set<string>();
  const hosts = new Set<string>();
  const pending = [module];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const m of await denoInfo(next)) {
      const host = remoteHost(m.specifier);
      if (host) hosts.add(host);
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
  return { files: [...files].sort(), hosts: [...hosts].sort() };
}

/** The `host[:port]` of an http(s) module URL, as `--allow-import` takes it. */
export function remoteHost(url: string): string | undefined {
  if (!/^https?:/.test(url)) return undefined;
  const { hostname, port, protocol } = new URL(url);
  return `${hostname}:${port || (protocol === "https:" ? "443" : "80")}`;
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
      cwd: module.startsWith("file:") ? projectRoot(fileURLToPath(module)) : Deno.cwd(),
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

const NAMES = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

/** What a narrowed subprocess needs beyond its task's grants, to load Glacier and the task. */
export interface Loading {
  /** Files it must read: Glacier's modules and the task module's graph. */
  readonly read: readonly string[];
  /** Hosts it must import from: where Glacier and the task's modules were loaded from. */
  readonly import: readonly string[];
  /** Files it must not read though a granted folder holds them (`.env*` files it did not list). */
  readonly denyRead: readonly string[];
}

/**
 * The stable `deno run` flags for a narrowed permission set: `true` is
 * `--allow-<name>`, a list is `--allow-<name>=<list>`, `false` (or a missing
 * field, as for a worker) grants nothing, and `"inherit"` is this process's
 * state of that permission (granted in full, or nothing: Deno cannot list a
 * partial grant). What the subprocess needs to load is added: read access to
 * `loading.read`, import access to `loading.import`.
 *
 * @throws {TypeError} When a granted value holds a comma, which a Deno flag cannot carry.
 */
export function permissionFlags(permissions: Deno.PermissionOptionsObject, loading: Loading): string[] {
  const flags: string[] = [];
  for (const name of NAMES) {
    let grant: unknown = permissions[name] ?? false;
    if (grant === "inherit") grant = Deno.permissions.querySync({ name }).state === "granted";
    const extra = name === "read" ? loading.read : name === "import" ? loading.import : [];
    if (grant === true) {
      flags.push(`--allow-${name}`);
      continue;
    }
    const list = [...new Set([...(Array.isArray(grant) ? grant : []), ...extra].map(flagValue))];
    for (const value of list) {
      if (value.includes(",")) {
        throw new TypeError(
          `Cannot grant ${name} access to ${
            JSON.stringify(value)
          }: a narrowed task runs in a subprocess and a Deno permission flag cannot hold a comma; rename it, or leave "permissions" out to inherit the process's`,
        );
      }
    }
    if (list.length > 0) flags.push(`--allow-${name}=${list.join(",")}`);
    // Deno allows a default list of hosts when no --allow-import is given.
    else if (name === "import") flags.push("--deny-import");
  }
  if (loading.denyRead.length > 0) flags.push(`--deny-read=${loading.denyRead.join(",")}`);
  return flags;
}

function flagValue(value: unknown): string {
  return value instanceof URL ? fileURLToPath(value) : String(value);
}

/**
 * The `.env*` files a narrowed task may not read though a folder it is
 * granted holds them: those directly in the project folder and in each
 * granted folder, unless the task lists the file itself. Nothing for
 * `read: true`, which grants everything.
 */
export async function envDenials(read: PathGrant, project: string): Promise<string[]> {
  if (!Array.isArray(read)) return [];
  const listed = new Set(read.map((p) => p instanceof URL ? fileURLToPath(p) : resolve(p)));
  const folders = new Set([project]);
  for (const path of listed) {
    if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) folders.add(path);
  }
  const denied = new Set<string>();
  for (const folder of folders) {
    try {
      for await (const entry of Deno.readDir(folder)) {
        const path = join(folder, entry.name);
        if (/^\.env/.test(entry.name) && !listed.has(path)) denied.add(path);
      }
    } catch { /* unreadable: nothing to deny */ }
  }
  return [...denied].sort();
}
