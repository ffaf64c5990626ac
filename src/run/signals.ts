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

/** A run that stops on a signal: `stop` is called once, on the first signal. */
export interface Stoppable {
  stop(signal: StopSignal): void;
}

// One listener per signal for the whole process, however many runs go at
// once (a test suite, a service): installed while a run goes, removed when
// none does, so a process with no run left dies of a signal as it would
// without Glacier.
const active = new Set<Stoppable>();
const listeners = new Map<StopSignal, () => void>();
let received: StopSignal | undefined;

function onSignal(signal: StopSignal): void {
  if (received) {
    console.error(`glacier: ${signal.name} again: exiting now`);
    Deno.exit(signal.exitCode);
  }
  received = signal;
  const grace = setTimeout(() => {
    console.error(
      `glacier: the run did not stop within ${STOP_GRACE_MS / 1000} s of ${signal.name}: exiting`,
    );
    Deno.exit(signal.exitCode);
  }, STOP_GRACE_MS);
  Deno.unrefTimer(grace);
  for (const run of [...active]) run.stop(signal);
}

/**
 * Stops `run` on SIGINT or SIGTERM until the returned function is called.
 * After a signal, the process exits with its code (130, 143) once every run
 * that was going has called its release, or {@linkcode STOP_GRACE_MS} after
 * the signal, whichever is first.
 *
 * @param run Told to stop on the first signal.
 * @returns Releases the listener; call it once the run has written its report (a `finally`).
 */
export function onStopSignals(run: Stoppable): () => void {
  if (received) {
    // A run started while the process is stopping stops at once.
    queueMicrotask(() => run.stop(received!));
  }
  active.add(run);
  if (listeners.size === 0) {
    for (const signal of SIGNALS) {
      // Windows has SIGINT (Ctrl-C) and SIGBREAK only.
      if (Deno.build.os === "windows" && signal.name !== "SIGINT") continue;
      const listener = () => onSignal(signal);
      Deno.addSignalListener(signal.name, listener);
      listeners.set(signal, listener);
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    active.delete(run);
    if (active.size > 0) return;
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal.name, listener);
    listeners.clear();
    if (received) Deno.exit(received.exitCode);
  };
}
