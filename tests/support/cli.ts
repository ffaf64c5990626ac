// The `glacier` command as a user runs it, in its own process, for the tests
// of the command line: Glacier's config, no colours, output captured.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This repository's root. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What one command printed, and how it exited. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `glacier <args>` (`deno run -A cli.ts`) and waits for it.
 *
 * @param args The command's arguments.
 * @param options Where it runs (default: the repository) and extra environment variables.
 * @returns Its exit code and output.
 */
export async function glacier(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(ROOT, "deno.json"), join(ROOT, "cli.ts"), ...args],
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
