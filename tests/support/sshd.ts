// A real OpenSSH server for the VM executor tests: started on a free port on
// 127.0.0.1 with a throwaway host key and user key, stopped after.
import { join } from "node:path";

export interface Sshd {
  host: string;
  port: number;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  dir: string;
  stop(): Promise<void>;
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
  const process = new Deno.Command("/usr/sbin/sshd", {
    args: ["-D", "-e", "-f", join(dir, "sshd_config")],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (i > 100) {
        process.kill();
        throw new Error(`sshd did not start on ${port}: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const user = new TextDecoder().decode((await new Deno.Command("id", { args: ["-un"] }).output()).stdout)
    .trim();
  return {
    host: "127.0.0.1",
    port,
    user,
    keyFile: join(dir, "user_key"),
    knownHostsFile: join(dir, "known_hosts"),
    dir,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch {
        // already gone
      }
      await process.stderr.cancel().catch(() => {});
      await process.status;
    },
  };
}
