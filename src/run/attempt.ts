/**
 * Attempts with retries, backoff and timeouts: the same rule for every
 * executor. Backoff doubles from the task's `retryDelay`, with ±25% jitter so
 * a fan-out's retries do not stampede, capped at 30 s.
 *
 * @module
 */
import { errorMessage, GlacierError, TaskError } from "../errors.ts";
import type { ResolvedTaskOptions, Task } from "../task.ts";

/** Where an attempt runs, for error messages. */
export interface AttemptScope {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The call-site id. */
  readonly nodeId: string;
  /** The task. */
  readonly task: Task;
}

/** The outcome of the attempts of one call. */
export interface AttemptResult {
  /** The value. */
  readonly value: unknown;
  /** How many attempts it took. */
  readonly attempts: number;
}

/** Called before each retry, for progress and reports. */
export type RetryListener = (error: TaskError, nextAttempt: number, delayMs: number) => void;

const MAX_BACKOFF_MS = 30_000;

/**
 * Runs `attempt` until it succeeds or the task's retries are used up.
 *
 * @param scope The pipeline, call and task.
 * @param attempt One try; gets the attempt number and a signal aborted on timeout.
 * @param onRetry Told before each retry.
 * @param startsLate The timeout clock starts when the attempt calls `started` (an executor that must first
 *   load the task, like a worker importing its module), not when the attempt begins.
 * @returns The value and the attempt count.
 * @throws {TaskError} The last attempt's error, naming pipeline, task, call and attempt.
 */
export async function runAttempts(
  scope: AttemptScope,
  attempt: (n: number, signal: AbortSignal, started: () => void) => Promise<unknown>,
  onRetry?: RetryListener,
  startsLate = false,
): Promise<AttemptResult> {
  const { retries, retryDelay, retryOn } = scope.task.options;
  for (let n = 1;; n++) {
    try {
      return { value: await attemptOnce(scope, n, attempt, startsLate), attempts: n };
    } catch (error) {
      const failure = toTaskError(scope, n, error);
      if (n > retries || !shouldRetry(retryOn, failure)) throw failure;
      const delay = Math.min(MAX_BACKOFF_MS, retryDelay * 2 ** (n - 1)) * (0.75 + Math.random() * 0.5);
      onRetry?.(failure, n + 1, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function attemptOnce(
  scope: AttemptScope,
  n: number,
  attempt: (n: number, signal: AbortSignal, started: () => void) => Promise<unknown>,
  startsLate: boolean,
): Promise<unknown> {
  const timeout = scope.task.options.timeout;
  const controller = new AbortController();
  if (timeout === undefined) return await attempt(n, controller.signal, () => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expire: (error: TaskError) => void = () => {};
  const expired = new Promise<never>((_, reject) => (expire = reject));
  const start = () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      const error = new TaskError(
        `timed out after ${timeout} ms; raise its "timeout" option or make it faster`,
        {
          pipeline: scope.pipeline,
          task: scope.task.name,
          nodeId: scope.nodeId,
          attempt: n,
          code: "USER:TASK_TIMEOUT",
          retryable: true,
        },
      );
      controller.abort(error);
      expire(error);
    }, timeout);
  };
  if (!startsLate) start();
  try {
    return await Promise.race([attempt(n, controller.signal, start), expired]);
  } finally {
    clearTimeout(timer);
  }
}

// The task's `retryOn` decides; without one, what the failure says (user errors say no).
function shouldRetry(retryOn: ResolvedTaskOptions["retryOn"], failure: TaskError): boolean {
  if (retryOn === undefined) return failure.retryable;
  if (retryOn === "any") return true;
  if (typeof retryOn === "function") return retryOn(failure) === true;
  return failure.retryable || retryOn.includes(failure.code);
}

/**
 * Wraps any thrown value as the TaskError of this attempt, keeping an
 * existing one, and the code of a GlacierError (such as `SYSTEM:SSH_CONNECT`)
 * so callers can tell an unreachable executor from a task that threw. A
 * user error (a GlacierError whose code starts with `USER:`, such as
 * `USER:OBJECT_NOT_FOUND`) fails the same way again, so it is not
 * retryable; anything else is.
 */
export function toTaskError(scope: AttemptScope, attempt: number, error: unknown): TaskError {
  if (error instanceof TaskError) return error;
  const code = error instanceof GlacierError ? error.code : undefined;
  return new TaskError(errorMessage(error), {
    pipeline: scope.pipeline,
    task: scope.task.name,
    nodeId: scope.nodeId,
    attempt,
    cause: error,
    retryable: !code?.startsWith("USER:"),
    ...(code ? { code } : {}),
  });
}
