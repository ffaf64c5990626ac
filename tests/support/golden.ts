// Golden files: generated output compared with a committed folder. Run with
// GLACIER_UPDATE_GOLDEN=1 to rewrite the folders after reviewing the change.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { MARKER, writeFilesAtomically } from "../../src/codegen/write_files.ts";
import { ROOT } from "./codegen_checks.ts";

async function readTree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) Object.assign(out, await readTree(dir, path));
    else if (entry.name !== MARKER) out[path] = await Deno.readTextFile(join(dir, path));
  }
  return out;
}

/** The project root relative to a folder under it, as generators write it. */
export function artifactRootFor(dir: string): string {
  return relative(join(ROOT, dir), ROOT) || ".";
}

/** Asserts `files` equal the committed folder `dir` (relative to the repository root). */
export async function assertGolden(dir: string, files: Record<string, string>): Promise<void> {
  const full = join(ROOT, dir);
  if (Deno.env.get("GLACIER_UPDATE_GOLDEN") === "1") await writeFilesAtomically(full, files);
  let committed: Record<string, string>;
  try {
    committed = await readTree(full);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    committed = {};
  }
  assert.deepEqual(
    Object.keys(committed).sort(),
    Object.keys(files).sort(),
    `${dir} is out of date with the generator: run GLACIER_UPDATE_GOLDEN=1 deno test -A tests/src/codegen/`,
  );
  for (const [name, text] of Object.entries(files)) {
    assert.equal(
      committed[name],
      text,
      `${dir}/${name} is out of date with the generator: run GLACIER_UPDATE_GOLDEN=1 deno test -A tests/src/codegen/`,
    );
  }
}
