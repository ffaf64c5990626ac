/**
 * The VM executor: runs a task payload on a machine over SSH with the
 * system's `ssh` client. The payload goes on stdin, the framed result comes
 * back on stdout, stderr is kept for the error. Host keys are always
 * checked (`StrictHostKeyChecking=yes`); keys come from the SSH agent or the
 * config's `keyFile` path and are never copied into payloads or reports.
 * With a `remoteDir`, the task module's project files are copied there over
 * the same SSH connection settings before the first task (see `_sync.ts`).
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
import { projectFiles, stampOf, SYNC_STAMP, tarOf } from "./_sync.ts";

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
  readonly #synced = new Map<string, Promise<void>>();

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
    await this.#sync(task.module, invocation);
    const root = task.module.startsWith("file:") ? projectRoot(fileURLToPath(task.module)) : undefined;
    const payload = payloadFor(
      invocation,
      encodeValue(invocation.args, "ipc").value,
      this.#remoteUrl(task.module, root),
    );
    const target = `${config.user}@${config.host}`;
    const out = await this.#ssh(
      this.#remoteCommand(task.options.timeout, root),
      new Uint8Array(serialize(payload)),
      invocation.signal,
    );
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

  // One SSH session running `command` with `input` on its stdin.
  async #ssh(command: string, input: Uint8Array, signal: AbortSignal): Promise<Deno.CommandOutput> {
    const c = this.#config;
    const child = new Deno.Command("ssh", {
      args: [...this.#sshOptions(), `${c.user}@${c.host}`, command],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(input).catch(() => {}); // a dead connection shows in the exit code
    await writer.close().catch(() => {});
    return await child.output();
  }

  // With a remoteDir, the task module's project files are copied there before the first task that
  // needs them (once per executor, and only when the VM holds another copy).
  #sync(module: string, invocation: TaskInvocation): Promise<void> {
    const remoteDir = this.#config.remoteDir;
    if (!remoteDir || !module.startsWith("file:")) return Promise.resolve();
    let done = this.#synced.get(module);
    if (!done) {
      done = this.#copy(module, remoteDir, invocation);
      this.#synced.set(module, done);
      done.catch(() => this.#synced.delete(module)); // the next attempt copies again
    }
    return done;
  }

  async #copy(module: string, remoteDir: string, invocation: TaskInvocation): Promise<void> {
    const root = projectRoot(fileURLToPath(module));
    const archive = await tarOf(root, await projectFiles([module, REMOTE.href], root));
    const stamp = await stampOf(archive);
    const dir = quote(remoteDir.replace(/(.)\/+$/, "$1"));
    const check = await this.#ssh(
      `cat ${dir}/${SYNC_STAMP} 2>/dev/null || true`,
      new Uint8Array(),
      invocation.signal,
    );
    if (check.code === 0 && new TextDecoder().decode(check.stdout).trim() === stamp) return;
    const put = check.code === 0
      ? await this.#ssh(
        `mkdir -p ${dir}/.glacier && tar -xf - -C ${dir} && printf %s ${stamp} >${dir}/${SYNC_STAMP}`,
        archive,
        invocation.signal,
      )
      : check;
    if (put.code === 0) return;
    const stderr = new TextDecoder().decode(put.stderr).trim();
    if (put.code === 255) throw this.#sshError(put.code, stderr, "", invocation);
    if (invocation.signal.aborted) throw invocation.signal.reason;
    throw new GlacierError(
      "SYSTEM:VM_SYNC",
      `Cannot copy the project to ${remoteDir} on VM "${this.#resource}" (${this.#config.user}@${this.#config.host}): ${
        stderr || `exit code ${put.code}`
      }; the user must be able to write there`,
      { retryable: true },
    );
  }

  #remoteCommand(timeoutMs: number | undefined, root: string | undefined): string {
    // A timeout also bounds the remote process: closing SSH alone may leave it running.
    const limit = timeoutMs === undefined ? "" : `timeout -s KILL ${Math.ceil(timeoutMs / 1000) + 1} `;
    return `${limit}${quote(this.#config.deno)} run -A --quiet ${quote(this.#remoteUrl(REMOTE.href, root))}`;
  }

  // Where a module of the task's project is on the VM: the same path, or under remoteDir.
  #remoteUrl(module: string, root: string | undefined): string {
    const remoteDir = this.#config.remoteDir;
    if (!remoteDir || !root || !module.startsWith("file:")) return module;
    const path = fileURLToPath(module);
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
