// Refuses JSDoc examples that cannot fail: `console.assert` only prints, so a
// false claim in an example still passes `deno test --doc`. Examples assert
// with node:assert/strict. Run by `deno task check`.
import { join, relative } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const SKIP =
  /^(\.git|\.glacier|data|node_modules|examples\/infra|examples\/deploy|tests\/fixtures\/codegen\/golden)(\/|$)/;

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (SKIP.test(relative(ROOT, path))) continue;
    if (entry.isDirectory) yield* sources(path);
    else if (/\.(ts|tsx)$/.test(entry.name)) yield path;
  }
}

/** Each `file:line` whose JSDoc example uses console.assert. */
export async function findConsoleAsserts(root = ROOT): Promise<string[]> {
  const found: string[] = [];
  for await (const path of sources(root)) {
    const lines = (await Deno.readTextFile(path)).split("\n");
    let inExample = false;
    lines.forEach((line, i) => {
      if (/^\s*\*\s*```(ts|js|typescript|javascript)?\s*$/.test(line)) inExample = !inExample;
      else if (inExample && line.includes("console.assert")) found.push(`${relative(root, path)}:${i + 1}`);
    });
  }
  return found;
}

if (import.meta.main) {
  const found = await findConsoleAsserts();
  if (found.length) {
    console.error(
      `console.assert never fails a doc test; assert with node:assert/strict in these examples:\n${
        found.map((f) => `  ${f}`).join("\n")
      }`,
    );
    Deno.exit(1);
  }
}
