// A real OpenSSH server for the VM executor tests: started on a free port on
// 127.0.0.1 with a throwaway host key and user key, stopped after. The fault
// suite also drops its sessions, and takes it down and back up on the same
// port with the same host key, as a rebooted VM.
import { join } from "node:path";

export interface Sshd {
  host: string;
  port: number;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  dir: string;
  /** Kills every session (and what it runs) with SIGKILL; the server keeps listening. */
  dropSessions(): Promise<number>;
  /** Kills the server and every session, as a VM that went away. */
  kill(): Promise<void>;
  /** Starts the server again on the same port, with the same keys. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

// The processes below a pid, from /proc (sessions fork from the listener).
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!parents.has(ppid)) parents.set(ppid, []);
    parents.get(ppid)!.push(Number(entry.name));
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of parents.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function keygen(file: string): Promise<void> {
  const out = await new Deno.Command("ssh-keygen", { args: ["-q", "-t", "ed25519", "-N", "", "-f", file] })
    .output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
}

/** Starts sshd; the current user logs in with a fresh key. */
export async function startSshd(): Promise<Sshd> {
  const dir = await Deno.makeTempDir({ prefix: "glacier-sshd-" });
  await keygen(join(dir, "host_key"));
  await keygen(join(dir, "user_key"));
  await Deno.copyFile(join(dir, "user_key.pub"), join(dir, "authorized_keys"));
  await Deno.chmod(join(dir, "authorized_keys"), 0o600);
  await Deno.mkdir("/run/sshd", { recursive: true }); // privilege separation needs it
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const hostKey = (await Deno.readTextFile(join(dir, "host_key.pub"))).trim().split(" ").slice(0, 2).join(
    " ",
  );
  await Deno.writeTextFile(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
  const spawn = async (): Promise<Deno.ChildProcess> => {
    const child = new Deno.Command("/usr/sbin/sshd", {
      args: ["-D", "-e", "-f", join(dir, "sshd_config")],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0;; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return child;
      } catch (error) {
        if (i > 100) {
          child.kill();
          throw new Error(`sshd did not start on ${port}: ${error}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  let process = await spawn();
  let running = true;
  const user = new TextDecoder().decode((await new Deno.Command("id", { args: ["-un"] }).output()).stdout)
    .trim();
  return {
    host: "127.0.0.1",
    port,
    user,
    keyFile: join(dir, "user_key"),
    knownHostsFile: join(dir, "known_hosts"),
    dir,
    async dropSessions() {
      const sessions = await descendants(process.pid);
      killAll(sessions);
      return sessions.length;
    },
    async kill() {
      if (!running) return;
      killAll([...await descendants(process.pid), process.pid]);
      await process.status;
      running = false;
    },
    async restart() {
      if (running) throw new Error(`sshd on ${port} is still running`);
      process = await spawn();
      running = true;
    },
    async stop() {
      if (!running) return;
      try {
        process.kill("SIGTERM");
      } catch {
        // already gone
      }
      await process.status;
      running = false;
    },
  };
}
