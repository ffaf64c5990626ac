// Reads a module, strips its TypeScript types (positions kept: types become
// spaces) and parses it with acorn. Nothing in the module runs.
import * as acorn from "acorn";
import { fileURLToPath } from "node:url";
import { relative } from "node:path";
import { errorMessage, GlacierError } from "../errors.ts";

/** An ESTree node with its fields reachable by name. */
export type Node = acorn.Node & Record<string, unknown> & { loc?: acorn.SourceLocation };

type Strip = (source: string) => string;
// amaro (swc compiled to WebAssembly) takes ~50 ms to load: only analysis loads it.
let stripper: Promise<Strip> | undefined;

function loadStripper(): Promise<Strip> {
  return stripper ??= import("amaro").then((amaro) => (source: string) =>
    amaro.transformSync(source, { mode: "strip-only" }).code
  );
}

/** A parsed module. */
export interface ParsedModule {
  /** The module's URL. */
  readonly url: string;
  /** The source as written. */
  readonly source: string;
  /** The source with types blanked out: JavaScript at the same positions. */
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

/**
 * Parses source text of a module at a URL.
 *
 * @throws {GlacierError} When the source is not TypeScript that types can be stripped from.
 */
export function parseSource(url: string, source: string, strip: Strip): ParsedModule {
  let code = source;
  if (!/\.(m?js|jsx)$/.test(url)) {
    try {
      code = strip(source);
    } catch (error) {
      throw new GlacierError(
        "USER:STATIC_PARSE",
        `Cannot strip the types of ${JSON.stringify(displayPath(url))}: ${
          errorMessage(error)
        }; enums and namespaces need analyze({ trace: true })`,
        { cause: error },
      );
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
      "USER:STATIC_PARSE",
      `Cannot parse ${JSON.stringify(displayPath(url))}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return { url, source, code, program };
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
