/**
 * Writing generated files: all of them or none. The files are written into a
 * fresh folder next to the output folder, which then replaces it, so a
 * failure never leaves a half-written output folder behind.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { GlacierError } from "../errors.ts";

/** The file that marks a folder as Glacier's generated output. */
export const MARKER = ".glacier-generated";
const MARKER_TEXT = "Written by Glacier (generate or deploy); the whole folder is replaced on each run.\n";

async function ensureReplaceable(outputDir: string, target: string): Promise<void> {
  let entries: string[];
  try {
    entries = [];
    for await (const entry of Deno.readDir(target)) entries.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new GlacierError(
      "USER:OUTPUT_DIR",
      `Cannot write the generated files to ${JSON.stringify(outputDir)}: ${
        (error as Error).message
      }; give a folder path`,
      { cause: error },
    );
  }
  if (entries.length === 0 || entries.includes(MARKER)) return;
  throw new GlacierError(
    "USER:OUTPUT_DIR",
    `Cannot write the generated files to ${
      JSON.stringify(outputDir)
    }: the folder is not empty and was not written by Glacier; choose a new or empty folder`,
  );
}

/** Generated files: a path relative to the output folder (with `/`), to its text. */
export type GeneratedFiles = Record<string, string>;

/**
 * Writes files into `outputDir` atomically: they are written to a temporary
 * sibling folder, then the old folder (if any) is moved aside and the new one
 * renamed into place. A folder Glacier wrote before (it holds the
 * `.glacier-generated` marker) is replaced whole; any other non-empty folder
 * is refused, so a mistyped `outputDir` never deletes anyone's files.
 *
 * @param outputDir The folder to (re)create.
 * @param files The files.
 * @returns The absolute paths written, sorted.
 * @throws {TypeError} When a path leaves the output folder.
 * @throws {GlacierError} When the folder is not empty and not Glacier's, or cannot be written (`USER:OUTPUT_DIR`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFilesAtomically } from "./write_files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFilesAtomically(`${dir}/out`, { "main.tf": "# hi\n" });
 * assert.ok((await Deno.readTextFile(`${dir}/out/main.tf`)) === "# hi\n");
 * ```
 */
export async function writeFilesAtomically(outputDir: string, files: GeneratedFiles): Promise<string[]> {
  const target = resolve(outputDir);
  for (const path of Object.keys(files)) {
    if (path.startsWith("/") || path.split("/").some((p) => p === ".." || p === "")) {
      throw new TypeError(`Generated file path ${JSON.stringify(path)} must stay inside the output folder`);
    }
  }
  await ensureReplaceable(outputDir, target);
  const parent = dirname(target);
  const stamp = `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
  const temp = join(parent, `.${basename(target)}.tmp-${stamp}`);
  const old = join(parent, `.${basename(target)}.old-${stamp}`);
  try {
    await Deno.mkdir(temp, { recursive: true });
    await Deno.writeTextFile(join(temp, MARKER), MARKER_TEXT);
    for (const [path, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const full = join(temp, path);
      await Deno.mkdir(dirname(full), { recursive: true });
      await Deno.writeTextFile(full, text);
    }
    let existed = false;
    try {
      await Deno.rename(target, old);
      existed = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    try {
      await Deno.rename(temp, target);
    } catch (error) {
      if (existed) await Deno.rename(old, target);
      throw error;
    }
    if (existed) await Deno.remove(old, { recursive: true });
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw new GlacierError(
      "USER:OUTPUT_DIR",
      `Cannot write the generated files to ${JSON.stringify(outputDir)}: ${
        (error as Error).message
      }; check that its parent folder exists and is writable`,
      { cause: error },
    );
  }
  return Object.keys(files).sort().map((p) => join(target, p));
}
