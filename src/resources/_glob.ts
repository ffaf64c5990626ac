// Bucket paths that name many objects: a prefix ending in "/" (or the empty
// path, the whole bucket) and globs with `*` (within a segment), `**` (across
// segments), `?` (one character) and `{a,b}` (alternatives).

const GLOB_CHAR = /[*?{]/;

/** Whether a path names many objects rather than one. */
export function isMany(path: string): boolean {
  return path === "" || path.endsWith("/") || GLOB_CHAR.test(path);
}

/** The literal part of a path to list from: up to the last "/" before any glob character. */
export function listPrefix(path: string): string {
  const first = path.search(GLOB_CHAR);
  if (first < 0) return path;
  return path.slice(0, path.lastIndexOf("/", first) + 1);
}

/** A matcher for the keys a many-object path names. */
export function keyMatcher(path: string): (key: string) => boolean {
  if (!GLOB_CHAR.test(path)) return (key) => key.startsWith(path);
  const pattern = globToRegExp(path);
  return (key) => pattern.test(key);
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++;
        if (glob[i + 1] === "/") {
          i++;
          source += "(?:.*/)?";
        } else source += ".*";
      } else source += "[^/]*";
    } else if (c === "?") source += "[^/]";
    else if (c === "{") braces++, source += "(?:";
    else if (c === "}" && braces > 0) braces--, source += ")";
    else if (c === "," && braces > 0) source += "|";
    else source += c.replace(/[.+^$()|[\]\\}]/g, "\\$&");
  }
  if (braces > 0) {
    throw new RangeError(`Glob ${JSON.stringify(glob)} has an unclosed "{": close it or remove it`);
  }
  return new RegExp(`^${source}$`);
}

/** Whether a key's file name marks it as bookkeeping (`_SUCCESS`, `.crc`), not data. */
export function isHidden(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.startsWith("_") || name.startsWith(".");
}
