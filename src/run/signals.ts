/**
 * Clean stops: while a run goes, SIGINT (Ctrl-C) and SIGTERM (what systemd,
 * cron wrappers, CI and `kill` send) stop it instead of killing the process
 * mid-write. The first signal asks the run to stop (it stops dispatching,
 * terminates workers, kills task processes, writes its report and exits
 * 130 or 143); a second one, or the run not ending within
 * {@linkcode STOP_GRACE_MS}, exits at once. Finished work is safe either way:
 * it is in the run's journal and checkpoints as each call ends.
 *
 * @module
 */

/** A signal that stops a run, with the exit code a shell expects after it. */
export interface StopSignal {
  /** `SIGINT` or `SIGTERM`. */
  readonly name: "SIGINT" | "SIGTERM";
  /** 128 + the signal's number: 130 or 143. */
  readonly exitCode: number;
}

/** How long a stopping run may take to write its report before the process exits anyway. */
export const STOP_GRACE_MS = 10_000;

const SIGNALS: readonly StopSignal[] = [
  { name: "SIGINT", exitCode: 130 },
  { name: "SIGTERM", exitCode: 143 },
];

/**
 * Listens for SIGINT and SIGTERM until the returned function is called.
 *
 * @param handler `stop` is called once, on the first signal.
 * @returns Stops listening.
 */
export function onStopSignals(handler: { stop(signal: StopSignal): void }): () => void {
  const listeners: [StopSignal, () => void][] = [];
  let first: StopSignal | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  for (const signal of SIGNALS) {
    // Windows has SIGINT (Ctrl-C) and SIGBREAK only.
    if (Deno.build.os === "windows" && signal.name !== "SIGINT") continue;
    const listener = () => {
      if (first) {
        console.error(`glacier: ${signal.name} again: exiting now`);
        Deno.exit(signal.exitCode);
      }
      first = signal;
      grace = setTimeout(() => {
        console.error(
          `glacier: the run did not stop within ${STOP_GRACE_MS / 1000} s of ${signal.name}: exiting`,
        );
        Deno.exit(signal.exitCode);
      }, STOP_GRACE_MS);
      Deno.unrefTimer(grace);
      handler.stop(signal);
    };
    Deno.addSignalListener(signal.name, listener);
    listeners.push([signal, listener]);
  }
  return () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal.name, listener);
    if (grace !== undefined) clearTimeout(grace);
  };
}
