// A small HCL writer: blocks, attributes, literals and raw expressions, with
// map keys in sorted order so the same model always gives the same text.

/** An HCL expression written as is (a reference or a function call). */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
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

/** An HCL string literal: JSON escapes, with template sequences escaped. */
export function str(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, "$${").replace(/%\{/g, "%%{");
}

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
  if (v instanceof Raw) return v.text.includes("<<-EOT") ? v.text : v.text.replaceAll("\n", `\n${indent}`);
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
  const lines: string[] = b.comment ? [`${indent}# ${b.comment}`, head] : [head];
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

/** A heredoc expression (`<<-EOT`); the text must not contain `${` or `%{`. */
export function heredoc(text: string): Raw {
  return raw(`<<-EOT\n${text.replace(/\n$/, "")}\nEOT`);
}

/** `base64encode(<<-EOT … EOT)`: the closing marker alone on its line, as HCL requires. */
export function base64Heredoc(text: string): Raw {
  return raw(`base64encode(${heredoc(text).text}\n)`);
}

/** A file: header comment lines, then the blocks separated by blank lines. */
export function hclFile(header: readonly string[], blocks: readonly Block[]): string {
  return `${header.map((l) => `# ${l}`).join("\n")}\n\n${blocks.map((b) => render(b, "")).join("\n\n")}\n`;
}
