// Shell and Python text shared by the generators: how a cluster or VM gets
// Deno, and how a Databricks or Dataproc job runs one Glacier payload with it.
import { commentText } from "./_escape.ts";

/** The Deno version remote machines install. */
export const DENO_VERSION = "2.9.6";

/** Where remote machines install Deno: `<prefix>/bin/deno`. */
export const DENO_PREFIX = "/usr/local";

// Installs the pinned Deno under DENO_PREFIX unless that version is there
// (an image's older Deno is replaced); Deno's installer needs unzip.
function denoInstallLines(): string[] {
  return [
    `if ! ${DENO_PREFIX}/bin/deno --version 2>/dev/null | grep -q "^deno ${
      DENO_VERSION.replace(/\./g, "\\.")
    } "; then`,
    "  if ! command -v unzip >/dev/null; then",
    "    if command -v apt-get >/dev/null; then",
    "      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip",
    "    else",
    "      dnf install -y -q unzip",
    "    fi",
    "  fi",
    `  curl -fsSL https://deno.land/install.sh | DENO_INSTALL=${DENO_PREFIX} sh -s -- --yes v${DENO_VERSION}`,
    "fi",
  ];
}

/** Installs the pinned Deno system-wide (clusters' init script); idempotent. */
export function denoInstallScript(header: readonly string[] = []): string {
  return [
    "#!/bin/bash",
    ...header.map((l) => `# ${commentText(l)}`),
    "# Installs Deno for Glacier tasks; safe to run more than once.",
    "set -euo pipefail",
    ...denoInstallLines(),
    "",
  ].join("\n");
}

/** What a VM's first-boot script prepares. */
export interface VmInitOptions {
  /** The SSH user (a name VMConfigBase checked: letters, digits, `_.-`). */
  readonly user: string;
  /** The project folder, absolute (where the VM executor copies the task modules). */
  readonly dir: string;
  /**
   * Where the user's SSH key comes from: `aws` copies the instance's key pair
   * from the instance metadata service (IMDSv2) into the user's
   * authorized_keys; `cloud` leaves it to the cloud (GCP's guest agent from
   * the ssh-keys metadata, Azure's admin_ssh_key).
   */
  readonly key: "aws" | "cloud";
}

/**
 * A VM's boot script (cloud-init user data, a startup script): installs the
 * pinned Deno as the cluster init script does, makes the SSH user and gives it
 * the project folder the VM executor copies the task modules into. Safe to run
 * more than once (Compute Engine runs its startup script at every boot).
 */
export function vmInitScript(options: VmInitOptions): string {
  const { user } = options;
  const home = `/home/${user}`;
  const dir = shellWord(options.dir);
  return [
    "#!/bin/bash",
    `# Prepares this VM for Glacier tasks over SSH: Deno ${DENO_VERSION}, the user ${user} and`,
    `# ${commentText(options.dir)}; safe to run more than once.`,
    "set -euo pipefail",
    ...denoInstallLines(),
    `if ! id -u ${user} >/dev/null 2>&1; then`,
    `  useradd --create-home --home-dir ${home} --shell /bin/bash ${user}`,
    "fi",
    ...(options.key === "aws"
      ? [
        "# The key pair's public key, from the instance metadata service (IMDSv2).",
        `install -d -m 700 -o ${user} -g ${user} ${home}/.ssh`,
        'TOKEN="$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token)"',
        'curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" \\',
        `  http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key >${home}/.ssh/authorized_keys.new`,
        `install -m 600 -o ${user} -g ${user} ${home}/.ssh/authorized_keys.new ${home}/.ssh/authorized_keys`,
        `rm -f ${home}/.ssh/authorized_keys.new`,
      ]
      : []),
    `install -d -m 755 -o ${user} -g ${user} ${dir}`,
    "",
  ].join("\n");
}

// A word the shell reads as the text itself.
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The Databricks launcher: unpacks the `glacier build` artifact (which
 * carries its own Deno; the init script installs one only when it does not)
 * and runs its `bootstrap` on one payload (`--payload <json or s3://
 * reference>`). When the task fails, the run fails with the task's error line
 * (`Name: message`, from Deno's stderr) as the Python exception, which is
 * what `runs/get-output` reports as `error`. A cloud run's one-time run also
 * passes the result URI and the storage config, and the bootstrap writes the
 * result there as the cluster launcher does.
 */
export function databricksLauncher(header: readonly string[] = []): string {
  return [
    ...header.map((l) => `# ${commentText(l)}`),
    '"""Glacier launcher: runs one Glacier task payload with Deno on the Databricks driver."""',
    "import os",
    "import re",
    "import subprocess",
    "import sys",
    "import tempfile",
    "import zipfile",
    "",
    "",
    "def error_line(stderr):",
    '    """The first error header of a Deno stack trace, else the last line."""',
    "    lines = [l for l in stderr.splitlines() if l.strip()]",
    "    for i, line in enumerate(lines[:-1]):",
    '        if re.match(r"^[A-Za-z_$][\\w$.]*: ", line) and lines[i + 1].lstrip().startswith("at "):',
    "            return line",
    '    return lines[-1] if lines else "the task exited without a message"',
    "",
    "",
    "def main(argv):",
    '    """argv: artifact, init script, payload; a cloud run adds the result URI and the storage config."""',
    "    artifact, init_script, payload = argv[1], argv[2], argv[3]",
    '    result = ["--result", argv[4], "--config", argv[5] if len(argv) > 5 else "{}"] if len(argv) > 4 else []',
    '    work = tempfile.mkdtemp(prefix="glacier-")',
    "    with zipfile.ZipFile(artifact) as z:",
    "        for info in z.infolist():",
    "            path = z.extract(info, work)",
    "            mode = (info.external_attr >> 16) & 0o777",
    "            if mode:",
    "                os.chmod(path, mode)",
    '    if not os.path.exists(os.path.join(work, "bin", "deno")) and not os.path.exists("/usr/local/bin/deno"):',
    '        subprocess.run(["bash", init_script], check=True)',
    '    bootstrap = os.path.join(work, "bootstrap")',
    "    os.chmod(bootstrap, 0o755)",
    "    done = subprocess.run(",
    '        [bootstrap, "--payload", payload, *result], cwd=work, stderr=subprocess.PIPE, text=True',
    "    )",
    "    sys.stderr.write(done.stderr)",
    "    if done.returncode != 0:",
    '        raise RuntimeError("Glacier task failed: " + error_line(done.stderr))',
    "",
    "",
    'if __name__ == "__main__":',
    "    main(sys.argv)",
    "",
  ].join("\n");
}

/** Where the Dataproc launcher lives under the staging prefix. */
export const DATAPROC_LAUNCHER_OBJECT = "scripts/glacier_dataproc_launcher.py";

/**
 * The Dataproc launcher, the `mainPythonFileUri` of every Glacier PySpark
 * job: Dataproc has no shell job type, and a PySpark driver is a plain
 * `python3` process on the primary node, so it runs
 * `deno run -A <launcher.ts> <payloadUri> <resultUri> <config>` and exits
 * with Deno's code. SIGTERM and SIGINT (a cancelled job) are passed on, so
 * cancelling the job stops the task.
 */
export function dataprocLauncher(header: readonly string[] = []): string {
  return [
    ...header.map((l) => `# ${commentText(l)}`),
    '"""Glacier launcher: runs one Glacier task payload with Deno on the Dataproc driver."""',
    "import shutil",
    "import signal",
    "import subprocess",
    "import sys",
    "",
    "",
    "def main(argv):",
    "    launcher, payload_uri, result_uri, config = argv[1:5]",
    '    deno = shutil.which("deno") or "/usr/local/bin/deno"',
    '    child = subprocess.Popen([deno, "run", "-A", launcher, payload_uri, result_uri, config])',
    "",
    "    def forward(signum, _frame):",
    "        child.send_signal(signum)",
    "",
    "    signal.signal(signal.SIGTERM, forward)",
    "    signal.signal(signal.SIGINT, forward)",
    "    code = child.wait()",
    "    return code if code >= 0 else 128 - code",
    "",
    "",
    'if __name__ == "__main__":',
    "    sys.exit(main(sys.argv))",
    "",
  ].join("\n");
}
