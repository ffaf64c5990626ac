// The log tail a remote call brings back: capped as Lambda's is, cut lines
// said to be cut, Lambda's own lines left out, a foreign header ignored.
import assert from "node:assert/strict";
import {
  lambdaLogLines,
  LOG_TAIL_CHARS,
  LogTail,
  relayFunctionLog,
  relayLambdaLog,
} from "../../executors/_remote_log.ts";
import type { LogStream } from "../../src/run/task_log.ts";

type Base64Array = Uint8Array & { toBase64(): string };
const b64 = (text: string) => (new TextEncoder().encode(text) as Base64Array).toBase64();

function collect(): { sink: (stream: LogStream, text: string) => void; lines: [LogStream, string][] } {
  const lines: [LogStream, string][] = [];
  return { sink: (stream, text) => lines.push([stream, text]), lines };
}

Deno.test("a function's log tail keeps streams and order, and says where the rest is when cut", () => {
  const small = new LogTail();
  small.add("stdout", "rows: 3\n");
  small.add("stderr", "slow input\n");
  const got = collect();
  relayFunctionLog(small.header(), got.sink, "Cloud Logging");
  assert.deepEqual(got.lines, [["stdout", "rows: 3\n"], ["stderr", "slow input\n"]]);

  const big = new LogTail();
  for (let i = 0; i < 1000; i++) big.add(i % 2 ? "stderr" : "stdout", `line ${i}\n`);
  const total = big.lines.reduce((n, [, text]) => n + text.length, 0);
  assert.equal(total, LOG_TAIL_CHARS);
  assert.equal(big.lines.at(-1)![1], "line 999\n");
  const cut = collect();
  relayFunctionLog(big.header(), cut.sink, 'Cloud Logging of Cloud Run function "f"');
  assert.deepEqual(cut.lines[0], [
    "stderr",
    '[glacier: earlier output is in Cloud Logging of Cloud Run function "f"]\n',
  ]);
  assert.deepEqual(cut.lines.at(-1), ["stderr", "line 999\n"]);

  const one = new LogTail();
  one.add("stdout", "x".repeat(LOG_TAIL_CHARS * 3) + "end\n");
  assert.equal(one.lines[0][1].length, LOG_TAIL_CHARS);
  assert.ok(one.lines[0][1].endsWith("end\n"));
});

Deno.test("a header that is not Glacier's, or no sink, relays nothing", () => {
  const got = collect();
  relayFunctionLog("not base64 json", got.sink, "x");
  relayFunctionLog(b64('{"other":1}'), got.sink, "x");
  relayFunctionLog(null, got.sink, "x");
  assert.deepEqual(got.lines, []);
  relayFunctionLog(new LogTail().header(), undefined, "x"); // no throw
});

Deno.test("a Lambda tail relays the task's lines without START/END/REPORT, and a cut first line is dropped", () => {
  const whole = [
    "START RequestId: 1 Version: $LATEST",
    "rows: 3",
    "done",
    "END RequestId: 1",
    "REPORT RequestId: 1\tDuration: 2.00 ms",
    "",
  ].join("\n");
  const got = collect();
  relayLambdaLog(b64(whole), got.sink, "CloudWatch Logs group /aws/lambda/f");
  assert.deepEqual(got.lines, [["stdout", "rows: 3\n"], ["stdout", "done\n"]]);

  const tail = "ial line\nrows: 3\nEND RequestId: 1\n";
  assert.deepEqual(lambdaLogLines(b64(tail)), { lines: ["rows: 3"], cut: true });
  const cut = collect();
  relayLambdaLog(b64(tail), cut.sink, "CloudWatch Logs group /aws/lambda/f");
  assert.deepEqual(cut.lines, [
    ["stderr", "[glacier: earlier output is in CloudWatch Logs group /aws/lambda/f]\n"],
    ["stdout", "rows: 3\n"],
  ]);
});
