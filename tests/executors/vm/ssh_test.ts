import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import { EC2Config, GlacierError, TaskError } from "../../../mod.ts";
import type { TaskInvocation } from "../../../extend.ts";
import { SshExecutor } from "../../../executors/vm/ssh.ts";
import { runAttempts } from "../../../src/run/attempt.ts";
import { type Sshd, startSshd } from "../../support/sshd.ts";
import * as fx from "../../fixtures/vm_tasks.ts";
import type { Task } from "../../../src/task.ts";

function config(sshd: Sshd, overrides: Partial<ConstructorParameters<typeof EC2Config>[0]> = {}) {
  return new EC2Config({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHostsFile,
    deno: Deno.execPath(),
    ...overrides,
  });
}

function invoke(executor: SshExecutor, task: Task, args: unknown[], signal = new AbortController().signal) {
  const invocation: TaskInvocation = {
    pipeline: "vm_test",
    runId: "r1",
    nodeId: task.name,
    task,
    args,
    attempt: 1,
    signal,
  };
  return executor.execute(invocation);
}

Deno.test({
  name: "the VM executor runs tasks over a real SSH server and carries failures back",
  // ssh child processes are awaited; the server is stopped in finally.
  async fn(t) {
    const sshd = await startSshd();
    try {
      const vm = new SshExecutor("etl_vm", config(sshd));

      await t.step("a task runs on the VM and its value comes back", async () => {
        assert.equal(await invoke(vm, fx.hostname, ["hello"]), `hello from ${Deno.hostname()}`);
      });

      await t.step("stray stdout from the task does not corrupt the result", async () => {
        assert.equal(await invoke(vm, fx.noisy, []), 7);
      });

      await t.step("a remote failure carries its type, message and stack", async () => {
        await assert.rejects(() => invoke(vm, fx.failing, []), (e: Error) => {
          assert.equal(e.name, "RangeError");
          assert.match(e.message, /the model file is corrupt \(on .*@127.0.0.1\)/);
          assert.match(e.stack ?? "", /vm_tasks.ts/);
          assert.match(e.stack ?? "", /remote, on/);
          return true;
        });
      });

      await t.step("a 50 MB table crosses to the VM and back intact", async () => {
        const n = 50 * 1024 * 1024 / 8;
        const table = tableFromArrays({ v: Float64Array.from({ length: n }, (_, i) => i % 1000) });
        const result = await invoke(vm, fx.sumTable, [table]) as {
          rows: number;
          total: number;
          doubled: typeof table;
        };
        assert.equal(result.rows, n);
        let expected = 0;
        for (let i = 0; i < n; i++) expected += i % 1000;
        assert.equal(result.total, expected);
        assert.equal(result.doubled.getChild("v")!.get(999), 1998);
      });

      await t.step("a timeout ends the SSH session and the remote process", async () => {
        const scope = { pipeline: "vm_test", nodeId: "forever", task: fx.forever };
        await assert.rejects(
          () =>
            runAttempts(
              scope,
              (attempt, signal) => vm.execute({ ...scope, runId: "r1", args: [], attempt, signal }),
            ),
          (e: Error) => e instanceof TaskError && e.code === "USER:TASK_TIMEOUT",
        );
        // The remote `timeout -s KILL 3` (the task's 1.5 s, rounded up, plus one) ends the process.
        const remoteLeft = async () =>
          new TextDecoder().decode((await new Deno.Command("ps", { args: ["-eo", "args"] }).output()).stdout)
            .split("\n").filter((line) =>
              line.startsWith("timeout -s KILL 3 ") && line.includes("vm/remote.ts")
            );
        for (let i = 0; i < 40 && (await remoteLeft()).length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(await remoteLeft(), []);
      });

      await t.step("a wrong key is an authentication error that says what to do", async () => {
        const other = `${sshd.dir}/other_key`;
        await new Deno.Command("ssh-keygen", { args: ["-q", "-t", "ed25519", "-N", "", "-f", other] })
          .output();
        const denied = new SshExecutor("etl_vm", config(sshd, { keyFile: other }));
        await assert.rejects(() => invoke(denied, fx.hostname, ["x"]), (e: Error) => {
          assert.ok(e instanceof GlacierError);
          assert.equal(e.code, "USER:SSH_AUTH");
          assert.match(
            e.message,
            /SSH authentication to .*@127.0.0.1:\d+ failed for VM "etl_vm".*ssh-agent or set "keyFile"/,
          );
          return true;
        });
      });

      await t.step("an unknown host key is refused, never accepted silently", async () => {
        const empty = `${sshd.dir}/empty_known_hosts`;
        await Deno.writeTextFile(empty, "");
        const untrusted = new SshExecutor("etl_vm", config(sshd, { knownHostsFile: empty }));
        await assert.rejects(() => invoke(untrusted, fx.hostname, ["x"]), (e: Error) => {
          assert.ok(e instanceof GlacierError);
          assert.equal(e.code, "USER:SSH_HOST_KEY");
          assert.match(e.message, /verify its fingerprint.*ssh-keyscan -p \d+ 127.0.0.1/);
          return true;
        });
        assert.equal(await Deno.readTextFile(empty), "", "the host key was not added");
      });

      await t.step("no key material appears in the payload or errors", async () => {
        const key = await Deno.readTextFile(sshd.keyFile);
        const body = key.split("\n").find((l) => l.length > 40)!;
        await assert.rejects(() => invoke(vm, fx.failing, []), (e: Error) => {
          assert.ok(!e.message.includes(body) && !(e.stack ?? "").includes(body));
          return true;
        });
      });
    } finally {
      await sshd.stop();
    }
    const vm = new SshExecutor("etl_vm", config(sshd));
    await assert.rejects(() => invoke(vm, fx.hostname, ["x"]), (e: Error) => {
      assert.ok(e instanceof GlacierError);
      assert.equal(e.code, "SYSTEM:SSH_CONNECT");
      assert.equal(e.retryable, true);
      assert.match(e.message, /Cannot reach VM "etl_vm" at .*127.0.0.1:\d+ over SSH/);
      return true;
    });
  },
});
