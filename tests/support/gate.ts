/**
 * A gate for tests that must catch a remote task while it runs: the task
 * writes `<gate>.started` (its process id) and waits until `<gate>` exists.
 *
 * @module
 */

/**
 * Marks the task as started and waits for the gate to open.
 *
 * @param gate The gate's path.
 */
export async function waitAtGate(gate: string): Promise<void> {
  await Deno.writeTextFile(`${gate}.started`, String(Deno.pid));
  for (;;) {
    try {
      await Deno.stat(gate);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * Waits until a file exists and returns its text, such as `<gate>.started`.
 *
 * @param path The file.
 * @returns Its text.
 */
export async function waitForFile(path: string): Promise<string> {
  for (;;) {
    try {
      return await Deno.readTextFile(path);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
