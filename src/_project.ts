// The project folder that holds a module: the nearest folder with a
// deno.json. A narrowed worker's imports are listed from there (`deno info`);
// remote executors map it to where the project lives on the remote machine;
// `analyze --trace` lets its sandbox read it.
import { dirname, join } from "node:path";

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

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
