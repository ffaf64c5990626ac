/**
 * The VM executor: runs a task payload on a machine over SSH with the
 * system's `ssh` client. The payload goes on stdin, the framed result comes
 * back on stdout, stderr is kept for the error. Host keys are always
 * checked (`StrictHostKeyChecking=yes`); keys come from the SSH agent or the
 * config's `keyFile` path and are never copied into payloads or reports.
 *
 * @module
 */
import { serialize } from "node:v8";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { VMConfigBase } from "../../src/config/vm.ts";
import {
  assertArgsCrossable,
  decodeValue,
  encodeValue,
  loadLibraries,
  needsLibraries,
} from "../../src/data/payload.ts";
import { GlacierError, TaskError } from "../../src/errors.ts";
import type { Executor, TaskInvocation } from "../../src/run/executor.ts";
import { payloadFor } from "../payload.ts";
import { projectRoot } from "../../src/_project.ts";
import { unframe } from "../_frame.ts";

const REMOTE = new URL("./remote.ts", import.meta.url);

interface RemoteResult {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; stack?: string; code?: string };
}

/** Runs task calls on one VM over SSH. */
export class SshExecutor implements Executor {
  /** Reports say a task ran on `vm`. */
  readonly name = "vm";
  readonly #config: VMConfigBase;
  readonly #resource: string;

  /**
   * @param resource The resource's name, for messages.
   * @param config The VM config: host, port, user, key, known hosts.
   */
  constructor(resource: string, config: VMConfigBase) {
    this.#resource = resource;
    this.#config = config;
  }

  /**
   * Runs one attempt on the VM.
   *
   * @throws {TypeError} When an argument cannot cross to the VM.
   * @throws {GlacierError} When SSH cannot connect (retryable), authenticate or verify the host key.
   * @throws {TaskError} When the task fails on the VM, with the remote message and stack.
   */
  async execute(invocation: TaskInvocation): Promise<unknown> {
    const { task, nodeId, pipeline } = invocation;
    const config = this.#config;
    if (!config.host) {
      throw new GlacierError(
        "USER:VM_NO_HOST",
        `Task "${task.name}" is bound to VM "${this.#resource}", which has no "host": set host (an address SSH can reach) in its config`,
      );
    }
    assertArgsCrossable(invocation);
    if (needsLibraries(invocation.args)) await loadLibraries(invocation.args);
    const payload = payloadFor(
      invocation,
      encodeValue(invocation.args, "ipc").value,
      this.#remoteUrl(task.module),
    );
    const target = `${config.user}@${config.host}`;
    const child = new Deno.Command("ssh", {
      args: [...this.#sshOptions(), target, this.#remoteCommand(task.options.timeout)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: invocation.signal,
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new Uint8Array(serialize(payload))).catch(() => {}); // a dead connection shows in the exit code
    await writer.close().catch(() => {});
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    const { value, log } = unframe(out.stdout);
    if (value === undefined) throw this.#sshError(out.code, stderr, log, invocation);
    const result = value as RemoteResult;
    if (result.ok) {
      if (needsLibraries(result.value)) await loadLibraries(result.value);
      return decodeValue(result.value, task.resource.storage);
    }
    const error = result.error!;
    const detail = `${error.message} (on ${target})${stderr ? `\n--- stderr ---\n${stderr}` : ""}`;
    if (error.code === "USER:TASK_NOT_FOUND" || error.code === "SYSTEM:PAYLOAD_VERSION") {
      throw new TaskError(detail, {
        pipeline,
        task: task.name,
        nodeId,
        attempt: invocation.attempt,
        code: error.code,
      });
    }
    const remote = new Error(detail);
    remote.name = error.name;
    if (error.stack) remote.stack = `${error.stack}\n    (remote, on ${target})`;
    throw remote;
  }

  /** Nothing to release: each call is its own SSH session. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #sshOptions(): string[] {
    const c = this.#config;
    return [
      "-p",
      String(c.port),
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "LogLevel=ERROR",
      ...(c.knownHostsFile ? ["-o", `UserKnownHostsFile=${c.knownHostsFile}`] : []),
      ...(c.keyFile ? ["-i", c.keyFile, "-o", "IdentitiesOnly=yes"] : []),
    ];
  }

  #remoteCommand(timeoutMs: number | undefined): string {
    // A timeout also bounds the remote process: closing SSH alone may leave it running.
    const limit = timeoutMs === undefined ? "" : `timeout -s KILL ${Math.ceil(timeoutMs / 1000) + 1} `;
    return `${limit}${quote(this.#config.deno)} run -A --quiet ${quote(this.#remoteUrl(REMOTE.href))}`;
  }

  // Where a module of this project is on the VM: the same path, or under remoteDir.
  #remoteUrl(module: string): string {
    const remoteDir = this.#config.remoteDir;
    if (!remoteDir || !module.startsWith("file:")) return module;
    const path = fileURLToPath(module);
    const root = projectRoot(fileURLToPath(REMOTE.href));
    return path.startsWith(root + "/")
      ? pathToFileURL(remoteDir.replace(/\/+$/, "") + path.slice(root.length)).href
      : module;
  }

  #sshError(code: number, stderr: string, log: string, invocation: TaskInvocation): Error {
    const c = this.#config;
    const where = `${c.user}@${c.host}:${c.port}`;
    if (
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .*host key is known/i.test(
        stderr,
      )
    ) {
      return new GlacierError(
        "USER:SSH_HOST_KEY",
        `The host key of ${where} is unknown or changed, so VM "${this.#resource}" was not trusted: verify its fingerprint, then add it to ${
          c.knownHostsFile ?? "~/.ssh/known_hosts"
        } (ssh-keyscan -p ${c.port} ${c.host})`,
      );
    }
    if (/Permission denied|Too many authentication failures/i.test(stderr)) {
      return new GlacierError(
        "USER:SSH_AUTH",
        `SSH authentication to ${where} failed for VM "${this.#resource}": ${
          stderr.split("\n").at(-1)
        }; load the key into ssh-agent or set "keyFile"`,
      );
    }
    if (code === 255) {
      return new GlacierError(
        "SYSTEM:SSH_CONNECT",
        `Cannot reach VM "${this.#resource}" at ${where} over SSH: ${stderr || "the connection closed"}`,
        { retryable: true },
      );
    }
    if (invocation.signal.aborted) return invocation.signal.reason as Error;
    return new GlacierError(
      "SYSTEM:VM_NO_RESULT",
      `Task "${invocation.task.name}" on VM "${this.#resource}" (${where}) ended with exit code ${code} and no result${
        stderr ? `: ${stderr.slice(-2000)}` : ""
      }${log.trim() ? `\n--- stdout ---\n${log.trim().slice(-2000)}` : ""}`,
      { retryable: true },
    );
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
