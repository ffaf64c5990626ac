// A small HCL writer: blocks, attributes, literals and raw expressions, with
// map keys in sorted order so the same model always gives the same text.
import { commentText, escapeTemplate, hclStr } from "./_escape.ts";

/** An HCL expression written as is (a reference or a function call). */
export class Raw {
  readonly text: string;
  /** Whether it holds a heredoc, whose lines keep their indent. */
  readonly heredoc: boolean;
  constructor(text: string, heredoc = false) {
    this.text = text;
    this.heredoc = heredoc;
  }
}

/** A raw expression. */
export const raw = (text: string): Raw => new Raw(text);

/** A value: literal, expression, list or object. */
export type HclValue = string | number | boolean | Raw | readonly HclValue[] | {
  readonly [key: string]: HclValue;
};

/** A block: `type "label" { … }`. */
export interface Block {
  readonly type: string;
  readonly labels: readonly string[];
  readonly body: readonly Entry[];
  /** A comment line above the block. */
  readonly comment?: string;
}

/** An attribute, a nested block, or nothing (skipped). */
export type Entry = readonly [string, HclValue] | Block | undefined | false;

/** A block. */
export function block(
  type: string,
  labels: readonly string[],
  body: readonly Entry[],
  comment?: string,
): Block {
  return { type, labels, body, ...(comment ? { comment } : {}) };
}

/** An HCL string literal: every value is text, never an interpolation (see {@linkcode hclStr}). */
export const str: (text: string) => string = hclStr;

/** A string with interpolations: parts are literal text, Raw parts are interpolated. */
export function interp(...parts: (string | Raw)[]): Raw {
  return raw(
    `"${parts.map((p) => typeof p === "string" ? str(p).slice(1, -1) : `\${${p.text}}`).join("")}"`,
  );
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : str(k);
}

function value(v: HclValue, indent: string): string {
  // Multi-line expressions (jsonencode documents) follow the attribute's indent; heredocs keep theirs.
  if (v instanceof Raw) return v.heredoc ? v.text : v.text.replaceAll("\n", `\n${indent}`);
  if (typeof v === "string") return str(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const items = (v as HclValue[]).map((x) => value(x, indent + "  "));
    const flat = `[${items.join(", ")}]`;
    if (flat.length <= 90 && !flat.includes("\n")) return flat;
    return `[\n${items.map((i) => `${indent}  ${i},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.keys(v).sort().map((k) =>
    `${indent}  ${key(k)} = ${value((v as Record<string, HclValue>)[k], indent + "  ")}`
  );
  return entries.length ? `{\n${entries.join("\n")}\n${indent}}` : "{}";
}

function render(b: Block, indent: string): string {
  const head = `${indent}${b.type}${b.labels.map((l) => ` ${str(l)}`).join("")} {`;
  const lines: string[] = b.comment ? [`${indent}# ${commentText(b.comment)}`, head] : [head];
  for (const entry of b.body) {
    if (!entry) continue;
    if (Array.isArray(entry)) {
      const [k, v] = entry as readonly [string, HclValue];
      lines.push(`${indent}  ${key(k)} = ${value(v, indent + "  ")}`);
    } else {
      lines.push(render(entry as Block, indent + "  "));
    }
  }
  lines.push(`${indent}}`);
  return lines.join("\n");
}

/**
 * A heredoc expression (`<<-EOT`): `${` and `%{` in the text are escaped, and
 * the closing marker is one no line of the text equals.
 *
 * @throws {RangeError} When the text holds a control character other than a tab or a line break, or every line is indented (which `<<-` would strip).
 */
export function heredoc(text: string): Raw {
  const body = text.replace(/\n$/, "");
  // `<<-` strips the indent of the least-indented line from every line: keep one line unindented.
  const unindented = body === "" || /^[^ \t\n]/m.test(body);
  // deno-lint-ignore no-control-regex -- a heredoc cannot hold these
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/.test(body) || !unindented) {
    throw new RangeError(
      `Cannot write ${
        JSON.stringify(body.slice(0, 40))
      } as an HCL heredoc: it holds a control character or only indented lines; write it as a quoted string`,
    );
  }
  const lines = new Set(body.split("\n").map((l) => l.trim()));
  let marker = "EOT";
  for (let i = 1; lines.has(marker); i++) marker = `EOT${i}`;
  return new Raw(`<<-${marker}\n${escapeTemplate(body)}\n${marker}`, true);
}

/** `base64encode(<<-EOT … EOT)`: the closing marker alone on its line, as HCL requires. */
export function base64Heredoc(text: string): Raw {
  return new Raw(`base64encode(${heredoc(text).text}\n)`, true);
}

/** A file: header comment lines, then the blocks separated by blank lines. */
export function hclFile(header: readonly string[], blocks: readonly Block[]): string {
  return `${header.map((l) => `# ${commentText(l)}`).join("\n")}\n\n${
    blocks.map((b) => render(b, "")).join("\n\n")
  }\n`;
}
