// A deterministic YAML writer for JSON-shaped data: block mappings and
// sequences, scalars quoted whenever plain YAML could misread them.
import { commentText, yamlStr } from "./_escape.ts";

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_ ./:()+,-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;
// What a literal block scalar (`|`) holds as written: printable ASCII lines,
// the first not indented (its indent sets the block's), none ending in a
// space, and at most one final line break (`|` keeps exactly one).
const BLOCK = /^[!-~](?:[ -~]*[!-~])?(?:\n(?:[ -~]*[!-~])?)*\n?$/;

function scalar(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const s = String(v);
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.includes(": ") && !s.endsWith(":") && !s.endsWith(" ")) {
    return s;
  }
  return yamlStr(s);
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_:.-]*$/.test(k) && !RESERVED.test(k) ? k : yamlStr(k);
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v)
    ? v.length === 0
    : typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

function lines(v: unknown, indent: string): string[] {
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      if (typeof item === "object" && item !== null && !isEmpty(item)) {
        const inner = lines(item, indent + "  ");
        return [`${indent}- ${inner[0].trimStart()}`, ...inner.slice(1)];
      }
      return [
        `${indent}- ${
          typeof item === "object" && item !== null ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)
        }`,
      ];
    });
  }
  const o = v as Record<string, unknown>;
  return Object.keys(o).flatMap((k) => {
    const x = o[k];
    if (x === undefined) return [];
    if (typeof x === "object" && x !== null) {
      if (isEmpty(x)) return [`${indent}${key(k)}: ${Array.isArray(x) ? "[]" : "{}"}`];
      return [`${indent}${key(k)}:`, ...lines(x, indent + "  ")];
    }
    if (typeof x === "string" && x.includes("\n") && BLOCK.test(x) && !x.endsWith("\n\n")) {
      // `|` keeps the one final line break, `|-` keeps none.
      return [
        `${indent}${key(k)}: ${x.endsWith("\n") ? "|" : "|-"}`,
        ...x.replace(/\n$/, "").split("\n").map((l) => l ? `${indent}  ${l}` : ""),
      ];
    }
    return [`${indent}${key(k)}: ${scalar(x)}`];
  });
}

/** A YAML document for JSON-shaped data, with `#` header lines. */
export function yamlDocument(header: readonly string[], value: Record<string, unknown>): string {
  return `${header.map((l) => `# ${commentText(l)}`).join("\n")}\n${lines(value, "").join("\n")}\n`;
}
