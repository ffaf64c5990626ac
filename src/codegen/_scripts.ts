// Shell and Python text shared by the generators: how a cluster or VM gets
// Deno, and how a Databricks or Dataproc job runs one Glacier payload with it.
import { commentText } from "./_escape.ts";

/** The Deno version remote machines install. */
export const DENO_VERSION = "2.9.6";

/** Installs Deno system-wide; idempotent. */
export function denoInstallScript(header: readonly string[] = []): string {
  return [
    "#!/bin/bash",
    ...header.map((l) => `# ${commentText(l)}`),
    "# Installs Deno for Glacier tasks; safe to run more than once.",
    "set -euo pipefail",
    "if [ -x /usr/local/bin/deno ]; then exit 0; fi",
    `curl -fsSL https://deno.land/install.sh | DENO_INSTALL=/usr/local sh -s -- --yes v${DENO_VERSION}`,
    "",
  ].join("\n");
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
