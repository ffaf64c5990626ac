// A call with no timeout that runs past the run's hangWarningMs gets one
// warning naming it and what to do; a call with a timeout is not watched.
import assert from "node:assert/strict";

const MOD = new URL("../../../mod.ts", import.meta.url).href;

Deno.test("a call with no timeout that runs past hangWarningMs is named once on stderr; one with a timeout is not", async () => {
  const script = `import { pipeline, Provider } from ${JSON.stringify(MOD)};
const local = new Provider().local();
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const stuck = local.task(async function stuck(): Promise<number> { await wait(1500); return 1; });
export const bounded = local.task({ timeout: 60_000 }, async function bounded(): Promise<number> { await wait(1500); return 2; });
export const p = pipeline({ name: "hang" }, () => [stuck(), bounded()]);
if (import.meta.main) console.log(JSON.stringify(await p.run({ quiet: true, workers: 0, hangWarningMs: 300 })));`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, "{}");
    await Deno.writeTextFile(`${dir}/p.ts`, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "p.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [1, 2]);
    const warnings = stderr.split("\n").filter((line) => line.includes("has no timeout"));
    assert.equal(warnings.length, 1, stderr);
    assert.match(
      warnings[0],
      /call "stuck" of pipeline "hang" has run \d+ s and task "stuck" has no timeout/,
    );
    assert.match(warnings[0], /Give the task a timeout/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hangWarningMs must be a positive number of milliseconds", async () => {
  const { pipeline, Provider } = await import(MOD);
  const one = new Provider().local().task(function one(): number {
    return 1;
  });
  const p = pipeline({ name: "hang_bad_option" }, () => one());
  await assert.rejects(p.run({ quiet: true, workers: 0, hangWarningMs: 0 }), /"hangWarningMs" is 0/);
});
