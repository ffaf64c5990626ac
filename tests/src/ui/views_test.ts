// `glacier ui`'s pages in a real headless Chromium, over the run state of
// real runs: the runs list, a run's graph with each node's state, a failed
// task's error and stack, a task's log (from its row and from its node in
// the graph), a pipeline's static analysis, and the 404 page of a run id
// that names no report.
import assert from "node:assert/strict";
import { launchBrowser, pageErrors } from "../../support/browser.ts";
import { runIds, runPipeline, startUiProcess, uiProject } from "./_project.ts";

Deno.test("glacier ui shows the runs, a run's graph, errors and logs, and a pipeline's analysis", async (t) => {
  await using p = await uiProject();
  const shop = await runPipeline(p, "shop", ["--data-root", "data"]);
  assert.equal(shop.code, 0, shop.stderr);
  const broken = await runPipeline(p, "broken");
  assert.equal(broken.code, 1, broken.stderr);
  const [shopRun] = await runIds(p, "shop");
  const [brokenRun] = await runIds(p, "broken");
  await using ui = await startUiProcess(p); // the working directory's project
  await using browser = await launchBrowser();
  const page = await browser.page();
  const errors = pageErrors(page);

  await t.step(
    "the runs list: every pipeline's runs, newest first, with status, duration and params",
    async () => {
      await page.goto(ui.url);
      await page.waitForSelector("#runs tbody tr[data-run]");
      const rows = await page.$$eval("#runs tbody tr[data-run]", (trs) =>
        trs.map((tr) => ({
          id: tr.getAttribute("data-run"),
          status: tr.querySelector(".status-cell")!.textContent,
          cells: [...tr.querySelectorAll("td")].map((td) => td.textContent),
        })));
      assert.deepEqual(rows.map((r) => [r.id, r.status]), [[brokenRun, "failed"], [shopRun, "succeeded"]]);
      const [, shopRow] = rows;
      assert.equal(shopRow.cells[1], "shop");
      assert.match(shopRow.cells[4]!, /\d+(\.\d)? (ms|s)$/, "a finished run shows its duration");
      assert.match(shopRow.cells[5]!, /^5 done$/);
      await page.waitForSelector('#nav a[href="/pipelines/shop"]');
      assert.deepEqual(
        await page.$$eval("#nav a", (as) => as.map((a) => a.textContent)),
        ["Runs", "broken", "shop"],
        "each pipeline has a page",
      );
    },
  );

  await t.step(
    "a run: the DAG coloured by each node's state, and its calls with where and how long they ran",
    async () => {
      await page.click(`a[href="/runs/${shopRun}"]`);
      await page.waitForSelector("#graph svg g.node");
      const nodes = await page.$$eval(
        "#graph svg g.node:not(.data)",
        (gs) => gs.map((g) => [g.querySelector("title")!.textContent, g.getAttribute("class")]),
      );
      assert.deepEqual(
        nodes.sort(),
        [["clean", "node status-done"], ["count", "node status-done"], ["extract", "node status-done"], [
          "save",
          "node status-done",
        ], ["score", "node status-done"]],
      );
      const fill = await page.$eval(
        "#graph svg g.node.status-done polygon",
        (polygon) => polygon.getAttribute("fill"),
      );
      assert.equal(fill, "#b6e3a8", "done nodes are filled green");
      assert.match(
        await page.textContent("#graph svg g.node:has(title:text-is('score'))") ?? "",
        /scorer[\s\S]*done · /,
      );
      const score = await page.$$eval("tr[data-call=score] td", (tds) => tds.map((td) => td.textContent));
      assert.equal(score[2], "scorer", "the executor it is bound to");
      assert.equal(score[3], "worker", "where it ran");
      assert.equal(score[4], "done");
      assert.equal(score[5], "1", "attempts");
      assert.match(score[6]!, /ms$/, "queued time");
      assert.match(score[7]!, /ms$/, "run time");
      assert.equal(await page.textContent("#run-status"), "succeeded");
    },
  );

  await t.step("a node of the graph opens its call's log", async () => {
    await page.click("#graph svg g.node:has(title:text-is('extract'))");
    const log = await page.waitForSelector('pre[data-log="extract.1.log"]:has-text("read 8 orders")');
    assert.match(await log.textContent() ?? "", /^reading s3:\/\/shop\/raw\/orders\.json\nread 8 orders\n$/);
    assert.equal(await page.getAttribute("tr[data-call=extract]", "class"), "selected");
  });

  await t.step(
    "a failed run: the failing task's error, what it printed last and its stack; the call after it skipped",
    async () => {
      await page.goto(`${ui.url}runs/${brokenRun}`);
      const box = await page.waitForSelector(".error-box[data-error=parse]");
      assert.match(
        await box.$eval(".message", (m) => m.textContent ?? ""),
        /Task "parse" of pipeline "broken" failed on attempt 1: No rows in orders\.csv: the file has no header row/,
      );
      assert.match(await box.textContent() ?? "", /orders\.csv has no header row/, "its log tail");
      await page.click(".error-box[data-error=parse] details:has(.stack) summary");
      assert.match(await box.$eval("pre.stack", (s) => s.textContent ?? ""), /TaskError: Task "parse"/);
      assert.deepEqual(
        await page.$$eval(
          "#graph svg g.node:not(.data)",
          (gs) => gs.map((g) => [g.querySelector("title")!.textContent, g.getAttribute("class")]).sort(),
        ),
        [["count", "node status-skipped"], ["parse", "node status-failed"]],
      );
      assert.match(await page.textContent("tr[data-call=count]") ?? "", /skipped after parse/);
      assert.equal(await page.textContent("#run-status"), "failed");
    },
  );

  await t.step("a task's log, from its row", async () => {
    await page.click('button[data-log-file="parse.1.log"]');
    const log = await page.waitForSelector('pre[data-log="parse.1.log"]:has-text("parsing part 3")');
    assert.equal(
      await log.textContent(),
      "parsing part 1\nparsing part 2\nparsing part 3\norders.csv has no header row\n",
    );
    assert.equal(await page.textContent('button[data-log-file="parse.1.log"]'), "hide log");
  });

  await t.step(
    "a pipeline: its static DAG, executors, data sources and sinks, and the cost estimate",
    async () => {
      await page.goto(`${ui.url}pipelines/shop`);
      await page.waitForSelector("#graph svg g.node");
      assert.deepEqual(
        (await page.$$eval("#graph svg g.node title", (ts) => ts.map((t) => t.textContent))).filter((t) =>
          !t!.startsWith("legend:") && !t!.startsWith("s3:")
        ).sort(),
        ["clean", "count", "extract", "save", "score"],
      );
      assert.equal(await page.textContent("#pipeline-file"), p.file);
      const scorer = await page.$$eval(
        "tr[data-executor=scorer] td",
        (tds) => tds.map((td) => td.textContent),
      );
      assert.deepEqual(scorer.slice(0, 3), ["scorer", "serverless", "lambda"]);
      assert.match(scorer[3]!, /1024 MB/);
      assert.equal(scorer[4], "score");
      assert.match(await page.textContent("#sources") ?? "", /s3:\/\/shop\/raw\/orders\.json → extract/);
      assert.match(await page.textContent("#sinks") ?? "", /save → s3:\/\/shop\/out\/summary\.json/);
      assert.match(await page.textContent("#cost .big") ?? "", /^\$/);
      assert.match(await page.textContent("#cost") ?? "", /per month/);
      assert.deepEqual(
        await page.$$eval("#runs tr[data-run]", (trs) => trs.map((tr) => tr.getAttribute("data-run"))),
        [
          shopRun,
        ],
      );
    },
  );

  assert.deepEqual(errors, [], "the page's script ran without errors");

  await t.step(
    "a run id that names no report: a 404 page that names it and says where runs are",
    async () => {
      const res = await page.goto(`${ui.url}runs/shop-nope`);
      assert.equal(res?.status(), 404);
      assert.match(
        await page.textContent("#error") ?? "",
        /^No run "shop-nope" in .*\.glacier\/runs: pick one from the runs list at \/, or give the name of a report there without \.json$/,
      );
    },
  );

  const stopped = await ui.stop();
  assert.equal(stopped.code, 143, stopped.stderr);
});
