// The boot script generated VMs run (EC2 user data, the Compute Engine startup
// script, Azure custom data), run under bash: its system paths moved under a
// temp folder, and fakes on PATH for what would touch the machine or the
// network (curl serves Deno's installer and the instance metadata service;
// id, useradd and install's ownership stand in for the user database).
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO_VERSION, vmInitScript } from "../../../src/codegen/_scripts.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxhY2llcgo test@glacier";

interface Machine {
  root: string;
  log: () => Promise<string[]>;
  run: (script: string) => Promise<Deno.CommandOutput>;
}

async function machine(): Promise<Machine> {
  const root = await Deno.makeTempDir({ prefix: "glacier-boot-" });
  const bin = join(root, "fake-bin");
  await Deno.mkdir(bin);
  const log = join(root, "calls.log");
  const fake = async (name: string, body: string) => {
    await Deno.writeTextFile(join(bin, name), `#!/bin/bash\nset -eu\n${body}\n`);
    await Deno.chmod(join(bin, name), 0o755);
  };
  await fake(
    "curl",
    `echo "curl $*" >>"${log}"
case "$*" in
  *https://deno.land/install.sh*)
    # Deno's installer, as the piped shell runs it: DENO_INSTALL and the arguments after --.
    cat <<'INSTALLER'
echo "installer DENO_INSTALL=$DENO_INSTALL $*" >>"${log}"
mkdir -p "$DENO_INSTALL/bin"
printf '#!/bin/sh\\necho "deno %s (stable, release, x86_64-unknown-linux-gnu)"\\n' "\${2#v}" >"$DENO_INSTALL/bin/deno"
chmod +x "$DENO_INSTALL/bin/deno"
INSTALLER
    ;;
  *-X\\ PUT*/latest/api/token*) printf tok-123 ;;
  *"X-aws-ec2-metadata-token: tok-123"*/meta-data/public-keys/0/openssh-key*) echo "${KEY}" ;;
  *) echo "unexpected curl $*" >&2; exit 22 ;;
esac`,
  );
  await fake("unzip", 'echo "unzip $*" >>"' + log + '"');
  await fake("id", `[ -e "${root}/users/$2" ]`);
  await fake(
    "useradd",
    `echo "useradd $*" >>"${log}"
user="\${*: -1}"
mkdir -p "${root}/users" && touch "${root}/users/$user"
while [ $# -gt 0 ]; do [ "$1" = --home-dir ] && mkdir -p "$2"; shift; done`,
  );
  // install as root would chown: the owner is recorded, the rest is the real install.
  await fake(
    "install",
    `args=()
while [ $# -gt 0 ]; do
  case "$1" in -o|-g) echo "owner $1 $2" >>"${log}"; shift 2 ;; *) args+=("$1"); shift ;; esac
done
exec /usr/bin/install "\${args[@]}"`,
  );
  return {
    root,
    log: async () => (await Deno.readTextFile(log).catch(() => "")).split("\n").filter(Boolean),
    run: (script: string) => {
      // The script's system paths, moved under the temp folder.
      const moved = script.replaceAll("/usr/local", `${root}/usr/local`).replaceAll("/home/", `${root}/home/`)
        .replaceAll("/srv/", `${root}/srv/`);
      return new Deno.Command("bash", {
        args: ["-c", moved],
        env: { PATH: `${bin}:/usr/bin:/bin`, HOME: join(root, "home-of-root") },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
    },
  };
}

const ok = (out: Deno.CommandOutput) =>
  assert.equal(out.code, 0, `the script failed:\n${new TextDecoder().decode(out.stderr)}`);

Deno.test("a VM's boot script installs the pinned Deno, makes the SSH user with the key pair's key and the project folder", async () => {
  const m = await machine();
  try {
    const script = vmInitScript({ user: "glacier", dir: "/home/glacier/glacier", key: "aws" });
    ok(await m.run(script));
    const deno = join(m.root, "usr/local/bin/deno");
    const version = await new Deno.Command(deno, { stdout: "piped" }).output();
    assert.match(new TextDecoder().decode(version.stdout), new RegExp(`^deno ${DENO_VERSION} `));
    const calls = await m.log();
    assert.deepEqual(calls.filter((c) => c.startsWith("installer")), [
      `installer DENO_INSTALL=${m.root}/usr/local --yes v${DENO_VERSION}`,
    ]);
    assert.deepEqual(calls.filter((c) => c.startsWith("useradd")), [
      `useradd --create-home --home-dir ${m.root}/home/glacier --shell /bin/bash glacier`,
    ]);
    const keys = join(m.root, "home/glacier/.ssh/authorized_keys");
    assert.equal(await Deno.readTextFile(keys), `${KEY}\n`, "the key pair's key, read with an IMDSv2 token");
    assert.equal((await Deno.stat(keys)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(m.root, "home/glacier/.ssh"))).mode! & 0o777, 0o700);
    assert.ok((await Deno.stat(join(m.root, "home/glacier/glacier"))).isDirectory);
    assert.ok(calls.includes("owner -o glacier") && calls.includes("owner -g glacier"), "owned by the user");

    // Again (a reboot, a re-run): nothing is installed or created twice.
    ok(await m.run(script));
    const again = await m.log();
    assert.equal(again.filter((c) => c.startsWith("installer")).length, 1, "Deno is not installed again");
    assert.equal(again.filter((c) => c.startsWith("useradd")).length, 1, "the user is not made again");
    assert.equal(await Deno.readTextFile(keys), `${KEY}\n`);

    // An image's other Deno is replaced by the pinned one.
    await Deno.writeTextFile(deno, '#!/bin/sh\necho "deno 2.0.0 (stable)"\n');
    ok(await m.run(script));
    assert.equal((await m.log()).filter((c) => c.startsWith("installer")).length, 2);
    const replaced = await new Deno.Command(deno, { stdout: "piped" }).output();
    assert.match(new TextDecoder().decode(replaced.stdout), new RegExp(`^deno ${DENO_VERSION} `));
  } finally {
    await Deno.remove(m.root, { recursive: true });
  }
});

Deno.test("on GCP and Azure the boot script leaves the key to the cloud and makes the configured folder", async () => {
  const m = await machine();
  try {
    ok(await m.run(vmInitScript({ user: "etl", dir: "/srv/etl dir", key: "cloud" })));
    const calls = await m.log();
    assert.ok(!calls.some((c) => c.includes("169.254.169.254")), "no instance metadata is read");
    assert.ok((await Deno.stat(join(m.root, "srv/etl dir"))).isDirectory, "a path with a space is one word");
    await assert.rejects(
      () => Deno.stat(join(m.root, "home/etl/.ssh/authorized_keys")),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(m.root, { recursive: true });
  }
});
