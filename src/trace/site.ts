/**
 * Call sites: where in the user's source a task call is written, so a
 * replay can give each traced call the id static analysis gave that call
 * site. Ids alone are counted in call order (`clean`, `clean#2`…), and a
 * branch not taken for some params shifts every later count; call sites do
 * not move.
 *
 * A site is the task call's position (`url:line:col`, the callee's name as
 * V8 and the analyzer both place it) and the lines of the user calls that
 * led there, outermost first (lines only: after an `await`, V8 places an
 * async caller at its `await`, not at the call).
 *
 * @module
 */

/** Where one task call is written. */
export interface CallSite {
  /** The task call: `url:line:col`. */
  readonly at: string;
  /** The user calls that led to it, outermost first, each `url:line`. */
  readonly via: readonly string[];
}

// Glacier's own modules: frames there are not the user's call sites.
const ROOT = new URL("../../", import.meta.url).href;
const OWN = [`${ROOT}src/`, `${ROOT}executors/`, `${ROOT}stores/`, `${ROOT}mod.ts`, `${ROOT}aws.ts`];
const FRAME = /\(?((?:file|https?):\/\/[^\s()]+):(\d+):(\d+)\)?\s*$/;

function own(url: string): boolean {
  return OWN.some((prefix) => url.startsWith(prefix));
}

/**
 * The call site of the task call being recorded, from the current stack:
 * the user frames below Glacier's own, up to the next Glacier frame.
 *
 * @returns The site, or `undefined` when the stack shows no user frame.
 */
export function currentCallSite(): CallSite | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const user: { url: string; line: string; col: string }[] = [];
  for (const text of stack.split("\n").slice(1)) {
    const match = FRAME.exec(text);
    if (!match) continue; // native, ext: and node: frames
    const [, url, line, col] = match;
    if (own(url)) {
      if (user.length > 0) break; // back in Glacier: the pipeline function was the outermost
      continue;
    }
    if (url.includes("/node_modules/") || url.includes("/npm/registry.npmjs.org/")) continue;
    user.push({ url, line, col });
  }
  if (user.length === 0) return undefined;
  const [inner, ...outer] = user;
  return {
    at: `${inner.url}:${inner.line}:${inner.col}`,
    via: outer.reverse().map((f) => `${f.url}:${f.line}`),
  };
}

/** A node of the static DAG with its call site. */
export interface SitedNode {
  /** The node id static analysis gave it. */
  readonly id: string;
  /** The task's name. */
  readonly task: string;
  /** Where the call is written. */
  readonly site: CallSite;
}

/**
 * Gives traced calls the ids of their call sites in the static DAG. A site
 * reached more than once (a loop) gives its id to the first call and
 * `<id>@2`, `<id>@3`… to the others, which no static id looks like.
 */
export class SiteIds {
  readonly #byAt = new Map<string, SitedNode[]>();
  readonly #uses = new Map<string, number>();

  /**
   * Builds it.
   *
   * @param nodes The static DAG's nodes with their sites.
   */
  constructor(nodes: readonly SitedNode[]) {
    for (const node of nodes) {
      const list = this.#byAt.get(node.site.at) ?? [];
      list.push(node);
      this.#byAt.set(node.site.at, list);
    }
  }

  /**
   * The id of a traced call.
   *
   * @param task The task's name.
   * @param site Where the traced call is written.
   * @returns The static id (with `@n` for repeats), or `undefined` when no static node matches.
   */
  take(task: string, site: CallSite | undefined): string | undefined {
    if (!site) return undefined;
    const candidates = (this.#byAt.get(site.at) ?? []).filter((n) => n.task === task);
    const key = site.via.join(">");
    const node = candidates.find((n) => n.site.via.join(">") === key) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    if (!node) return undefined;
    const uses = (this.#uses.get(node.id) ?? 0) + 1;
    this.#uses.set(node.id, uses);
    return uses === 1 ? node.id : `${node.id}@${uses}`;
  }
}
