// Reads a module, strips its TypeScript types (positions kept: types become
// spaces; modules with enums or namespaces are transformed and mapped back)
// and parses it with acorn. Nothing in the module runs.
import * as acorn from "acorn";
import { fileURLToPath } from "node:url";
import { relative } from "node:path";
import { createRequire } from "node:module";
import { errorMessage, GlacierError } from "../errors.ts";

/** An ESTree node with its fields reachable by name. */
export type Node = acorn.Node & Record<string, unknown> & { loc?: acorn.SourceLocation };

/** Strips a module's types; `transform` also compiles enums, namespaces and parameter properties. */
export type Strip = (source: string, mode: "strip-only" | "transform") => { code: string; map?: string };

// amaro is swc compiled to WebAssembly and takes ~50 ms to load: only analysis
// loads it. A fault inside the WebAssembly (a stack overflow shows as "memory
// access out of bounds") leaves that instance unusable, so after one the next
// call gets a fresh instance of the package (see freshAmaro).
type Amaro = { transformSync(source: string, options: object): { code: string; map?: string } };
let amaro: Promise<Amaro> | undefined;
let poisoned = false;

async function loadStripper(): Promise<Strip> {
  let instance = await (amaro ??= import("amaro").then((m) => (m.default ?? m) as Amaro));
  if (poisoned) {
    instance = await (amaro = Promise.resolve(freshAmaro()));
    poisoned = false;
  }
  return (source, mode) => {
    try {
      return instance.transformSync(source, mode === "transform" ? { mode, sourceMap: true } : { mode });
    } catch (error) {
      if (isWasmFault(error)) poisoned = true;
      throw error;
    }
  };
}

function isWasmFault(error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError || error instanceof RangeError ||
    /memory access out of bounds|unreachable/.test(errorMessage(error));
}

// A new instance of amaro: its CommonJS modules are dropped from the require
// cache and loaded again, which instantiates its WebAssembly anew.
function freshAmaro(): Amaro {
  const cache = (createRequire(import.meta.url) as unknown as { cache: Record<string, unknown> }).cache;
  const keys = Object.keys(cache).filter((k) => /[\\/]amaro[\\/]/.test(k));
  const index = keys.find((k) => /[\\/]dist[\\/]index\.js$/.test(k));
  if (!index) {
    throw new GlacierError(
      "SYSTEM:STATIC_STRIPPER",
      "The TypeScript type stripper (amaro) failed and cannot be loaded again in this process; run the command again",
    );
  }
  for (const k of keys) delete cache[k];
  return createRequire(index)(index) as Amaro;
}

/** A parsed module. */
export interface ParsedModule {
  /** The module's URL. */
  readonly url: string;
  /** The source as written; for a transformed module (enums, namespaces), the JavaScript it compiles to. */
  readonly source: string;
  /** The source with types blanked out: JavaScript at the same positions (node `loc`s are the source's). */
  readonly code: string;
  /** The program. */
  readonly program: Node;
}

/**
 * Reads and parses a `file:` module.
 *
 * @throws {GlacierError} When the file cannot be read or parsed.
 */
export async function parseModule(url: string): Promise<ParsedModule> {
  if (!url.startsWith("file:")) {
    throw new GlacierError(
      "USER:STATIC_UNREADABLE",
      `Cannot read module ${
        JSON.stringify(url)
      } for static analysis: only file: modules can be read; use analyze({ trace: true })`,
    );
  }
  let source: string;
  try {
    source = await Deno.readTextFile(new URL(url));
  } catch (error) {
    throw new GlacierError(
      "USER:STATIC_UNREADABLE",
      `Cannot read module ${JSON.stringify(url)} for static analysis: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return parseSource(url, source, await loadStripper());
}

/** Brackets nested deeper than this are refused before parsing: the WebAssembly parser overflows near 1000. */
export const MAX_NESTING = 400;

/**
 * Parses source text of a module at a URL. TypeScript is type-stripped with
 * positions kept; a module that strip-only cannot take (an enum, a namespace,
 * constructor parameter properties) is transformed instead and its positions
 * are mapped back to the source through the transform's source map.
 *
 * @throws {GlacierError} When the source nests too deeply (`USER:STATIC_TOO_DEEP`) or cannot be parsed.
 */
export function parseSource(url: string, source: string, strip: Strip): ParsedModule {
  checkNesting(url, source);
  let code = source;
  let map: string | undefined;
  if (!/\.(m?js|jsx)$/.test(url)) {
    try {
      code = strip(source, "strip-only").code;
    } catch (error) {
      if (!/strip-only/.test(errorMessage(error))) throw stripFailed(url, error);
      try {
        ({ code, map } = strip(source, "transform"));
      } catch (again) {
        throw stripFailed(url, again);
      }
    }
  }
  let program: Node;
  try {
    program = acorn.parse(code, {
      ecmaVersion: "latest",
      sourceType: "module",
      locations: true,
      allowHashBang: true,
      allowAwaitOutsideFunction: true,
    }) as unknown as Node;
  } catch (error) {
    throw new GlacierError(
      error instanceof RangeError ? "USER:STATIC_TOO_DEEP" : "USER:STATIC_PARSE",
      `Cannot parse ${JSON.stringify(displayPath(url))}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  if (map !== undefined) remapLocations(program, map);
  // A transformed module's text is its compiled JavaScript: node offsets index it.
  return { url, source: map === undefined ? source : code, code, program };
}

function stripFailed(url: string, error: unknown): GlacierError {
  if (isWasmFault(error)) {
    return new GlacierError(
      "USER:STATIC_TOO_DEEP",
      `Cannot strip the types of ${JSON.stringify(displayPath(url))}: the type stripper ran out of stack (${
        errorMessage(error)
      }), as it does on deeply nested or very long expressions; split them, or use analyze({ trace: true })`,
      { cause: error },
    );
  }
  return new GlacierError(
    "USER:STATIC_PARSE",
    `Cannot strip the types of ${JSON.stringify(displayPath(url))}: ${
      errorMessage(error)
    }; fix the syntax, or use analyze({ trace: true })`,
    { cause: error },
  );
}

// Counts bracket depth outside strings and comments (template literals are
// followed roughly): enough to refuse what would overflow a parser's stack.
function checkNesting(url: string, source: string): void {
  let depth = 0, line = 1, i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === "\n") line++;
    else if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let j = i; j < stop; j++) if (source[j] === "\n") line++;
      i = stop;
      continue;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") i += source[i] === "\\" ? 2 : 1;
    } else if (c === "(" || c === "[" || c === "{") {
      if (++depth > MAX_NESTING) {
        throw new GlacierError(
          "USER:STATIC_TOO_DEEP",
          `Cannot analyze ${
            JSON.stringify(displayPath(url))
          }: brackets nest deeper than ${MAX_NESTING} levels at line ${line}; split the expression, or use analyze({ trace: true })`,
        );
      }
    } else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    i++;
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Per generated line, its segments as [generated column, source line, source column].
function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = [];
  let srcLine = 0, srcCol = 0;
  for (const text of mappings.split(";")) {
    const segments: [number, number, number][] = [];
    let genCol = 0;
    for (const seg of text.split(",")) {
      if (!seg) continue;
      const values: number[] = [];
      let value = 0, shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = shift = 0;
        }
      }
      genCol += values[0];
      if (values.length >= 4) {
        srcLine += values[2];
        srcCol += values[3];
        segments.push([genCol, srcLine, srcCol]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

// Moves every node's `loc` to where it is written in the source.
function remapLocations(program: Node, map: string): void {
  const lines = decodeMappings((JSON.parse(map) as { mappings: string }).mappings);
  const to = (p: acorn.Position): acorn.Position => {
    const segments = lines[p.line - 1] ?? [];
    let best: [number, number, number] | undefined;
    for (const s of segments) if (s[0] <= p.column) best = s;
    if (!best) return p;
    return { line: best[1] + 1, column: best[2] + (p.column - best[0]) } as acorn.Position;
  };
  const visit = (node: Node) => {
    if (node.loc) node.loc = { ...node.loc, start: to(node.loc.start), end: to(node.loc.end) };
    for (const key in node) {
      if (key === "loc") continue;
      const child = node[key];
      if (Array.isArray(child)) { for (const c of child) c && typeof c.type === "string" && visit(c); }
      else if (child && typeof (child as Node).type === "string") visit(child as Node);
    }
  };
  visit(program);
}

/** A module URL as a path relative to the working directory, when it is a file. */
export function displayPath(url: string): string {
  if (!url.startsWith("file:")) return url;
  try {
    const rel = relative(Deno.cwd(), fileURLToPath(url));
    return rel.startsWith("..") ? fileURLToPath(url) : rel;
  } catch {
    return url;
  }
}

/** `path:line:col` of a node (1-based column). */
export function where(module: ParsedModule, node: Node): string {
  const start = node.loc?.start;
  return `${displayPath(module.url)}:${start?.line ?? 0}:${(start?.column ?? 0) + 1}`;
}

/** The source text of a node, whitespace collapsed. */
export function textOf(module: ParsedModule, node: Node): string {
  return module.source.slice(node.start, node.end).replace(/\s+/g, " ").trim();
}
