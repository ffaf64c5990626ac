// `run()` is a no-op inside Glacier's own workers and whenever the glacier
// command imports a module to trace or build it, so scripts that call
// `await etl.run()` at top level need no `import.meta.main` guard.
const KEY = Symbol.for("glacier.suppressRuns");

export function suppressRuns(): void {
  (globalThis as Record<symbol, unknown>)[KEY] = true;
}

export function runsSuppressed(): boolean {
  return (globalThis as Record<symbol, unknown>)[KEY] === true;
}

export function allowRuns(): void {
  delete (globalThis as Record<symbol, unknown>)[KEY];
}
