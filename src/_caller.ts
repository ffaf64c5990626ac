// Finds the module that called into Glacier, from the stack: the first frame
// outside Glacier's own src/ folder and its entry (mod.ts, whose `pipeline`
// passes Glacier's wiring on). Workers re-import that module to find a task by
// name, so it must be the user's module, not ours.

const SRC = new URL("./", import.meta.url).href;
const ENTRY = new URL("../mod.ts", import.meta.url).href;

export function callerModule(): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder);
  Error.stackTraceLimit = limit;
  for (const line of (holder.stack ?? "").split("\n").slice(1)) {
    const match = line.match(/((?:file|https?|data|blob|jsr|npm):[^\s()]+?):\d+:\d+\)?\s*$/);
    if (!match) continue;
    const url = match[1];
    if (url.startsWith(SRC) || url === ENTRY) continue;
    return url;
  }
  return undefined;
}
