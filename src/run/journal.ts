/**
 * A run's journal: each call's state as it changes, appended to
 * `.glacier/runs/<runId>.journal.jsonl`, one JSON line an entry, so a run
 * killed at any moment (SIGKILL, an out-of-memory kill, a power cut) still
 * says which calls finished and where their checkpointed outputs are. A
 * torn last line (the process died mid-write) is ignored on reading; every
 * line before it stands.
 *
 * `resume` reads the journal of the run it continues ({@linkcode readJournal}):
 * a call whose last entry is `done` with a checkpoint is restored from that
 * checkpoint, whichever run of the resume chain wrote it.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { isNotFound } from "../_fs.ts";

/** One state change of one call. */
export interface JournalEntry {
  /** The call-site id. */
  readonly node: string;
  /** Its new state. */
  readonly status: "running" | "done" | "cached" | "failed" | "skipped" | "interrupted";
  /** When, ISO 8601. */
  readonly at: string;
  /** The attempt, for `running` and `failed`. */
  readonly attempt?: number;
  /** For `done` / `cached`: the run whose checkpoints hold the output. */
  readonly checkpoint?: string;
  /** A small output's checkpoint itself (`inlineCheckpoint()` in cache.ts), instead of a file. */
  readonly inline?: string;
}

/** The journal file of a run. */
export function journalPath(runs: string, runId: string): string {
  return join(runs, `${runId}.journal.jsonl`);
}

/** Appends entries to one run's journal, in order, one write at a time. */
export class RunJournal {
  readonly #path: string;
  #file?: Promise<Deno.FsFile>;
  #tail: Promise<void> = Promise.resolve();
  #warned = false;
  #lines: string[] = [];
  #flush?: ReturnType<typeof setTimeout>;

  /**
   * @param runs The runs folder (`.glacier/runs`).
   * @param runId The run's id.
   */
  constructor(runs: string, runId: string) {
    this.#path = journalPath(runs, runId);
  }

  /**
   * Appends an entry. Entries of one turn of the event loop are written
   * together, in order, right after it (a run of thousands of calls makes
   * one write per turn, not one per entry); a write that fails warns once
   * and the run goes on (it is then not resumable from the entries lost).
   *
   * @param entry The state change, without its time.
   */
  append(entry: Omit<JournalEntry, "at">): void {
    this.#lines.push(JSON.stringify({ ...entry, at: new Date().toISOString() }) + "\n");
    this.#flush ??= setTimeout(() => this.#write(), 0);
  }

  #write(): void {
    this.#flush = undefined;
    if (this.#lines.length === 0) return;
    const line = new TextEncoder().encode(this.#lines.join(""));
    this.#lines = [];
    this.#tail = this.#tail.then(async () => {
      try {
        const file = await (this.#file ??= this.#open());
        // One write call a line: with O_APPEND a reader sees whole lines, or a torn last one.
        let written = 0;
        while (written < line.length) written += await file.write(line.subarray(written));
      } catch (error) {
        if (!this.#warned) {
          this.#warned = true;
          console.warn(
            `glacier: cannot write the run journal ${this.#path} (${
              (error as Error).message
            }); finished calls may run again on resume`,
          );
        }
      }
    });
  }

  async #open(): Promise<Deno.FsFile> {
    await Deno.mkdir(dirname(this.#path), { recursive: true });
    return await Deno.open(this.#path, { append: true, create: true });
  }

  /** Resolves when every entry appended so far is written; then closes the file. */
  async close(): Promise<void> {
    clearTimeout(this.#flush);
    this.#write();
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    if (file) (await file.catch(() => undefined))?.close();
  }
}

/**
 * Reads a run's journal: each call's last entry.
 *
 * @param runs The runs folder.
 * @param runId The run's id.
 * @returns The last entry of every call in it; empty when there is no journal.
 */
export async function readJournal(runs: string, runId: string): Promise<Map<string, JournalEntry>> {
  let text: string;
  try {
    text = await Deno.readTextFile(journalPath(runs, runId));
  } catch (error) {
    if (isNotFound(error)) return new Map();
    throw error;
  }
  const last = new Map<string, JournalEntry>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a torn line: the process died while writing it
    }
    if (typeof entry?.node === "string" && typeof entry.status === "string") last.set(entry.node, entry);
  }
  return last;
}
