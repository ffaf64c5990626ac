// Screenshots of `glacier ui`'s main views for the docs, taken the way the
// tests drive it: a temp project with the UI tests' pipelines, real runs
// (one succeeded, one failed, one resumed after a fix, one still going), the
// `glacier ui` command, and headless Chromium (Debian's /usr/bin/chromium).
//
//   deno run -A --config tests/deno.test.json tools/ui_screenshots.ts
//
// Writes docs/ui/runs.png, run.png, run_failed.png and pipeline.png.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "../tests/support/browser.ts";
import {
  runIds,
  runPipeline,
  startPipeline,
  startUiProcess,
  uiProject,
  until,
} from "../tests/src/ui/_project.ts";

const OUT = fileURLToPath(new URL("../docs/ui/", import.meta.url));
await Deno.mkdir(OUT, { recursive: true });

await using p = await uiProject();
const must = (what: string, result: { code: number; stderr: string }, code = 0) => {
  if (result.code !== code) throw new Error(`${what} exited ${result.code}: ${result.stderr}`);
};
must("shop", await runPipeline(p, "shop", ["--data-root", "data"]));
must("fixable", await runPipeline(p, "fixable", ["--params", `dir=${p.scratch}`]), 1);
await Deno.writeTextFile(join(p.scratch, "fixed"), "");
must("fixable --resume", await runPipeline(p, "fixable", ["--resume"]));
must("broken", await runPipeline(p, "broken"), 1);
const gated = startPipeline(p, "gated", ["--params", `dir=${p.scratch}`]);

await using ui = await startUiProcess(p);
await using browser = await launchBrowser();
const page = await browser.page();
const shot = async (name: string) => {
  await page.screenshot({ path: join(OUT, name), fullPage: true });
  console.log(join("docs/ui", name));
};

await until("the gated run to go", async () => (await runIds(p, "gated")).length === 1);
await page.goto(ui.url);
await page.waitForSelector('#runs tr[data-status="running"]');
await page.waitForSelector('#nav a[href="/pipelines/shop"]');
await shot("runs.png");

const [shopRun] = await runIds(p, "shop");
await page.goto(`${ui.url}runs/${shopRun}`);
await page.waitForSelector("#graph svg g.node");
await page.click("#graph svg g.node:has(title:text-is('extract'))");
await page.waitForSelector('pre[data-log="extract.1.log"]:has-text("read 8 orders")');
await shot("run.png");

const [brokenRun] = await runIds(p, "broken");
await page.goto(`${ui.url}runs/${brokenRun}`);
await page.waitForSelector(".error-box[data-error=parse]");
await page.click('button[data-log-file="parse.1.log"]');
await page.waitForSelector('pre[data-log="parse.1.log"]:has-text("parsing part 3")');
await shot("run_failed.png");

await page.goto(`${ui.url}pipelines/shop`);
await page.waitForSelector("#graph svg g.node");
await page.waitForSelector("#cost .big");
await shot("pipeline.png");

await Deno.writeTextFile(join(p.scratch, "go"), "");
await gated.output();
