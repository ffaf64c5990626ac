import assert from "node:assert/strict";
import { join } from "node:path";
import { EC2Config } from "../../../mod.ts";
import type { TaskInvocation } from "../../../extend.ts";
import { SshExecutor } from "../../../executors/vm/ssh.ts";
import { projectFiles, SYNC_STAMP, tarOf } from "../../../executors/vm/_sync.ts";
import { startSshd } from "../../support/sshd.ts";
import * as fx from "../../fixtures/vm_tasks.ts";
import type { Task } from "../../../src/task.ts";

const ROOT = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

function invoke(executor: SshExecutor, task: Task, args: unknown[]) {
  const invocation: TaskInvocation = {
    pipeline: "vm_test",
    runId: "r1",
    nodeId: task.name,
    task,
    args,
    attempt: 1,
    signal: new AbortController().signal,
  };
  return executor.execute(invocation);
}

Deno.test("the project files of a task are its module graph and the remote runner's, under the project root", async () => {
  const files = await projectFiles(
    [fx.hostname.module, new URL("../../../executors/vm/remote.ts", import.meta.url).href],
    ROOT,
  );
  for (const f of ["tests/fixtures/vm_tasks.ts", "mod.ts", "executors/vm/remote.ts", "executors/runner.ts"]) {
    assert.ok(files.includes(f), `${f} is copied`);
  }
  assert.ok(files.includes("deno.json") && files.includes("deno.lock"), "the project's config and lock");
  assert.ok(
    !files.some((f) => f.startsWith("tests/src/") || f.startsWith("..")),
    "nothing the tasks do not import",
  );
  assert.deepEqual(files, [...files].sort());
});

Deno.test("the copy is a tar that the system tar extracts, the same bytes for the same files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-tar-" });
  try {
    const long = `${"a".repeat(90)}/${"b".repeat(90)}/c.ts`;
    await Deno.mkdir(join(dir, "src", long, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, "src/x.ts"), "export const x = 1;\n");
    await Deno.writeTextFile(join(dir, "src", long), "é".repeat(700));
    const archive = await tarOf(dir, ["src/x.ts", `src/${long}`]);
    assert.deepEqual(await tarOf(dir, ["src/x.ts", `src/${long}`]), archive);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const tar = new Deno.Command("tar", { args: ["-xf", "-", "-C", out], stdin: "piped", stderr: "piped" })
      .spawn();
    const w = tar.stdin.getWriter();
    await w.write(archive);
    await w.close();
    const status = await tar.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    assert.equal(await Deno.readTextFile(join(out, "src/x.ts")), "export const x = 1;\n");
    assert.equal(await Deno.readTextFile(join(out, "src", long)), "é".repeat(700));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "with a remoteDir the VM executor copies the project there once and runs the task from the copy",
  // ssh child processes are awaited; the server is stopped in finally.
  async fn() {
    const sshd = await startSshd();
    const remote = await Deno.makeTempDir({ prefix: "glacier-vm-project-" });
    try {
      const config = new EC2Config({
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        keyFile: sshd.keyFile,
        knownHostsFile: sshd.knownHostsFile,
        deno: Deno.execPath(),
        remoteDir: `${remote}/app/`,
      });
      const vm = new SshExecutor("etl_vm", config);
      assert.equal(await invoke(vm, fx.hostname, ["hello"]), `hello from ${Deno.hostname()}`);
      const app = join(remote, "app");
      assert.equal(
        await Deno.readTextFile(join(app, "tests/fixtures/vm_tasks.ts")),
        await Deno.readTextFile(join(ROOT, "tests/fixtures/vm_tasks.ts")),
      );
      const stamp = await Deno.readTextFile(join(app, SYNC_STAMP));
      assert.match(stamp, /^[0-9a-f]{64}$/);
      // The task ran from the copy: its stack names the copy's path.
      await assert.rejects(() => invoke(vm, fx.failing, []), (e: Error) => {
        assert.ok((e.stack ?? "").includes(`${app}/tests/fixtures/vm_tasks.ts`), e.stack);
        return true;
      });

      // A VM that holds the same copy is not sent it again; a changed one is.
      await Deno.remove(join(app, "mod.ts"));
      const again = new SshExecutor("etl_vm", config);
      await assert.rejects(
        () => invoke(again, fx.hostname, ["x"]),
        /mod\.ts/,
        "the same stamp: nothing sent",
      );
      await Deno.writeTextFile(join(app, SYNC_STAMP), "stale");
      assert.equal(
        await invoke(new SshExecutor("etl_vm", config), fx.hostname, ["back"]),
        `back from ${Deno.hostname()}`,
      );
      assert.ok((await Deno.stat(join(app, "mod.ts"))).isFile, "a changed stamp sends the copy again");
      assert.equal(await Deno.readTextFile(join(app, SYNC_STAMP)), stamp);
    } finally {
      await sshd.stop();
      await Deno.remove(remote, { recursive: true });
    }
  },
});
