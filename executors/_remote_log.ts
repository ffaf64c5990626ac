// A remote call's console output, brought back to the caller's task log: the
// far side keeps the tail of what the task printed, and the executor hands it
// to the invocation's `onLog`, so `.glacier/logs/<run>/<call>.<attempt>.log`,
// `glacier logs` and a failed call's error show a Lambda's, Cloud Run
// function's or Azure Function's lines as they show a local call's.
//
// Lambda gives the last 4 KB of the invocation's log (`LogType: Tail`,
// base64 in `LogResult`), its own START/END/REPORT lines among the task's.
// The HTTP function runtimes send the same amount in `x-glacier-log-tail`:
// base64 of `{ dropped, lines: [stream, text][] }`. What came before the tail
// is in the service's own logs (CloudWatch, Cloud Logging, Application
// Insights), which the relayed log says when it is cut.
import type { LogSink, LogStream } from "../src/run/task_log.ts";

/** The header the HTTP function runtimes send the task's log tail in. */
export const LOG_TAIL_HEADER = "x-glacier-log-tail";

/** How much of a remote call's output comes back, in characters (Lambda's tail is 4 KB). */
export const LOG_TAIL_CHARS = 4096;

type Base64Array = Uint8Array & { toBase64(): string };
const fromBase64 = (Uint8Array as unknown as { fromBase64(text: string): Uint8Array }).fromBase64;

/** The last {@linkcode LOG_TAIL_CHARS} characters a call printed, with their streams. */
export class LogTail {
  readonly #lines: [LogStream, string][] = [];
  #chars = 0;
  #dropped = false;

  /** Keeps one piece of output, dropping the oldest past the cap. */
  add(stream: LogStream, text: string): void {
    this.#lines.push([stream, text]);
    this.#chars += text.length;
    while (this.#chars > LOG_TAIL_CHARS) {
      const first = this.#lines[0];
      const over = this.#chars - LOG_TAIL_CHARS;
      this.#dropped = true;
      if (this.#lines.length > 1 && first[1].length <= over) {
        this.#lines.shift();
        this.#chars -= first[1].length;
      } else {
        first[1] = first[1].slice(over);
        this.#chars -= over;
      }
    }
  }

  /** The kept output. */
  get lines(): readonly (readonly [LogStream, string])[] {
    return this.#lines;
  }

  /** The header value: base64 JSON, ASCII as headers must be. */
  header(): string {
    const json = JSON.stringify({ dropped: this.#dropped, lines: this.#lines });
    return (new TextEncoder().encode(json) as Base64Array).toBase64();
  }
}

/**
 * Relays an HTTP function's `x-glacier-log-tail` to the call's log.
 *
 * @param header The header's value, if the runtime sent one.
 * @param onLog The invocation's log sink.
 * @param where Where the full log is, for a cut tail (`Cloud Logging of Cloud Run function "f"`).
 */
export function relayFunctionLog(header: string | null, onLog: LogSink | undefined, where: string): void {
  if (!header || !onLog) return;
  let tail: { dropped?: unknown; lines?: unknown };
  try {
    tail = JSON.parse(new TextDecoder().decode(fromBase64(header)));
  } catch {
    return; // a proxy's header of the same name: nothing of the task's
  }
  if (!Array.isArray(tail.lines)) return;
  if (tail.dropped === true) onLog("stderr", `[glacier: earlier output is in ${where}]\n`);
  for (const line of tail.lines) {
    if (!Array.isArray(line) || typeof line[1] !== "string") continue;
    onLog(line[0] === "stderr" ? "stderr" : "stdout", line[1]);
  }
}

// Lambda's own lines in an invocation's log.
const PLATFORM_LINE =
  /^(START|END|REPORT|INIT_START|INIT_REPORT|RESTORE_START|RESTORE_REPORT|EXTENSION|TELEMETRY)\b/;

/**
 * Relays a Lambda invocation's `LogResult` (the last 4 KB of its log) to the
 * call's log, without Lambda's own START/END/REPORT lines. Lambda keeps no
 * streams apart, so the lines go to stdout.
 *
 * @param logResult The base64 `LogResult` of the Invoke response.
 * @param onLog The invocation's log sink.
 * @param where Where the full log is (`CloudWatch Logs group /aws/lambda/f`).
 */
export function relayLambdaLog(
  logResult: string | undefined,
  onLog: LogSink | undefined,
  where: string,
): void {
  if (!logResult || !onLog) return;
  const lines = lambdaLogLines(logResult);
  if (lines.cut) onLog("stderr", `[glacier: earlier output is in ${where}]\n`);
  for (const line of lines.lines) onLog("stdout", `${line}\n`);
}

/**
 * The task's lines in a Lambda `LogResult`: decoded, Lambda's own lines
 * left out, and a first line cut by the 4 KB tail dropped.
 *
 * @param logResult The base64 `LogResult`.
 * @returns The lines, and whether the log began before the tail.
 */
export function lambdaLogLines(logResult: string): { lines: string[]; cut: boolean } {
  const text = new TextDecoder().decode(fromBase64(logResult));
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  // The whole log starts with START (or an INIT line); a tail that does not was cut.
  const cut = lines.length > 0 && !PLATFORM_LINE.test(lines[0]);
  if (cut) lines.shift();
  return { lines: lines.filter((line) => !PLATFORM_LINE.test(line)), cut };
}
