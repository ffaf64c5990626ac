/**
 * Skipped lines: how many CSV rows `Bucket.scan({ skipBadLines: true })`
 * dropped, kept per task call for its run report (`TaskReport.skippedLines`).
 *
 * A scan only builds a lazy frame, so what it drops is known only once the
 * file is read. Inside a task call of a run, the scan starts a count of the
 * rows it drops at once (polars' own thread pool, beside the task's work; one
 * more read of the file); the executor that ran the call waits for the counts
 * when the task returns and hands them on with its value
 * (`TaskInvocation.onSkippedLines`). Outside a run nothing is counted.
 *
 * Where a call runs (this process, a pool worker, a narrowed subprocess) its
 * counter is a scope around the call ({@linkcode withSkippedLines}), like its
 * task log and data root: nothing process-wide changes.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** Rows dropped by `skipBadLines`, by the URI of the object they were in. */
export type SkippedLines = Record<string, number>;

/** The counts of one task call, as its scans note them. */
export class SkippedLineCounter {
  readonly #pending = new Map<string, Promise<number | undefined>>();

  /**
   * Notes the count of one scanned object. A second scan of the same object
   * in the call replaces the first (it drops the same rows).
   *
   * @param uri The object's URI.
   * @param count Resolves to the rows dropped; a count that fails is left out.
   */
  note(uri: string, count: Promise<number>): void {
    // Caught here: a count that fails (the file went away) must not be an unhandled rejection.
    this.#pending.set(uri, count.then((n) => n, () => undefined));
  }

  /** Whether no scan noted a count (nothing to wait for). */
  get empty(): boolean {
    return this.#pending.size === 0;
  }

  /**
   * The counts, once every noted one is known.
   *
   * @returns The counts by URI, or undefined when no scan of the call skipped bad lines.
   */
  async settle(): Promise<SkippedLines | undefined> {
    if (this.#pending.size === 0) return undefined;
    const counts: SkippedLines = {};
    for (const [uri, pending] of this.#pending) {
      const n = await pending;
      if (n !== undefined) counts[uri] = n;
    }
    return Object.keys(counts).length ? counts : undefined;
  }
}

const scope = new AsyncLocalStorage<SkippedLineCounter>();

/**
 * Calls `fn` with the scans it makes (also in what it awaits) noting their
 * skipped lines in `counter`; with no counter, calls it as is.
 *
 * @param counter The call's counter, or undefined.
 * @param fn What to call.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentSkippedLines, SkippedLineCounter, withSkippedLines } from "./skipped_lines.ts";
 * const counter = new SkippedLineCounter();
 * withSkippedLines(counter, () => currentSkippedLines()?.note("file:///x.csv", Promise.resolve(2)));
 * assert.deepEqual(await counter.settle(), { "file:///x.csv": 2 });
 * assert.equal(currentSkippedLines(), undefined);
 * ```
 */
export function withSkippedLines<T>(counter: SkippedLineCounter | undefined, fn: () => T): T {
  return counter === undefined ? fn() : scope.run(counter, fn);
}

/**
 * The counter of the task call running now, if it runs in a run.
 *
 * @returns The counter, or undefined.
 */
export function currentSkippedLines(): SkippedLineCounter | undefined {
  return scope.getStore();
}
