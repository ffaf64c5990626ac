// `glacier ui` while runs go, in a real headless Chromium: a pipeline run in
// its own process appears running and then succeeded on pages that are
// never reloaded (server-sent events), its call's log grows as it prints;
// the resume button resumes a failed run and the re-run button runs a
// pipeline again with a run's params (each a real `glacier run` process),
// and without the module that defines a pipeline the buttons say why they
// are off.
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, pageErrors } from "../../support/browser.ts";
import { runIds, runPipeline, startPipeline, startUiProcess, uiProject } from "./_project.ts";

Deno.test("glacier ui shows a running pipeline live: it appears running, then succeeded, without a reload", async () => {
  await using p = await uiProject();
  await using ui = await startUiProcess(p);
  await using browser = await launchBrowser();
  const list = await browser.page();
  const errors = pageErrors(list);
  await list.goto(ui.url);
  await list.waitForSelector("#live:has-text('live')");
  await list.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

  const child = startPipeline(p, "gated", ["--params", `dir=${p.scratch}`]);
  // However the test ends, the run is let go and awaited before the project goes.
  await using _ = {
    async [Symbol.asyncDispose]() {
      await Deno.writeTextFile(join(p.scratch, "go"), "").catch(() => {});
      await child.status;
    },
  };
  await list.waitForSelector('#runs tr[data-status="running"]');
  const runId = await list.getAttribute('#runs tr[data-status="running"]', "data-run");
  assert.ok(runId?.startsWith("gated-"), `a gated run: ${runId}`);
  assert.match(await list.textContent(`#runs tr[data-run="${runId}"] .status-cell`) ?? "", /^running$/);

  const run = await browser.page();
  errors.push(...pageErrors(run));
  await run.goto(`${ui.url}runs/${runId}`);
  await run.waitForSelector("#graph svg g.node.status-running:has(title:text-is('wait'))");
  await run.waitForSelector("#graph svg g.node.status-waiting:has(title:text-is('settle'))");
  await run.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
  assert.equal(await run.textContent("#run-status"), "running");
  assert.equal(await run.isDisabled("#resume"), true, "a run that goes cannot be resumed");
  assert.match(await run.textContent("#resume-reason") ?? "", /still going/);
  await run.click("tr[data-call=wait] button[data-log-file]");
  await run.waitForSelector('pre[data-log="wait.1.log"]:has-text("waiting for the go file")');

  await Deno.writeTextFile(join(p.scratch, "go"), "");
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));

  await list.waitForSelector(`#runs tr[data-run="${runId}"][data-status="succeeded"]`);
  await run.waitForSelector("#run-status:has-text('succeeded')");
  await run.waitForSelector("#graph svg g.node.status-done:has(title:text-is('settle'))");
  assert.equal(await run.getAttribute("tr[data-call=wait]", "data-status"), "done");
  await run.locator('pre[data-log="wait.1.log"]', { hasText: /\ngo\n$/ }).waitFor();
  assert.equal(
    await run.textContent('pre[data-log="wait.1.log"]'),
    "waiting for the go file\ngo\n",
    "the log was appended to, not read twice",
  );
  for (const page of [list, run]) {
    assert.equal(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded), true);
  }
  assert.deepEqual(errors, []);
});

Deno.test("the resume button resumes a failed run: the new run appears, restores what finished and succeeds", async () => {
  await using p = await uiProject();
  const failed = await runPipeline(p, "fixable", ["--params", `dir=${p.scratch}`]);
  assert.equal(failed.code, 1, failed.stderr);
  const [failedRun] = await runIds(p, "fixable");
  await using ui = await startUiProcess(p);
  await using browser = await launchBrowser();
  const page = await browser.page();
  const errors = pageErrors(page);
  await page.goto(`${ui.url}runs/${failedRun}`);
  await page.waitForSelector(".error-box[data-error=check]:has-text('create the \"fixed\" file')");
  assert.equal(await page.isEnabled("#resume"), true);

  await Deno.writeTextFile(join(p.scratch, "fixed"), "");
  await page.click("#resume");
  // The action's line is drawn again as the page updates: found by selector each time, never held.
  await page.waitForSelector("#action-log a.new-run");
  const newRun = await page.textContent("#action-log a.new-run");
  assert.ok(newRun?.startsWith("fixable-") && newRun !== failedRun, `a new run: ${newRun}`);
  assert.match(
    await page.textContent("#action-log") ?? "",
    /glacier run .*shop\.ts --pipeline fixable --resume --run /,
  );
  await page.click("#action-log a.new-run");
  await page.waitForURL(`${ui.url}runs/${newRun}`);
  await page.waitForSelector("#run-status:has-text('succeeded')");
  assert.match(
    await page.textContent("tr[data-call=prepare]") ?? "",
    new RegExp(`restored from ${failedRun}`),
  );
  assert.equal(await page.getAttribute("tr[data-call=check]", "data-status"), "done");
  assert.match(await page.textContent(".facts") ?? "", new RegExp(`resumed ${failedRun}`));
  await page.goto(ui.url);
  await page.waitForSelector(`#runs tr[data-run="${newRun}"][data-status="succeeded"]`);
  assert.deepEqual(
    await page.$$eval("#runs tr[data-run]", (trs) => trs.map((tr) => tr.getAttribute("data-status"))),
    ["succeeded", "failed"],
  );
  assert.deepEqual(errors, []);
});

Deno.test("the re-run button runs a pipeline again with the run's params and data root", async () => {
  await using p = await uiProject();
  const first = await runPipeline(p, "shop", ["--data-root", "data"]);
  assert.equal(first.code, 0, first.stderr);
  const [firstRun] = await runIds(p, "shop");
  await using ui = await startUiProcess(p);
  await using browser = await launchBrowser();
  const page = await browser.page();
  await page.goto(`${ui.url}runs/${firstRun}`);
  await page.waitForSelector("#rerun");
  assert.equal(await page.isDisabled("#resume"), true);
  assert.match(await page.textContent("#resume-reason") ?? "", /succeeded: there is nothing to resume/);
  await page.click("#rerun");
  await page.waitForSelector("#action-log a.new-run");
  const second = await page.textContent("#action-log a.new-run");
  await page.click("#action-log a.new-run");
  await page.waitForURL(`${ui.url}runs/${second}`);
  await page.waitForSelector("#run-status:has-text('succeeded')");
  const reports = await Promise.all(
    [firstRun, second!].map(async (id) => JSON.parse(await Deno.readTextFile(join(p.runs, `${id}.json`)))),
  );
  assert.deepEqual(reports[1].params, reports[0].params);
  assert.equal(reports[1].dataRoot, reports[0].dataRoot);
  assert.equal(reports[1].resumedFrom, undefined, "a new run, not a resumed one");
});

Deno.test("without the module that defines a pipeline the buttons are off and say why; given the file they work", async () => {
  await using p = await uiProject();
  const failed = await runPipeline(p, "fixable", ["--params", `dir=${p.scratch}`]);
  assert.equal(failed.code, 1, failed.stderr);
  const [runId] = await runIds(p, "fixable");
  // As a Glacier from before reports named their module wrote it.
  const path = join(p.runs, `${runId}.json`);
  const { module: _, ...old } = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify(old, null, 2));
  await using browser = await launchBrowser();
  const page = await browser.page();
  {
    await using ui = await startUiProcess(p);
    await page.goto(`${ui.url}runs/${runId}`);
    await page.waitForSelector("#resume-reason");
    assert.equal(await page.isDisabled("#resume"), true);
    assert.equal(await page.isDisabled("#rerun"), true);
    assert.match(
      await page.textContent("#resume-reason") ?? "",
      /does not name the module that defines pipeline "fixable" .*: start the UI with that file, glacier ui path\/to\/pipeline\.ts/,
    );
  }
  await using ui = await startUiProcess(p, p.file);
  await page.goto(`${ui.url}runs/${runId}`);
  await page.waitForSelector("#resume");
  assert.equal(await page.isEnabled("#resume"), true);
  assert.equal(await page.isEnabled("#rerun"), true);
});
