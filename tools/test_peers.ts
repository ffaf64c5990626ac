// The Debian programs the tests meet for real: an OpenSSH server and client
// (the VM executor), python3 whose ast module parses generated Airflow,
// Prefect and Dagster files and runs the Dataproc emulator's drivers, Jinja2
// that renders Airflow's templated fields, setsid (util-linux) that gives
// each driver its own process group, and Chromium that loads glacier ui's pages. `deno task test` runs this first: what
// is missing is installed with apt-get when this process may (root, or
// passwordless sudo); otherwise it stops at once with the one command to run.
// No test skips for want of a peer.
//
//   deno run -A tools/test_peers.ts

interface Peer {
  readonly pkg: string;
  readonly present: () => Promise<boolean>;
}

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false; // not installed
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    return ((await Deno.stat(path)).mode ?? 0) & 0o111 ? true : false;
  } catch {
    return false;
  }
}

const onPath = (name: string) =>
  (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((d) => `${d}/${name}`);

async function found(name: string): Promise<boolean> {
  for (const path of onPath(name)) if (await executable(path)) return true;
  return false;
}

// The tests use the first python3 on PATH that imports jinja2, else Debian's /usr/bin/python3.
async function jinja2(): Promise<boolean> {
  for (const py of [...onPath("python3"), "/usr/bin/python3"]) {
    if (await executable(py) && await succeeds(py, ["-c", "import jinja2"])) return true;
  }
  return false;
}

const PEERS: readonly Peer[] = [
  { pkg: "openssh-client", present: async () => await found("ssh") && await found("ssh-keygen") },
  { pkg: "openssh-server", present: () => executable("/usr/sbin/sshd") },
  { pkg: "python3", present: () => found("python3") },
  { pkg: "python3-jinja2", present: jinja2 },
  { pkg: "util-linux", present: () => found("setsid") },
  // Headless Chromium for the page tests of glacier ui (tests/support/browser.ts launches this path).
  { pkg: "chromium", present: () => executable("/usr/bin/chromium") },
];

const missing: string[] = [];
for (const peer of PEERS) if (!await peer.present()) missing.push(peer.pkg);
if (missing.length === 0) {
  console.log("test peers: ssh, sshd, python3 with jinja2, setsid, chromium present");
  Deno.exit(0);
}

const isRoot = Deno.uid() === 0;
const sudo = !isRoot && await succeeds("sudo", ["-n", "true"]);
const hasApt = await succeeds("apt-get", ["--version"]);
const command = `${isRoot ? "" : "sudo "}apt-get install -y --no-install-recommends ${missing.join(" ")}`;
if (!hasApt || (!isRoot && !sudo)) {
  console.error(
    `test peers missing: ${missing.join(", ")}; install them (${
      hasApt ? command : `your system's packages for ${missing.join(", ")}`
    }) and run the tests again`,
  );
  Deno.exit(1);
}
console.log(`test peers: installing ${missing.join(" ")} from Debian`);
const env = { DEBIAN_FRONTEND: "noninteractive" };
const run = async (args: string[]) => {
  const [cmd, ...rest] = isRoot ? args : ["sudo", "-n", ...args];
  const out = await new Deno.Command(cmd, { args: rest, env, stdout: "null", stderr: "inherit" }).output();
  if (!out.success) {
    console.error(`test peers: "${args.join(" ")}" failed; run "${command}" by hand and run the tests again`);
    Deno.exit(1);
  }
};
await run(["apt-get", "update", "-qq"]);
await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]);
const still: string[] = [];
for (const peer of PEERS) if (!await peer.present()) still.push(peer.pkg);
if (still.length) {
  console.error(`test peers: still missing after apt-get: ${still.join(", ")}`);
  Deno.exit(1);
}
console.log("test peers: installed");
