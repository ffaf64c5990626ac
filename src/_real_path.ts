// Real paths for containment checks. Deno checks a permission and the OS
// opens a file by the path as given, so a symbolic link inside a granted
// folder (or a bucket folder) reaches wherever it points: every check that a
// path stays inside a folder must compare real paths.
import { basename, dirname, join, resolve, sep } from "node:path";

// Links followed by hand (dangling ones) before giving up, as the OS does.
const MAX_LINKS = 40;

/**
 * The real path of `path`, links resolved; for a path that does not exist
 * yet (a folder a task will create, the target of a dangling link), the real
 * path of its deepest existing ancestor joined with the rest — where a write
 * to it would land. A path that cannot be resolved (a link loop, a folder
 * this process may not read) is returned absolute but unresolved.
 */
export async function realPathLoose(path: string, links = 0): Promise<string> {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(await Deno.realPath(at), ...rest);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return join(at, ...rest);
    }
    const info = await Deno.lstat(at).catch(() => undefined);
    if (info?.isSymlink && links < MAX_LINKS) {
      const target = resolve(dirname(at), await Deno.readLink(at));
      return await realPathLoose(join(target, ...rest), links + 1);
    }
    const parent = dirname(at);
    if (parent === at) return join(at, ...rest);
    rest.unshift(basename(at));
    at = parent;
  }
}

/** Whether `path` is `folder` or inside it; both absolute and real. */
export function isInside(path: string, folder: string): boolean {
  if (path === folder || folder === sep) return true;
  return path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}
