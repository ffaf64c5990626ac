// `glacier ui` as a server, over HTTP: what it refuses (bad usage, a port in
// use, another host's name, a run started from another site), how it stops
// (SIGINT and SIGTERM, with a page still listening), and that stopping it
// stops the runs it started, which end interrupted and resumable.
import assert from "node:assert/strict";
import { join } from "node:path";
import { glacier } from "../../support/cli.ts";
import { runIds, runPipeline, startUiProcess, uiProject, until } from "./_project.ts";

Deno.test("glacier ui refuses a bad port and a missing folder, with the way out", async () => {
  const port = await glacier(["ui", "--port", "http"]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port "http" is not a port: give 1 to 65535, or 0 for a free one/);
  const missing = await glacier(["ui", "/no/such/project"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /No such file or folder "\/no\/such\/project": give a pipeline file or a project folder/,
  );
  const help = await glacier(["ui", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: glacier ui \[file\.ts \| folder\] \[options\]/);
});

Deno.test("glacier ui --port binds that port on 127.0.0.1, and a port in use is an error that says what to do", async () => {
  await using p = await uiProject();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  await using ui = await startUiProcess(p, undefined, ["--port", String(port)]);
  assert.equal(ui.url, `http://127.0.0.1:${port}/`);
  await assert.rejects(startUiProcess(p, undefined, ["--port", String(port)]), (error: Error) => {
    assert.match(
      error.message,
      new RegExp(
        `exited 1 before printing its URL[\\s\\S]*Port ${port} on 127\\.0\\.0\\.1 is in use: give another with --port, or --port 0`,
      ),
    );
    return true;
  });
});

// A request with the Host header given, which fetch() does not let a caller set.
async function rawGet(port: number, host: string, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  );
  return await new Response(conn.readable).text();
}

Deno.test("the server answers to its own address only, and starts runs only from its own page", async () => {
  await using p = await uiProject();
  assert.equal((await runPipeline(p, "broken")).code, 1);
  const [runId] = await runIds(p, "broken");
  await using ui = await startUiProcess(p);
  const port = Number(new URL(ui.url).port);
  assert.match(await rawGet(port, `127.0.0.1:${port}`, "/api/runs"), /^HTTP\/1\.1 200/);
  assert.match(await rawGet(port, `localhost:${port}`, "/api/runs"), /^HTTP\/1\.1 200/);
  const rebound = await rawGet(port, `attacker.example:${port}`, "/api/runs");
  assert.match(rebound, /^HTTP\/1\.1 421/);
  assert.match(
    rebound,
    /answers at http:\/\/127\.0\.0\.1:\d+\/ only, not through host "attacker\.example:\d+"/,
  );

  const resume = new URL(`api/runs/${runId}/resume`, ui.url);
  const form = await fetch(resume, { method: "POST", body: "x=1" }); // what a form on another site sends
  assert.equal(form.status, 403);
  assert.match((await form.json()).error, /from the UI's own page only/);
  const foreign = await fetch(resume, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://attacker.example" },
    body: "{}",
  });
  assert.equal(foreign.status, 403);
  await foreign.body?.cancel();
  assert.equal((await runIds(p, "broken")).length, 1, "no run was started");

  const unknown = await fetch(new URL("api/runs/broken-nope", ui.url));
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error, /^No run "broken-nope" in .*\/\.glacier\/runs/);
  const outside = await fetch(new URL(`api/runs/${runId}/logs/..%2F..%2Fruns%2F${runId}.1.log`, ui.url));
  assert.equal(outside.status, 404, "a log name cannot leave the run's log folder");
  await outside.body?.cancel();
  const pipeline = await fetch(new URL("pipelines/nope", ui.url));
  assert.equal(pipeline.status, 404);
  assert.match(
    await pipeline.text(),
    /No pipeline "nope" has run in this project: its pipelines are "broken"/,
  );
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} stops glacier ui cleanly (exit ${code}) while a page listens for changes`, async () => {
    await using p = await uiProject();
    await using ui = await startUiProcess(p);
    const events = await fetch(new URL("api/events", ui.url));
    const reader = events.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /^: glacier ui/);
    const stopped = await ui.stop(signal);
    assert.equal(stopped.code, code, stopped.stderr);
    assert.match(stopped.stderr, /glacier ui: stopped/);
    assert.equal((await reader.read()).done, true, "the event stream was closed");
    await assert.rejects(fetch(ui.url), "nothing listens on the port any more");
  });
}

Deno.test("stopping glacier ui stops the runs it started: they end interrupted and can be resumed", async () => {
  await using p = await uiProject();
  await Deno.writeTextFile(join(p.scratch, "go"), "");
  assert.equal((await runPipeline(p, "gated", ["--params", `dir=${p.scratch}`])).code, 0);
  await Deno.remove(join(p.scratch, "go"));
  const [first] = await runIds(p, "gated");
  await using ui = await startUiProcess(p);
  const res = await fetch(new URL(`api/runs/${first}/rerun`, ui.url), {
    method: "POST",
    headers: { "content-type": "application/json", origin: ui.url.slice(0, -1) },
    body: "{}",
  });
  assert.equal(res.status, 202);
  const { action } = await res.json();
  assert.deepEqual(action.command.slice(0, 4), ["glacier", "run", p.file, "--pipeline"]);
  await until("the re-run to wait for its go file", async () => {
    const ids = await runIds(p, "gated");
    if (ids.length < 2) return false;
    const journal = await Deno.readTextFile(join(p.runs, `${ids[1]}.journal.jsonl`)).catch(() => "");
    return journal.includes('"node":"wait","status":"running"');
  });
  const stopped = await ui.stop("SIGTERM");
  assert.equal(stopped.code, 143, stopped.stderr);
  const [, second] = await runIds(p, "gated");
  const report = JSON.parse(await Deno.readTextFile(join(p.runs, `${second}.json`)));
  assert.equal(report.status, "interrupted");
  assert.deepEqual(report.params, { dir: p.scratch });
  await Deno.writeTextFile(join(p.scratch, "go"), "");
  const resumed = await runPipeline(p, "gated", ["--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
});
