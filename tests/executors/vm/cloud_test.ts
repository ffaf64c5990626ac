// Cloud mode wires VM-bound tasks to the SSH executor: a pipeline with an
// EC2 task runs it over a real OpenSSH server.
import assert from "node:assert/strict";
import { type Sshd, startSshd } from "../../support/sshd.ts";

Deno.test({
  name: "A cloud run sends a VM-bound task over SSH and keeps local tasks local",
  async fn() {
    const sshd: Sshd = await startSshd();
    Deno.env.set(
      "GLACIER_TEST_SSH",
      JSON.stringify({
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        keyFile: sshd.keyFile,
        knownHostsFile: sshd.knownHostsFile,
        deno: Deno.execPath(),
      }),
    );
    try {
      const { vmPipeline } = await import("./fixtures/vm_cloud_pipeline.ts");
      const result = await vmPipeline.run({ mode: "cloud", params: { rows: 4 }, quiet: true });
      assert.equal(result.total, 10);
      assert.notEqual(result.pid, Deno.pid, "the task ran in another process");
      const byId = Object.fromEntries(vmPipeline.lastRun!.tasks.map((task) => [task.id, task]));
      assert.equal(byId.make.executor, "local");
      assert.equal(byId.summarize.status, "done");
      assert.equal(byId.summarize.executor, "ec2");
      assert.equal(byId.summarize.ranOn, "ec2");
    } finally {
      Deno.env.delete("GLACIER_TEST_SSH");
      await sshd.stop();
    }
  },
});
