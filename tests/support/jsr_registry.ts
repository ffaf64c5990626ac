// A local JSR registry serving this package as `deno publish` would upload it:
// the files `deno publish --dry-run` lists, with bare specifiers rewritten
// through deno.json's import map (as publishing does), and the two metadata
// documents Deno reads (`<scope>/<name>/meta.json`, `<version>_meta.json` with
// each file's size and sha256 checksum). Deno honours `JSR_URL`, so a user
// project in a temp folder imports `jsr:@glacier/glacier@<version>` from here.
import { fileURLToPath } from "node:url";

const ROOT = new URL("../../", import.meta.url);

export interface JsrRegistry {
  /** The registry's base URL, for `JSR_URL` (ends in `/`). */
  readonly url: string;
  /** The package name, such as `@glacier/glacier`. */
  readonly name: string;
  /** The served version. */
  readonly version: string;
  /** Paths requested, for assertions. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** The files `deno publish` would upload, relative to the repository root. */
export async function publishedFiles(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno publish --dry-run failed:\n${text}`);
  const root = ROOT.href;
  const files = [...text.matchAll(/^\s+(file:\/\/\S+) \(/gm)].map((m) => m[1])
    .filter((f) => f.startsWith(root));
  if (files.length === 0) {
    throw new Error(`deno publish --dry-run listed no files:\n${text}`);
  }
  return files.map((f) => f.slice(root.length));
}

// Bare specifiers in static imports, re-exports, dynamic imports and
// import.meta.resolve, mapped as deno.json maps them (exact name, or name/subpath).
function rewrite(source: string, imports: Record<string, string>): string {
  const map = (specifier: string): string => {
    if (/^(\.|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) return specifier;
    if (Object.hasOwn(imports, specifier)) return imports[specifier];
    const prefix = Object.keys(imports).filter((k) => specifier.startsWith(`${k}/`)).sort((
      a,
      b,
    ) => b.length - a.length)[0];
    return prefix ? `${imports[prefix]}${specifier.slice(prefix.length)}` : specifier;
  };
  return source.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|import\.meta\.resolve\(\s*)(["'])([^"'\n]+)\2/g,
    (_all, head: string, quote: string, specifier: string) => `${head}${quote}${map(specifier)}${quote}`,
  );
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts the registry on a free 127.0.0.1 port with this checkout as the package's one version. */
export async function startJsrRegistry(): Promise<JsrRegistry> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  const [scope, pkg] = String(config.name).replace(/^@/, "").split("/");
  const version = String(config.version);
  const files = new Map<string, Uint8Array>();
  const manifest: Record<string, { size: number; checksum: string }> = {};
  for (const path of await publishedFiles()) {
    let bytes = await Deno.readFile(fileURLToPath(new URL(path, ROOT)));
    if (/\.(ts|js|mjs|tsx|jsx)$/.test(path)) {
      bytes = new TextEncoder().encode(
        rewrite(new TextDecoder().decode(bytes), config.imports),
      );
    }
    files.set(`/${path}`, bytes);
    manifest[`/${path}`] = {
      size: bytes.byteLength,
      checksum: `sha256-${await sha256(bytes)}`,
    };
  }
  const base = `/@${scope}/${pkg}/`;
  const meta = {
    scope,
    name: pkg,
    latest: version,
    versions: { [version]: {} },
  };
  const versionMeta = { manifest, exports: config.exports };
  const requests: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    const json = (value: unknown) => Response.json(value, { headers: { "cache-control": "no-cache" } });
    if (path === `${base}meta.json`) return json(meta);
    if (path === `${base}${version}_meta.json`) return json(versionMeta);
    if (path.startsWith(`${base}${version}/`)) {
      const file = files.get(path.slice(`${base}${version}`.length));
      if (file) {
        const type = path.endsWith(".json") ? "application/json" : "application/typescript";
        return new Response(file.slice(), {
          headers: { "content-type": type },
        });
      }
    }
    return new Response("not found", { status: 404 });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    name: `@${scope}/${pkg}`,
    version,
    requests,
    stop: () => server.shutdown(),
  };
}

/** Deno's npm cache folder, which a test's own DENO_DIR can point at so npm packages are not fetched again. */
export async function npmCache(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).npmCache;
}
