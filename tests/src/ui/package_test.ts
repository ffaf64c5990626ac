// `glacier ui` from the package as a user gets it: a project outside this
// checkout runs `deno run -A jsr:@glacier/glacier@<version>/cli ui` from a
// local JSR registry (tests/support/jsr_registry.ts, through JSR_URL), so
// the page's assets come from remote modules, not files; the page loads in
// Chromium, and its resume button runs the remote `cli.ts` again.
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, pageErrors } from "../../support/browser.ts";
import { npmCache, startJsrRegistry } from "../../support/jsr_registry.ts";

Deno.test({
  name:
    "glacier ui served from the JSR package: its pages load and its resume button runs the package's command",
  sanitizeResources: false,
  async fn() {
    const registry = await startJsrRegistry();
    const dir = await Deno.makeTempDir({ prefix: "glacier-ui-user-" });
    try {
      const denoDir = join(dir, ".deno");
      await Deno.mkdir(denoDir);
      await Deno.symlink(await npmCache(), join(denoDir, "npm"));
      const spec = `jsr:${registry.name}@${registry.version}`;
      const env = { JSR_URL: registry.url, DENO_DIR: denoDir, NO_COLOR: "1" };
      await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
      await Deno.writeTextFile(
        join(dir, "pipeline.ts"),
        `import { pipeline, Provider } from "${spec}";
const local = new Provider().local();
export const numbers = local.task(function numbers(n: number) {
  return Array.from({ length: n }, (_, i) => i);
});
export const total = local.task(async function total(xs: number[]) {
  try {
    await Deno.stat(new URL("./fixed", import.meta.url));
  } catch {
    throw new Error("not fixed yet");
  }
  return xs.reduce((a, b) => a + b, 0);
});
export const sum = pipeline({ name: "sum" }, (p: { n?: number }) => total(numbers(p.n ?? 10)));
`,
      );
      const command = (args: string[]) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${spec}/cli`, ...args],
          cwd: dir,
          env,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        });
      const failed = await command(["run", "pipeline.ts", "--params", "n=4", "--quiet"]).output();
      assert.equal(failed.code, 1, new TextDecoder().decode(failed.stderr));

      const ui = command(["ui"]).spawn();
      const reader = ui.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let printed = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += value;
        url = /glacier ui: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(printed)?.[1];
      }
      const stderr = new Response(ui.stderr).text();
      try {
        assert.ok(url, `glacier ui printed no URL: ${printed}`);
        await using browser = await launchBrowser();
        const page = await browser.page();
        const errors = pageErrors(page);
        await page.goto(url);
        await page.waitForSelector('#runs tr[data-status="failed"]');
        const runId = await page.getAttribute('#runs tr[data-status="failed"]', "data-run");
        await page.click(`a[href="/runs/${runId}"]`);
        await page.waitForSelector(".error-box[data-error=total]:has-text('not fixed yet')");
        await page.waitForSelector("#graph svg g.node.status-failed:has(title:text-is('total'))");
        await Deno.writeTextFile(join(dir, "fixed"), "");
        await page.click("#resume");
        const command = await page.textContent("#action-log code");
        assert.match(command ?? "", /^glacier run .*pipeline\.ts --pipeline sum --resume --run /);
        await page.click("#action-log a.new-run");
        await page.waitForSelector("#run-status:has-text('succeeded')");
        assert.match(await page.textContent("tr[data-call=numbers]") ?? "", /restored from /);
        await page.goto(`${url}pipelines/sum`);
        await page.waitForSelector("#graph svg g.node");
        assert.equal(await page.textContent("#pipeline-file"), join(dir, "pipeline.ts"));
        assert.deepEqual(errors, []);
        assert.ok(
          registry.requests.some((r) => r.endsWith("/src/ui/_script.ts")),
          "the page script came from the registry",
        );
      } finally {
        ui.kill("SIGTERM");
        assert.equal((await ui.status).code, 143, await stderr);
        await reader.cancel().catch(() => {});
      }
    } finally {
      await registry.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
