// The project folder that holds a module: the nearest folder with a
// deno.json, else the module's own folder. A narrowed worker's imports are
// listed from there (`deno info`); remote executors map it to where the
// project lives on the remote machine; `analyze --trace` lets its sandbox read
// it; a pipeline's `.glacier/` (run reports, cache, checkpoints, builds) and a
// local provider's relative `root` are there, wherever the shell's cwd is.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const roots = new Map<string, string>();

export function projectRoot(file: string): string {
  const start = dirname(file);
  let root = roots.get(start);
  if (root) return root;
  root = start;
  for (let dir = start;; dir = dirname(dir)) {
    if (["deno.json", "deno.jsonc"].some((name) => exists(join(dir, name)))) {
      root = dir;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  roots.set(start, root);
  return root;
}

/**
 * The project folder of a module URL; the working directory for a module
 * that is not a local file (or none: code typed at a REPL).
 */
export function projectDir(module: string | undefined): string {
  return module?.startsWith("file:") ? projectRoot(fileURLToPath(module)) : Deno.cwd();
}

/** The `.glacier/` folder of a pipeline module's project. */
export function glacierDir(module: string | undefined): string {
  return join(projectDir(module), ".glacier");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
