// Shell and Python text shared by the generators: how a cluster or VM gets
// Deno, and how a Databricks job runs one Glacier payload with it.

/** The Deno version remote machines install. */
export const DENO_VERSION = "2.9.6";

/** Installs Deno system-wide; idempotent. No `${`, so it fits HCL heredocs. */
export function denoInstallScript(header: readonly string[] = []): string {
  return [
    "#!/bin/bash",
    ...header.map((l) => `# ${l}`),
    "# Installs Deno for Glacier tasks; safe to run more than once.",
    "set -euo pipefail",
    "if [ -x /usr/local/bin/deno ]; then exit 0; fi",
    `curl -fsSL https://deno.land/install.sh | DENO_INSTALL=/usr/local sh -s -- --yes v${DENO_VERSION}`,
    "",
  ].join("\n");
}

/**
 * The Databricks launcher: unpacks the `glacier build` artifact and runs its
 * `bootstrap` on one payload (`--payload <json or s3:// reference>`).
 */
export function databricksLauncher(header: readonly string[] = []): string {
  return [
    ...header.map((l) => `# ${l}`),
    '"""Glacier launcher: runs one Glacier task payload with Deno on the Databricks driver."""',
    "import os",
    "import subprocess",
    "import sys",
    "import tempfile",
    "import zipfile",
    "",
    "",
    "def main(argv):",
    "    artifact, init_script, payload = argv[1], argv[2], argv[3]",
    '    if not os.path.exists("/usr/local/bin/deno"):',
    '        subprocess.run(["bash", init_script], check=True)',
    '    work = tempfile.mkdtemp(prefix="glacier-")',
    "    with zipfile.ZipFile(artifact) as z:",
    "        z.extractall(work)",
    '    bootstrap = os.path.join(work, "bootstrap")',
    "    os.chmod(bootstrap, 0o755)",
    '    subprocess.run([bootstrap, "--payload", payload], check=True, cwd=work)',
    "",
    "",
    'if __name__ == "__main__":',
    "    main(sys.argv)",
    "",
  ].join("\n");
}
