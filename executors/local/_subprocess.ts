// One call of a narrowed task in its own `deno run` process (`subprocess.ts`
// is its entry): the payload goes on stdin, v8-serialized with tables as
// Arrow IPC bytes, and the framed result comes back on stdout. The child's
// stderr is passed through to this process's as it comes; what the task
// prints on stdout is written to this process's stdout when the call ends
// (it shares the pipe with the result). An abort kills the child, so a
// timeout holds even for a CPU-bound loop, and its memory is its own.
import { serialize } from "node:v8";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TaskError } from "../../src/errors.ts";
import { decodeValue, encodeValue, ensureArrow, needsArrow } from "../../src/data/payload.ts";
import type { TaskInvocation } from "../../src/run/executor.ts";
import { projectRoot } from "../../src/_project.ts";
import { payloadFor } from "../payload.ts";
import { unframe } from "../_frame.ts";

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
}

/**
 * Runs one attempt in a subprocess started with `flags`.
 *
 * @param running The live children, so the pool can kill them when it closes.
 */
export async function runInSubprocess(
  invocation: TaskInvocation,
  flags: readonly string[],
  running: Set<Deno.ChildProcess>,
): Promise<unknown> {
  const { signal, task } = invocation;
  signal.throwIfAborted();
  if (needsArrow(invocation.args)) await ensureArrow();
  const payload = serialize(payloadFor(invocation, encodeValue(invocation.args, "ipc").value));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, CHILD_URL.href],
    cwd: Deno.cwd(), // a task's relative paths and grants mean what they mean here
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [, stdout, stderr, status] = await Promise.all([
      feed(child.stdin, payload),
      collect(child.stdout, () => invocation.onStart?.()),
      passThrough(child.stderr),
      child.status,
    ]);
    if (aborted) throw signal.reason;
    const { value, log } = unframe(stdout);
    if (log) await Deno.stdout.write(new TextEncoder().encode(log.replace(STARTED, "")));
    const result = value as { ok: true; value: unknown } | { ok: false; error: RemoteError } | undefined;
    if (!result) {
      const { pipeline, nodeId, attempt } = invocation;
      const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
      throw new TaskError(
        `its subprocess ${how} before returning a result${
          stderr ? `: ${stderr}` : ""
        }; a task that calls Deno.exit or runs out of memory ends its process`,
        { pipeline, task: task.name, nodeId, attempt, code: "SYSTEM:WORKER_DIED", retryable: true },
      );
    }
    if (!result.ok) throw remoteError(invocation, result.error);
    if (needsArrow(result.value)) await ensureArrow();
    return decodeValue(result.value, task.resource.storage);
  } finally {
    signal.removeEventListener("abort", onAbort);
    running.delete(child);
  }
}

async function feed(stdin: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(bytes);
    await writer.close();
  } catch { /* the child is gone: its status says why */ }
}

// Reads stdout whole, calling `started` as soon as the start marker is seen.
async function collect(stdout: ReadableStream<Uint8Array>, started: () => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let seen = "";
  let told = false;
  for await (const chunk of stdout) {
    chunks.push(chunk);
    if (told) continue;
    seen += decoder.decode(chunk, { stream: true });
    if (seen.includes(STARTED)) {
      told = true;
      started();
    } else seen = seen.slice(-STARTED.length);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

// Copies the child's stderr to this process's as it comes; keeps its end for an error message.
async function passThrough(stderr: ReadableStream<Uint8Array>): Promise<string> {
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of stderr) {
    await Deno.stderr.write(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-2000);
  }
  return tail.trim().split("\n").slice(-8).join("\n");
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
 * permission names the permission and where to grant it.
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
  const remote = new Error(error.message);
  remote.name = error.name;
  if (error.stack) remote.stack = error.stack;
  return remote;
}
