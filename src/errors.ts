/**
 * Every error class Glacier throws. Bad arguments throw the fitting built-in
 * (`TypeError`, `RangeError`); everything else is a {@linkcode GlacierError}
 * with a namespaced `code` and a `retryable` flag.
 *
 * @module
 */
import { redactUrls } from "./_redact.ts";

/** Options for {@linkcode GlacierError}. */
export interface GlacierErrorOptions {
  /** The error that caused this one. @default {undefined} */
  cause?: unknown;
  /** Whether trying the same thing again may succeed. @default {false} */
  retryable?: boolean;
}

/**
 * The base of Glacier's errors. `code` is namespaced: `USER:…` for what the
 * user can fix, `SYSTEM:…` for what went wrong around them.
 *
 * @example Catch any Glacier error
 * ```ts
 * import assert from "node:assert/strict";
 * import { GlacierError } from "./errors.ts";
 * const err = new GlacierError("USER:CONFIG", "Cannot run: no config");
 * assert.ok(err instanceof Error && err.code === "USER:CONFIG");
 * ```
 */
export class GlacierError extends Error {
  /** A stable, namespaced code such as `USER:CONFIG` or `SYSTEM:WORKER_DIED`. */
  readonly code: string;
  /** Whether retrying may succeed. */
  readonly retryable: boolean;

  /**
   * Builds it.
   * @param code A namespaced code (`USER:…` or `SYSTEM:…`).
   * @param message Sentence case, no trailing period; names the value and the way out.
   *   Credentials inside a URL in it (`http://user:pass@host`, a signed query) are hidden.
   * @param options The cause and whether it is retryable.
   */
  constructor(code: string, message: string, options: GlacierErrorOptions = {}) {
    // The last line of defence: an endpoint or a presigned URL may reach a message
    // through a wrapped error's text, not only through the call sites that redact it.
    super(redactUrls(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GlacierError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Where a {@linkcode TaskError} happened. */
export interface TaskErrorOptions extends GlacierErrorOptions {
  /** The pipeline's name. */
  pipeline: string;
  /** The task's name. */
  task: string;
  /** The call-site id of the DAG node, such as `clean` or `processFile#3`. */
  nodeId?: string;
  /** The attempt that failed, from 1. @default {1} */
  attempt?: number;
  /** The code. @default {"USER:TASK_FAILED"} */
  code?: string;
}

/**
 * A task failed: it threw, timed out, or its worker died. Names the pipeline,
 * the task, the call site and the attempt; the original error is `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TaskError } from "./errors.ts";
 * const err = new TaskError("boom", { pipeline: "etl", task: "clean", nodeId: "clean", attempt: 2 });
 * assert.ok(err.message.includes('"clean"'));
 * ```
 */
export class TaskError extends GlacierError {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The task's name. */
  readonly task: string;
  /** The call-site id of the DAG node. */
  readonly nodeId: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;

  /**
   * Builds it.
   * @param detail What went wrong, without the location (added here).
   * @param options Where it happened and why.
   */
  constructor(detail: string, options: TaskErrorOptions) {
    const nodeId = options.nodeId ?? options.task;
    const attempt = options.attempt ?? 1;
    const where = nodeId === options.task ? `"${options.task}"` : `"${options.task}" (call ${nodeId})`;
    super(
      options.code ?? "USER:TASK_FAILED",
      `Task ${where} of pipeline "${options.pipeline}" failed on attempt ${attempt}: ${detail}`,
      options,
    );
    this.name = "TaskError";
    this.pipeline = options.pipeline;
    this.task = options.task;
    this.nodeId = nodeId;
    this.attempt = attempt;
  }
}

/** The message of any thrown value, for wrapping it in a Glacier error. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
