// Narrowed calls in `deno run` processes (`subprocess.ts` is their entry),
// started with a permission set's flags and kept warm: each serves that
// set's calls one at a time, payloads on stdin (length-prefixed, v8-serialized
// with tables as Arrow IPC bytes), framed results on stdout. The child's
// stderr goes to the call's log (or this process's stderr) as it comes, and
// what a task prints on stdout as each call ends (it shares the pipe with the
// result).
// An abort kills the child, so a timeout holds even for a CPU-bound loop, and
// its memory is its own.
import { serialize } from "node:v8";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GlacierError, TaskError } from "../../src/errors.ts";
import { decodeValue, encodeValue, loadLibraries, needsLibraries } from "../../src/data/payload.ts";
import type { TaskInvocation } from "../../src/run/executor.ts";
import type { SkippedLines } from "../../src/run/skipped_lines.ts";
import { projectRoot } from "../../src/_project.ts";
import { payloadFor } from "../payload.ts";
import { takeFrame } from "../_frame.ts";

/** Written on stdout by the child when the task itself starts: its timeout counts from there. */
export const STARTED = "\n--glacier-task-started--\n";

/** The entry of narrowed subprocesses. */
export const CHILD_URL: URL = new URL("./subprocess.ts", import.meta.url);

const GLACIER_ROOT = new URL("../../", import.meta.url);

export interface RemoteError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** A GlacierError's flag (a worker sends it; a narrowed subprocess does not). */
  retryable?: boolean;
}

/**
 * A warm narrowed child: one `deno run` process started with a permission
 * set's flags, serving that set's calls one at a time (length-prefixed
 * payloads on stdin, framed results on stdout), so a module is imported once
 * per child, not once per call. An abort kills it (the next call starts a
 * fresh one); so does a call that ends it (`Deno.exit`, out of memory).
 */
export class NarrowedChild {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #text = "";
  #stderr = "";
  #call?: {
    readonly invocation: TaskInvocation;
    started: boolean;
    readonly resolve: (value: unknown) => void;
    readonly reject: (error: unknown) => void;
  };
  #dead = false;

  /**
   * Starts it.
   * @param flags The `deno run` flags of its permission set.
   */
  constructor(flags: readonly string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-prompt", ...flags, CHILD_URL.href],
      cwd: Deno.cwd(), // a task's relative paths and grants mean what they mean here
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#readStdout();
    this.#readStderr().catch(() => {});
    this.#child.status.then((status) => this.#exited(status));
  }

  /** Whether it can take another call. */
  get alive(): boolean {
    return !this.#dead;
  }

  /**
   * Runs one attempt.
   *
   * @param invocation The attempt.
   * @returns The task's value.
   */
  async run(invocation: TaskInvocation): Promise<unknown> {
    const { signal, task } = invocation;
    signal.throwIfAborted();
    if (needsLibraries(invocation.args)) await loadLibraries(invocation.args);
    const body = new Uint8Array(serialize(payloadFor(invocation, encodeValue(invocation.args, "ipc").value)));
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, body.byteLength);
    const onAbort = () => this.kill();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        this.#call = { invocation, started: false, resolve, reject };
        this.#writer.write(head).then(() => this.#writer.write(body)).catch(() => {}); // a dead child: its status says why
      });
      if (signal.aborted) throw signal.reason;
      const answer = result as
        | { ok: true; value: unknown; skippedLines?: SkippedLines }
        | { ok: false; error: RemoteError };
      if (!answer.ok) throw remoteError(invocation, answer.error);
      if (answer.skippedLines) invocation.onSkippedLines?.(answer.skippedLines);
      if (needsLibraries(answer.value)) await loadLibraries(answer.value);
      return decodeValue(answer.value, task.resource.storage);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#call = undefined;
    }
  }

  /** Ends it at once. */
  kill(): void {
    this.#dead = true;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  async #readStdout(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stdout) {
        this.#text += decoder.decode(chunk, { stream: true });
        this.#parse();
      }
    } catch { /* killed */ }
  }

  // What the task printed goes to this process's stdout; its result ends the call.
  #parse(): void {
    const call = this.#call;
    if (call && !call.started && this.#text.includes(STARTED)) {
      call.started = true;
      this.#text = this.#text.replace(STARTED, "");
      call.invocation.onStart?.();
    }
    const { value, log, rest } = takeFrame(this.#text);
    if (rest === undefined) return;
    this.#text = rest;
    if (log) this.#print("stdout", log);
    call?.resolve(value);
  }

  // The child's stderr as it comes, to the call's log (else this process's
  // stderr); its end is kept for the error of a child that dies.
  async #readStderr(): Promise<void> {
    let kept = "";
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      const text = decoder.decode(chunk, { stream: true });
      this.#print("stderr", text);
      kept = (kept + text).slice(-2000);
      this.#stderr = kept.trim().split("\n").slice(-8).join("\n");
    }
  }

  // What the task printed: to the call's log when its run keeps one, else to this process's stream.
  #print(stream: "stdout" | "stderr", text: string): void {
    const onLog = this.#call?.invocation.onLog;
    if (onLog) return onLog(stream, text);
    (stream === "stdout" ? Deno.stdout : Deno.stderr).write(new TextEncoder().encode(text)).catch(() => {});
  }

  #exited(status: Deno.CommandStatus): void {
    this.#dead = true;
    const call = this.#call;
    if (!call) return;
    if (this.#text) this.#print("stdout", this.#text.replace(STARTED, ""));
    const { pipeline, nodeId, attempt, task } = call.invocation;
    const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
    call.reject(
      new TaskError(
        `its subprocess ${how} before returning a result${
          this.#stderr ? `: ${this.#stderr}` : ""
        }; a task that calls Deno.exit or runs out of memory ends its process`,
        { pipeline, task: task.name, nodeId, attempt, code: "SYSTEM:WORKER_DIED", retryable: true },
      ),
    );
  }
}

/**
 * The config a narrowed subprocess resolves bare specifiers with: the task
 * module's project's `deno.json`, as `deno info` lists its graph; Glacier's
 * own when Glacier is local files and that project's config does not map
 * Glacier's imports (or there is none), e.g. a script in a temp folder that
 * imports Glacier by path while this process ran with Glacier's config.
 */
export async function configFlags(module: string): Promise<string[]> {
  let project: string | undefined;
  if (module.startsWith("file:")) {
    const root = projectRoot(fileURLToPath(module));
    for (const name of ["deno.json", "deno.jsonc"]) {
      if (await exists(join(root, name))) {
        project = join(root, name);
        break;
      }
    }
  }
  if (GLACIER_ROOT.protocol === "file:") {
    const own = join(fileURLToPath(GLACIER_ROOT), "deno.json");
    const needs = await importsOf(own);
    if (needs && project !== own) {
      const has = project ? await importsOf(project) : {};
      if (has !== undefined && Object.keys(needs).some((name) => !(name in has))) return ["--config", own];
    }
  }
  return project ? ["--config", project] : [];
}

// A config's "imports", {} when it has none, undefined when it cannot be
// read as JSON (a deno.jsonc with comments, an "importMap" file): trusted as is.
async function importsOf(config: string): Promise<Record<string, string> | undefined> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(config));
    if (parsed.importMap !== undefined) return undefined;
    return parsed.imports ?? {};
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isFile === true;
}

/**
 * A task's error as it came from its worker or subprocess: a denied
 * permission names the permission and where to grant it; any other keeps
 * its meaning, as with `workers: 0`: a namespaced `code` (`USER:…`,
 * `SYSTEM:…`) comes back as a GlacierError with that code, a built-in class
 * (`TypeError`, `RangeError`, Deno's `NotFound`, …) as that class, and the
 * name and stack as they were.
 */
export function remoteError(invocation: TaskInvocation, error: RemoteError): Error {
  const { task, nodeId, pipeline, attempt } = invocation;
  if (error.name === "NotCapable" || error.name === "PermissionDenied") {
    // Deno's own hint (run again with --allow-…) is wrong here: the process may well have
    // it; the task's own option is what denies it.
    const denial = error.message.replace(/,? run again with the --allow-\S+ flag\s*$/, "");
    const parts = /^Requires (\w+) access to (".*")$/.exec(denial);
    const grant = parts ? ` (permissions: { ${parts[1]}: [${parts[2]}] })` : "";
    return new TaskError(
      parts
        ? `its "permissions" option denies ${parts[1]} access to ${
          parts[2]
        }: grant it in the task's options${grant}, or leave "permissions" out to inherit the process's`
        : `permission denied: ${denial}; its "permissions" option denies it: grant it in the task's options, or leave "permissions" out to inherit the process's`,
      { pipeline, task: task.name, nodeId, attempt, code: "USER:PERMISSION_DENIED", retryable: false },
    );
  }
  if (
    error.code === "USER:TASK_NOT_FOUND" || error.code === "USER:TASK_AMBIGUOUS" ||
    error.code === "SYSTEM:PAYLOAD_VERSION"
  ) {
    return new TaskError(error.message, {
      pipeline,
      task: task.name,
      nodeId,
      attempt,
      code: error.code,
      retryable: false,
    });
  }
  return reviveError(error);
}

const BUILT_IN: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function reviveError(error: RemoteError): Error {
  let revived: Error;
  if (typeof error.code === "string" && /^(USER|SYSTEM):/.test(error.code)) {
    revived = new GlacierError(error.code, error.message, { retryable: error.retryable });
  } else {
    const denoError = (Deno.errors as Record<string, unknown>)[error.name];
    const Class = BUILT_IN[error.name] ??
      (typeof denoError === "function" ? denoError as new (message: string) => Error : Error);
    revived = new Class(error.message);
    // A code that is not Glacier's (Node's "ENOENT", a library's) is kept as it was.
    if (error.code !== undefined) Object.assign(revived, { code: error.code });
  }
  revived.name = error.name; // a subclass's name, such as "TaskError"
  if (error.stack) revived.stack = error.stack;
  return revived;
}
