/**
 * `glacier build`: the deployable zip of a pipeline's Lambda resources, for
 * the `provided.al2023` runtime. Written to `.glacier/build/<pipeline>/<resource>.zip`
 * (the path generated Terraform and cloud runs use too). The same zip is also
 * written for each Databricks resource (the workspace file its jobs' launcher
 * unpacks and runs with `bootstrap --payload`) and, when the pipeline has
 * tasks on this machine or on Databricks, as `launcher.zip`: the Step
 * Functions launcher function that runs local tasks and submits and polls
 * Databricks runs.
 *
 * ```
 * bootstrap        the custom runtime's entry (a shell script)
 * bin/deno         Deno for linux-x64: this Deno on such a machine, else the npm package @deno/linux-x64-glibc
 * glacier.json     the manifest: pipeline, build root, runtime, modules
 * app/…            the project's modules the pipeline and the runtime import, as they are, with deno.json and deno.lock
 * app/vendor/…     remote modules of the graph (Glacier itself when imported from JSR), mapped in app/deno.json
 * deno_dir/npm/…   the npm packages those modules use, from the local Deno cache
 * ```
 *
 * The project's own files are copied rather than bundled so each task keeps
 * the module URL it is registered under (tasks are found by module and name);
 * npm packages come from the cache `deno info` reports, so the build works
 * offline, and the function runs them with `--cached-only --frozen`. The zip
 * is deterministic (sorted entries, fixed times), so the same sources give the
 * same `CodeSha256` and a cloud run can tell whether the deployed code is current.
 *
 * @module
 */
import { type Zippable, zipSync } from "fflate";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { artifactPath, functionName } from "../../src/codegen/naming.ts";
import type { LambdaConfig } from "../../src/config/aws.ts";
import type { ResourceInfo } from "../../src/dag.ts";
import { type ArtifactKind, serviceCloud, serviceRecord, SERVICES } from "../../src/config/services.ts";
import { GlacierError } from "../../src/errors.ts";
import type { Pipeline } from "../../src/pipeline.ts";
import { codeSha256 } from "./executor.ts";
import type { ArtifactManifest } from "./runtime.ts";
import type { ArtifactTarget } from "../_artifact_target.ts";
import { CLOUD_FUNCTION_TARGET } from "../cloud_function/artifact.ts";
import { AZURE_FUNCTION_TARGET } from "../azure_function/artifact.ts";

const LAMBDA_TARGET: ArtifactTarget = {
  runtime: new URL("./runtime.ts", import.meta.url),
  entries: [new URL("../../stores/s3.ts", import.meta.url)],
  files: {},
};

/**
 * The layout of each artifact kind the service table names
 * (`SERVICES[service].artifact`): the common layout plus the kind's runtime
 * and files. The Lambda zip is also Databricks' workspace file and the launcher.
 */
export const ARTIFACT_TARGETS: { readonly [K in ArtifactKind]: ArtifactTarget } = Object.freeze({
  lambda: LAMBDA_TARGET,
  "cloud-function": CLOUD_FUNCTION_TARGET,
  "azure-function": AZURE_FUNCTION_TARGET,
});

/** Options for {@linkcode buildLambdaArtifacts}. */
export interface BuildOptions {
  /** The folder `.glacier/build/…` is written under. @default {Deno.cwd()} */
  cwd?: string;
  /** The Deno binary to package. @default {this Deno on linux x86_64, else the npm package @deno/linux-x64-glibc} */
  denoBinary?: string;
  /** Deflate level, 0–9. @default {6} */
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** One artifact `glacier build` wrote. */
export interface BuiltArtifact {
  /** The resource's name. */
  readonly resource: string;
  /** The function it is deployed as. */
  readonly functionName: string;
  /** The zip's path, relative to `cwd`. */
  readonly path: string;
  /** The zip's SHA-256, base64, as Lambda's `CodeSha256`. */
  readonly codeSha256: string;
  /** The zip's size in bytes. */
  readonly bytes: number;
}

interface InfoModule {
  specifier: string;
  kind?: string;
  npmPackage?: string;
  error?: string;
  /** Where Deno cached a remote module. */
  local?: string;
  /** What it imports. */
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

interface Info {
  modules: InfoModule[];
  /** `jsr:` specifiers (and other redirects) to the URLs they resolved to. */
  redirects?: Record<string, string>;
  npmPackages: Record<string, { name: string; version: string; dependencies: string[]; localPath?: string }>;
}

// As src/codegen/deploy.ts names it: the function is glacier-<pipeline>-launcher.
const LAUNCHER: ResourceInfo = { kind: "serverless", service: "lambda", name: "launcher", config: {} };

// Fixed entry times keep the zip byte-identical for identical sources.
const MTIME = new Date("2000-01-01T00:00:00Z");
const EXECUTABLE = (0o100755 << 16) >>> 0;
const REGULAR = (0o100644 << 16) >>> 0;

/**
 * Builds the artifact of every resource a pipeline uses whose service the
 * service table gives one (Lambda, Databricks, Cloud Run functions, Azure
 * function apps), and of the Step Functions launcher function (resource
 * `launcher`) when the pipeline runs on AWS and has tasks the launcher
 * reaches (on this machine or on Databricks). The pipeline's module is
 * read, not run (its resources come from static analysis).
 *
 * @param pipeline The pipeline (its `module` is the entry point).
 * @param options Where to write and what to package.
 * @returns One entry per resource: the Lambda-layout zips first (one zip, the launcher last), then the function apps'.
 * @throws {GlacierError} `USER:NOTHING_TO_BUILD` when the pipeline has no task on a service with an artifact, nor one the launcher reaches on AWS.
 * @throws {GlacierError} `USER:BUILD_FAILED` when the module graph cannot be read or holds what cannot be packaged.
 */
export async function buildLambdaArtifacts(
  pipeline: Pipeline,
  options: BuildOptions = {},
): Promise<BuiltArtifact[]> {
  const analysis = await pipeline.analyze();
  const nodes = analysis.dag.nodes;
  // Each resource whose service the table gives an artifact, by the kind it needs.
  const resources = new Map<string, { resource: ResourceInfo; artifact: ArtifactKind }>();
  for (const n of nodes) {
    const artifact = serviceRecord(n.resource.service)?.artifact;
    if (artifact) resources.set(n.resource.name, { resource: n.resource, artifact });
  }
  // Step Functions (AWS only) reaches some services (this machine's tasks, Databricks submit/poll)
  // through the launcher function, a Lambda artifact.
  const onAws = nodes.every((n) => (serviceCloud(n.resource.service) ?? "aws") === "aws");
  if (onAws && nodes.some((n) => serviceRecord(n.resource.service)?.launcher)) {
    resources.set(LAUNCHER.name, { resource: LAUNCHER, artifact: "lambda" });
  }
  if (resources.size === 0) {
    throw new GlacierError(
      "USER:NOTHING_TO_BUILD",
      `Pipeline "${pipeline.name}" has no task bound to a Lambda resource, a Cloud Run function, an Azure function app, to Databricks or to this machine on AWS, so there is nothing to build; bind a task with provider.serverless({ config: new LambdaConfig() })`,
    );
  }
  for (const { resource } of resources.values()) {
    // Only Lambda configs name an architecture.
    const arch = (resource.config as Partial<LambdaConfig>).architecture;
    if (arch === undefined) continue;
    if (arch !== "x86_64") {
      throw new GlacierError(
        "USER:BUILD_FAILED",
        `Cannot build resource "${resource.name}": architecture "${arch}" is not supported yet; use LambdaConfig({ architecture: "x86_64" })`,
      );
    }
  }
  if (!pipeline.module?.startsWith("file:")) {
    throw new GlacierError(
      "USER:BUILD_FAILED",
      `Cannot build pipeline "${pipeline.name}": its module ${
        JSON.stringify(pipeline.module)
      } is not a local file; build from the project that defines it`,
    );
  }
  const cwd = options.cwd ?? Deno.cwd();
  const built: BuiltArtifact[] = [];
  const zips = new Map<ArtifactKind, Promise<Uint8Array>>();
  const zipFor = (artifact: ArtifactKind): Promise<Uint8Array> => {
    let zip = zips.get(artifact);
    if (!zip) {
      zips.set(
        artifact,
        zip = buildZip(pipeline.name, fileURLToPath(pipeline.module!), options, ARTIFACT_TARGETS[artifact]),
      );
    }
    return zip;
  };
  // Lambda zips first and the launcher last among them, then the function apps.
  const order = [...resources.values()].sort((a, b) =>
    Number(a.artifact !== "lambda") - Number(b.artifact !== "lambda")
  );
  for (const { resource, artifact } of order) {
    const zip = await zipFor(artifact);
    const sha = await codeSha256(zip);
    const path = artifactPath(pipeline.name, resource.name);
    await Deno.mkdir(dirname(resolve(cwd, path)), { recursive: true });
    const temp = `${resolve(cwd, path)}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeFile(temp, zip);
    await Deno.rename(temp, resolve(cwd, path));
    built.push({
      resource: resource.name,
      functionName: functionName(pipeline.name, resource),
      path,
      codeSha256: sha,
      bytes: zip.byteLength,
    });
  }
  return built;
}

async function buildZip(
  pipeline: string,
  entry: string,
  options: BuildOptions,
  target: ArtifactTarget,
): Promise<Uint8Array> {
  const root = await projectRoot(dirname(entry));
  // Glacier's own entries: files of this checkout, or URLs when Glacier was imported from JSR.
  const runtimeUrl = target.runtime;
  const local = (url: URL) => url.protocol === "file:" ? fileURLToPath(url) : url.href;
  const infos = await Promise.all(
    [entry, local(runtimeUrl), ...target.entries.map(local)].map((file) => denoInfo(file, root)),
  );
  const modules = new Set<string>();
  // Remote modules (Glacier from a JSR registry): vendored under app/vendor/, so the
  // function never fetches code; jsr: specifiers map to their vendored files.
  const remote = new Map<string, string>();
  const vendorPath = (url: string) => {
    const u = new URL(url);
    return `vendor/${u.host.replace(/[^A-Za-z0-9.-]/g, "_")}${decodeURIComponent(u.pathname)}`;
  };
  const npmRoots = new Set<string>();
  const npm: Info["npmPackages"] = {};
  const rootUrl = pathToFileURL(root).href.replace(/\/?$/, "/");
  for (const info of infos) {
    Object.assign(npm, info.npmPackages);
    for (const m of info.modules) {
      if (m.error) {
        throw new GlacierError("USER:BUILD_FAILED", `Cannot package ${m.specifier}: ${m.error}`);
      }
      if (m.npmPackage) {
        if (!onlyLazyEngine(m.specifier, info.modules)) npmRoots.add(m.npmPackage);
      } else if (m.specifier.startsWith("file:")) {
        if (!m.specifier.startsWith(rootUrl)) {
          throw new GlacierError(
            "USER:BUILD_FAILED",
            `Cannot package ${m.specifier}: it is outside the project root ${root}; move it into the project or import it as a package`,
          );
        }
        modules.add(decodeURIComponent(m.specifier.slice(rootUrl.length)));
      } else if (/^https?:/.test(m.specifier) && m.local) {
        remote.set(m.specifier, m.local);
      } else if (!m.specifier.startsWith("node:") && !m.specifier.startsWith("npm:")) {
        throw new GlacierError(
          "USER:BUILD_FAILED",
          `Cannot package ${m.specifier}: it is neither a project file, a cached remote module nor an npm: package`,
        );
      }
    }
  }
  // Every npm package reachable from the graph's npm imports, and nothing else.
  const packages = new Set<string>();
  // Other platforms' binaries stay in the lockfile (their parents name them) but not in the zip;
  // those Deno installs on any linux x64 (another libc) ship as their package.json alone.
  const otherPlatforms = new Set<string>();
  const stubs = new Set<string>();
  const visit = (id: string) => {
    if (packages.has(id) || otherPlatforms.has(id) || !npm[id]) return;
    const platform = lambdaPlatform(npm[id].name);
    if (platform === "other") return void otherPlatforms.add(id);
    if (platform === "stub") stubs.add(id);
    packages.add(id);
    for (const dep of npm[id].dependencies) visit(dep);
  };
  for (const id of npmRoots) visit(id);

  const level = options.level ?? 6;
  const files: Zippable = {};
  const add = (path: string, data: Uint8Array, executable = false) => {
    files[path] = [data, { level, mtime: MTIME, os: 3, attrs: executable ? EXECUTABLE : REGULAR }];
  };
  add("bootstrap", await asset(new URL("./bootstrap", import.meta.url)), true);
  for (const [path, file] of Object.entries(target.files)) add(path, file.data, file.executable);
  add("bin/deno", await Deno.readFile(options.denoBinary ?? await denoBinary()), true);
  const sorted = [...modules].sort();
  for (const m of sorted) add(`app/${m}`, await Deno.readFile(join(root, m)));
  // One import map entry per remote origin, and one per jsr: specifier the graph used.
  const vendored: Record<string, string> = {};
  for (const [url, cached] of [...remote].sort(([a], [b]) => a < b ? -1 : 1)) {
    add(`app/${vendorPath(url)}`, await Deno.readFile(cached));
    vendored[`${new URL(url).origin}/`] = `./${vendorPath(`${new URL(url).origin}/`)}`;
  }
  for (const info of infos) {
    for (const [from, to] of Object.entries(info.redirects ?? {})) {
      if (from.startsWith("jsr:") && remote.has(to)) vendored[from] = `./${vendorPath(to)}`;
    }
  }
  const config = await firstExisting(root, ["deno.json", "deno.jsonc"]);
  const lock = await firstExisting(root, ["deno.lock"]);
  const pruned = await prunedConfig(
    join(root, config!),
    lock ? join(root, lock) : undefined,
    new Set([...packages, ...otherPlatforms]),
    vendored,
  );
  add("app/deno.json", encoder.encode(JSON.stringify(pruned.config, null, 2) + "\n"));
  if (pruned.lock) add("app/deno.lock", encoder.encode(JSON.stringify(pruned.lock, null, 2) + "\n"));
  for (const id of [...packages].sort()) {
    const pkg = npm[id];
    const at = pkg.localPath?.lastIndexOf("/npm/");
    if (!pkg.localPath || at === undefined || at < 0) continue;
    const base = `deno_dir${pkg.localPath.slice(at)}`;
    for await (const file of walkFiles(pkg.localPath)) {
      if (!runsOnLambda(pkg.name, file.path) || (stubs.has(id) && file.path !== "package.json")) continue;
      add(`${base}/${file.path}`, await Deno.readFile(join(pkg.localPath, file.path)), file.executable);
    }
  }
  const manifest: ArtifactManifest = {
    version: 1,
    pipeline,
    root: rootUrl,
    runtime: runtimeUrl.protocol === "file:"
      ? relative(root, fileURLToPath(runtimeUrl))
      : vendorPath(runtimeUrl.href),
    modules: sorted,
  };
  add("glacier.json", new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
  const ordered: Zippable = {};
  for (const key of Object.keys(files).sort()) ordered[key] = files[key];
  refuseOverLambdaLimit(pipeline, files);
  return zipSync(ordered);
}

/** Lambda's limit on a function's unzipped code: 250 MB (the service table's). */
export const LAMBDA_UNZIPPED_LIMIT: number = SERVICES.lambda.codeLimits.unzipped;

// Lambda refuses code over 250 MB unzipped (CreateFunction and
// UpdateFunctionCode fail), so the build does first, naming what is large.
function refuseOverLambdaLimit(pipeline: string, files: Zippable): void {
  const sizes = Object.entries(files).map(([path, entry]) => ({
    path,
    bytes: ((Array.isArray(entry) ? entry[0] : entry) as Uint8Array).byteLength,
  }));
  const total = sizes.reduce((sum, f) => sum + f.bytes, 0);
  if (total <= LAMBDA_UNZIPPED_LIMIT) return;
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const largest = sizes.sort((a, b) => b.bytes - a.bytes).slice(0, 3).map((f) =>
    `${f.path} (${mb(f.bytes)})`
  );
  throw new GlacierError(
    "USER:ARTIFACT_TOO_LARGE",
    `The Lambda artifact of pipeline "${pipeline}" is ${mb(total)} unzipped, over Lambda's ${
      mb(LAMBDA_UNZIPPED_LIMIT)
    } limit; the largest files are ${
      largest.join(", ")
    }: move the tasks that need them to a cluster or VM executor, or drop the import from the Lambda tasks' modules`,
  );
}

const encoder = new TextEncoder();

// Deno installs every npm package deno.json and the lockfile name before it
// runs anything, so the artifact's copies name only the packages it carries.
async function prunedConfig(
  configPath: string,
  lockPath: string | undefined,
  packages: Set<string>,
  vendored: Readonly<Record<string, string>>,
): Promise<{ config: Record<string, unknown>; lock?: Record<string, unknown> }> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await Deno.readTextFile(configPath));
  } catch (error) {
    throw new GlacierError(
      "USER:BUILD_FAILED",
      `Cannot read ${configPath} as JSON (${(error as Error).message}); the artifact needs its "imports"`,
    );
  }
  const lock = lockPath ? JSON.parse(await Deno.readTextFile(lockPath)) : undefined;
  const specifiers: Record<string, string> = lock?.specifiers ?? {};
  const idOf = (spec: string): string | undefined => {
    const resolved = specifiers[spec];
    const name = spec.slice(4).replace(/@[^@/]*$/, "");
    return resolved ? `${name}@${resolved}` : undefined;
  };
  const carried = (spec: string) => {
    const id = idOf(spec);
    return id !== undefined && (packages.has(id) || packages.has(id.replace(/_.*$/, "")));
  };
  // An import that names a vendored jsr: package points at its vendored file.
  const imports: Record<string, string> = Object.fromEntries(
    Object.entries((config.imports ?? {}) as Record<string, string>)
      .filter(([, v]) => !v.startsWith("npm:") || carried(v))
      .map(([k, v]) => [k, vendored[v] ?? v]),
  );
  Object.assign(imports, vendored);
  const kept: Record<string, unknown> = { imports };
  for (const key of ["compilerOptions", "unstable", "nodeModulesDir", "scopes"]) {
    if (key in config) kept[key] = config[key];
  }
  if (!lock) return { config: kept };
  const npmIds = new Set(Object.entries(specifiers).filter(([k]) => carried(k)).map(([k]) => idOf(k)!));
  for (const id of packages) npmIds.add(id);
  return {
    config: kept,
    lock: {
      version: lock.version,
      specifiers: Object.fromEntries(
        Object.entries(specifiers).filter(([k]) => k.startsWith("npm:") && carried(k)),
      ),
      npm: Object.fromEntries(Object.entries(lock.npm ?? {}).filter(([k]) => npmIds.has(k))),
      workspace: { dependencies: Object.values(imports).filter((v) => v.startsWith("npm:")).sort() },
    },
  };
}

// The Deno that runs the artifact: this very binary when this machine is what
// Lambda runs (linux x86_64), else the npm package @deno/linux-x64-glibc of
// this Deno's version, fetched only then (a computed specifier, so neither a
// user's first run nor the lockfile carries a 90 MB binary it may never need).
async function denoBinary(): Promise<string> {
  if (Deno.build.os === "linux" && Deno.build.arch === "x86_64") return Deno.execPath();
  const specifier = `npm:@deno/linux-x64-glibc@${Deno.version.deno}/package.json`;
  try {
    await import(specifier, { with: { type: "json" } });
    return join(dirname(fileURLToPath(import.meta.resolve(specifier))), "deno");
  } catch (error) {
    throw new GlacierError(
      "USER:BUILD_FAILED",
      `Cannot find a linux x86_64 Deno to package: ${specifier} is not reachable (${
        (error as Error).message
      }); build on linux x86_64, or pass denoBinary`,
      { cause: error },
    );
  }
}

// A file shipped beside this module: read from the checkout, or fetched from
// the registry Glacier was imported from.
async function asset(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const response = await fetch(url);
  if (!response.ok) {
    throw new GlacierError(
      "USER:BUILD_FAILED",
      `Cannot fetch ${url.href} for the artifact: HTTP ${response.status}`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function projectRoot(from: string): Promise<string> {
  for (let dir = from;; dir = dirname(dir)) {
    if (await firstExisting(dir, ["deno.json", "deno.jsonc"])) return dir;
    if (dirname(dir) === dir) {
      throw new GlacierError(
        "USER:BUILD_FAILED",
        `Cannot build: no deno.json above ${from}; the artifact takes its imports and lockfile from the project's deno.json`,
      );
    }
  }
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    try {
      if ((await Deno.stat(join(dir, name))).isFile) return name;
    } catch { /* absent */ }
  }
  return undefined;
}

async function denoInfo(file: string, cwd: string): Promise<Info> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!output.success) {
    throw new GlacierError(
      "USER:BUILD_FAILED",
      `Cannot read the module graph of ${file}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as Info;
}

async function* walkFiles(dir: string, prefix = ""): AsyncGenerator<{ path: string; executable: boolean }> {
  const entries = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) entries.push(entry);
  entries.sort((a, b) => a.name < b.name ? -1 : 1);
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) yield* walkFiles(dir, path);
    else if (entry.isFile) {
      const mode = (await Deno.stat(join(dir, path))).mode ?? 0;
      yield { path, executable: (mode & 0o111) !== 0 };
    }
  }
}

// A native package built for one platform, named as npm's optional binaries
// are (`nodejs-polars-linux-x64-gnu`, `@esbuild/darwin-arm64`). Lambda runs
// linux x64 with glibc: that build ships ("ship", as does any package that is
// not a platform build); another libc's is installed by Deno on linux x64 too
// (it does not tell libcs apart), so it ships as its package.json alone
// ("stub"); other systems' are never installed there ("other").
const PLATFORM =
  /-(android|darwin|freebsd|linux|openbsd|sunos|win32)-(arm|arm64|ia32|x64|riscv64|s390x|ppc64)(-[a-z]+)?$/;

function lambdaPlatform(name: string): "ship" | "stub" | "other" {
  const m = PLATFORM.exec(name);
  if (!m) return "ship";
  if (m[1] !== "linux" || m[2] !== "x64") return "other";
  return m[3] === undefined || m[3] === "-gnu" ? "ship" : "stub";
}

// Glacier loads nodejs-polars (115 MB of native code) only to rebuild polars
// values, so an artifact carries it when the task modules import it
// themselves, not when only Glacier's lazy loader names it.
const LAZY_ENGINE = /\/src\/data\/_polars\.ts$/;

function onlyLazyEngine(npmModule: string, modules: readonly InfoModule[]): boolean {
  const target = npmModule.replace(/^npm:\//, "npm:");
  let importers = 0;
  for (const m of modules) {
    for (const dep of m.dependencies ?? []) {
      if (dep.code?.specifier !== target) continue;
      if (!dep.isDynamic || !LAZY_ENGINE.test(m.specifier)) return false;
      importers++;
    }
  }
  return importers > 0;
}

// Files of an npm package that `deno run` never reads, left out so the
// function stays under Lambda's limit: type declarations, source maps and
// docs, and the builds of parquet-wasm other than the `node` one Deno
// resolves (it opens node/parquet_wasm.js and node/parquet_wasm_bg.wasm).
const NOT_RUN = /(\.d\.[cm]?ts|\.map|\.md)$/i;
const OTHER_BUILDS: Readonly<Record<string, RegExp>> = { "parquet-wasm": /^(bundler|esm)\// };

function runsOnLambda(packageName: string, path: string): boolean {
  return !NOT_RUN.test(path) && !OTHER_BUILDS[packageName]?.test(path);
}
