// The infrastructure model every generator renders: what to provision for a
// pipeline on one cloud, with least-privilege storage grants per executor.
// Built once from the analysis so Terraform, CloudFormation and Pulumi (and
// the deploy outputs) describe exactly the same resources.
import type { PipelineAnalysis } from "../analyze/analysis.ts";
import type { DAGNode, ResourceInfo } from "../dag.ts";
import { serviceCloud } from "../config/services.ts";
import { BUCKET_NAME } from "../_validate.ts";
import { GlacierError } from "../errors.ts";
import { STORAGE_SCHEMES } from "../provider.ts";
import { listPrefix } from "../resources/_glob.ts";
import type { TaskPermissions } from "../task.ts";
import { artifactPath, functionName } from "./naming.ts";
import type { CloudConfig } from "./_target.ts";

/** The Glacier version written into generated headers and payloads. */
export const GLACIER_VERSION = "0.1.0";

/** A cloud generators can target. */
export type TargetCloud = "aws" | "gcp" | "azure";

/** Display names of the clouds. */
export const CLOUD_LABEL: Record<TargetCloud, string> = { aws: "AWS", gcp: "GCP", azure: "Azure" };

/** Where a pipeline's settings for one cloud come from. */
export interface Target {
  readonly cloud: TargetCloud;
  readonly region: string;
  readonly accountId?: string;
  readonly project?: string;
  readonly resourceGroup?: string;
  readonly storageAccount?: string;
  readonly stagingUri?: string;
}

/** One least-privilege storage grant. */
export interface Grant {
  readonly bucket: string;
  /** The object key pattern: an exact key, or a prefix ending in `*`. */
  readonly pattern: string;
  /** The literal prefix (the pattern without a trailing `*`). */
  readonly prefix: string;
  readonly access: "read" | "write";
  /** The prefix a listing of it asks the store for (a glob lists from its last `/`). @default {prefix} */
  readonly list?: string;
}

/** One task call that runs on an executor. */
export interface TaskUse {
  readonly node: DAGNode;
  readonly options: Readonly<Record<string, unknown>>;
  /** Whether its Deno permissions let it reach the network (and so storage). */
  readonly net: boolean;
}

/** An executor to provision. */
export interface ExecutorModel {
  /** A stable identifier for generated code: lower-case letters, digits and `_`. */
  readonly id: string;
  /** The deployed name (function, job, role prefix). */
  readonly name: string;
  readonly resource: ResourceInfo;
  readonly config: Readonly<Record<string, unknown>>;
  readonly tasks: readonly TaskUse[];
  /** Data grants (from tasks whose permissions allow the network). */
  readonly grants: readonly Grant[];
  /** Where `glacier build` writes its artifact. */
  readonly artifact: string;
}

/** A bucket the pipeline's tasks touch. */
export interface DataBucket {
  readonly name: string;
  readonly id: string;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** The staging location of data between executors. */
export interface Staging {
  readonly bucket: string;
  readonly id: string;
  /** Key prefix, empty or ending in `/`. */
  readonly prefix: string;
  /** Whether the bucket name was given by the provider config (else derived). */
  readonly configured: boolean;
  /** Days after which staged run data expires. */
  readonly expireDays: number;
}

/** Glacier's runner as a project that holds Glacier's sources names it. */
export const DEFAULT_RUNNER = "executors/runner.ts";

// The runner goes into shell commands and Python strings: a path or a
// `jsr:` specifier, of characters neither needs to escape.
function checkRunner(runner: string): string {
  if (!/^[A-Za-z0-9@:/._-]+$/.test(runner)) {
    throw new RangeError(
      `Glacier's runner ${
        JSON.stringify(runner)
      } cannot go into a generated command: use a path or jsr: specifier of letters, digits and @:/._-`,
    );
  }
  return runner;
}

/** What to provision for one pipeline on one cloud. */
export interface InfraModel {
  readonly pipeline: string;
  readonly description?: string;
  readonly version: string;
  /** The pipeline's module, relative to the working directory (never an absolute path). */
  readonly source: string;
  /** The module an orchestrator's local and VM tasks run payloads with (`deno run -A <runner>`). */
  readonly runner: string;
  readonly target: Target;
  readonly executors: readonly ExecutorModel[];
  readonly buckets: readonly DataBucket[];
  readonly staging: Staging;
  readonly schedule?: string;
  /** Things a reviewer should know (skipped URIs, manual steps). */
  readonly notes: readonly string[];
  /** Task module URLs to paths relative to the project root (what remote runners import). */
  readonly modules: Readonly<Record<string, string>>;
  /** Node ids in the DAG's order (every node after its inputs). */
  readonly order: readonly string[];
}

/** What {@linkcode buildModel} needs. */
export interface ModelInput {
  readonly analysis: PipelineAnalysis;
  readonly options: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  readonly providers: readonly CloudConfig[];
  readonly source: string;
  readonly description?: string;
  readonly schedule?: string;
  /** What is being generated, for messages: `terraform`, `step_functions`, … */
  readonly what: string;
  /** Allow a pipeline with no cloud executor (orchestrators run local tasks remotely). */
  readonly allowLocalOnly?: boolean;
  /** The cloud to assume when the pipeline names none (orchestrators). @default {undefined: refuse} */
  readonly defaultCloud?: TargetCloud;
  /** Task module URLs to project-relative paths. @default {{}} */
  readonly modules?: Readonly<Record<string, string>>;
  /** Glacier's runner as generated commands name it. @default {DEFAULT_RUNNER} */
  readonly runner?: string;
  /** Whether tasks bound to this machine run on a cloud function (Step Functions' launcher). @default {false} */
  readonly localTasksRemote?: boolean;
}

/** A lower-case identifier safe in HCL, CloudFormation logical ids (after casing), Python and TS. */
export function ident(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[a-z]/.test(id) ? id : `r_${id}`;
}

/** `ml_inference` → `MlInference`, for CloudFormation logical ids. */
export function pascal(name: string): string {
  return ident(name).split("_").filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join("");
}

/** A name cut to `max` characters, keeping it unique with a hash suffix when cut. */
export function shortName(name: string, max: number): string {
  if (name.length <= max) return name;
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return `${name.slice(0, max - 9).replace(/-+$/, "")}-${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

/** Whether Deno permissions let a task reach the network. */
export function allowsNet(permissions: unknown): boolean {
  const p = (permissions ?? "inherit") as TaskPermissions;
  if (p === "inherit") return true;
  if (p === "none") return false;
  const net = (p as Deno.PermissionOptionsObject).net;
  if (net === undefined || net === "inherit" || net === true) return true;
  if (net === false) return false;
  if (Array.isArray(net)) {
    return net.some((h) => /amazonaws\.com|googleapis\.com|windows\.net/.test(String(h)));
  }
  return false;
}

function parseUri(uri: string): { scheme: string; bucket: string; key: string } | undefined {
  const m = uri.match(/^([a-z0-9]+):\/\/([^/]+)\/?(.*)$/s); // a key may hold a line break
  return m ? { scheme: m[1], bucket: m[2], key: m[3] } : undefined;
}

function grantOf(uri: string, access: "read" | "write"): Grant | undefined {
  const p = parseUri(uri);
  if (!p) return undefined;
  // A folder (or a glob) is granted as a prefix; a single object exactly.
  const glob = p.key.search(/[*?[{]/);
  const prefix = glob >= 0 ? p.key.slice(0, glob) : p.key;
  const isPrefix = glob >= 0 || p.key === "" || p.key.endsWith("/");
  // What the store is asked for when listing it (by the key's literal prefix).
  const list = glob >= 0 ? listPrefix(`${prefix}*`) : prefix;
  return {
    bucket: p.bucket,
    pattern: isPrefix ? `${prefix}*` : prefix,
    prefix,
    access,
    ...(list !== prefix ? { list } : {}),
  };
}

function sortGrants(grants: Grant[]): Grant[] {
  const key = (g: Grant) => `${g.bucket}\u0000${g.access}\u0000${g.pattern}`;
  const unique = new Map(grants.map((g) => [key(g), g]));
  return [...unique.keys()].sort().map((k) => unique.get(k)!);
}

/**
 * Builds the model, refusing pipelines that do not fit one cloud.
 */
export function buildModel(input: ModelInput): InfraModel {
  const { analysis } = input;
  const dag = analysis.dag;
  const notes: string[] = [];
  const cloudProviders = input.providers;
  const firstSpecific = dag.nodes.find((n) => serviceCloud(n.resource.service));
  const cloud: TargetCloud | undefined = cloudProviders.length === 1
    ? cloudProviders[0].cloud
    : firstSpecific
    ? serviceCloud(firstSpecific.resource.service)
    : cloudProviders[0]?.cloud ?? input.defaultCloud;
  if (!cloud) {
    throw new GlacierError(
      "USER:GENERATE_NO_CLOUD",
      `Cannot generate ${input.what} for pipeline "${dag.name}": it runs only on this machine and uses no cloud provider; build its resources from a cloud provider such as new Provider({ config: new AwsConfig({ region: "us-east-1" }) })`,
    );
  }
  for (const node of dag.nodes) {
    const own = serviceCloud(node.resource.service);
    if (own && own !== cloud) {
      throw new GlacierError(
        "USER:GENERATE_CLOUD_MISMATCH",
        `Cannot generate ${input.what} for pipeline "${dag.name}": task "${node.task.name}" (node "${node.id}") runs on "${node.resource.name}" (${node.resource.service}, ${
          CLOUD_LABEL[own]
        }), which does not fit the ${CLOUD_LABEL[cloud]} provider; bind it to a resource of the ${
          CLOUD_LABEL[cloud]
        } provider or split the pipeline per cloud`,
      );
    }
  }
  if (!input.allowLocalOnly && !dag.nodes.some((n) => n.resource.kind !== "local")) {
    throw new GlacierError(
      "USER:GENERATE_NO_CLOUD",
      `Cannot generate ${input.what} for pipeline "${dag.name}": every task runs on this machine, so there is no cloud resource to provision; bind tasks to provider.serverless(), provider.cluster() or provider.vm()`,
    );
  }
  const config = cloudProviders.find((c) => c.cloud === cloud);
  const target = targetOf(cloud, config);
  const scheme = STORAGE_SCHEMES[cloud];

  const byExecutor = new Map<string, TaskUse[]>();
  for (const node of dag.nodes) {
    const options = input.options.get(node.id) ?? {};
    const list = byExecutor.get(node.executor.name) ?? [];
    list.push({ node, options, net: allowsNet(options.permissions) });
    byExecutor.set(node.executor.name, list);
  }
  const buckets = new Map<string, { reads: Set<string>; writes: Set<string> }>();
  const skipped = new Set<string>();
  const executors: ExecutorModel[] = [];
  for (const [executor, tasks] of byExecutor) {
    const resource = tasks[0].node.resource;
    const grants: Grant[] = [];
    for (const use of tasks) {
      for (const [uris, access] of [[use.node.reads, "read"], [use.node.writes, "write"]] as const) {
        for (const uri of uris) {
          if (uri.startsWith("file:")) {
            // A function's code folder is read-only and sandboxes share no disk: a folder cannot travel.
            if (resource.kind !== "local" || input.localTasksRemote) {
              throw new GlacierError(
                "USER:DEPLOY_LOCAL_FOLDER",
                `Cannot generate ${input.what} for pipeline "${dag.name}": task "${use.node.task.name}" (node "${use.node.id}") ${access}s the local folder bucket ${
                  JSON.stringify(uri)
                }, and on ${
                  resource.kind === "local"
                    ? "the launcher function"
                    : `"${resource.name}" (${resource.service})`
                } there is no such folder (a function's code folder is read-only and its /tmp is its own); bind the bucket to a cloud provider, such as provider.bucket() of an AwsConfig provider`,
              );
            }
            continue; // local folders are not cloud resources
          }
          const parsed = parseUri(uri);
          if (!parsed || parsed.scheme !== scheme) {
            skipped.add(uri);
            continue;
          }
          if (!BUCKET_NAME.test(parsed.bucket)) {
            throw new RangeError(
              `Cannot generate ${input.what} for pipeline "${dag.name}": task "${use.node.task.name}" (node "${use.node.id}") ${access}s ${
                JSON.stringify(uri)
              }, whose bucket ${
                JSON.stringify(parsed.bucket)
              } is not a bucket name; use 3-63 lower-case letters, digits, ".", "_" or "-" in the task's reads and writes`,
            );
          }
          if (!use.net) continue; // no network, no storage: the grant would be unusable
          const entry = buckets.get(parsed.bucket) ?? { reads: new Set(), writes: new Set() };
          buckets.set(parsed.bucket, entry);
          (access === "read" ? entry.reads : entry.writes).add(uri);
          const grant = grantOf(uri, access);
          if (grant) grants.push(grant);
        }
      }
      if (!use.net && (use.node.reads.length || use.node.writes.length)) {
        notes.push(
          `Task "${use.node.task.name}" (node "${use.node.id}") denies network access in its Deno permissions, so its executor gets no storage grant for its data`,
        );
      }
    }
    executors.push({
      id: ident(executor),
      name: functionName(dag.name, resource),
      resource,
      config: resource.config,
      tasks,
      grants: sortGrants(grants),
      artifact: artifactPath(dag.name, resource.name),
    });
  }
  for (const uri of [...skipped].sort()) {
    notes.push(`${uri} is not ${CLOUD_LABEL[cloud]} storage (${scheme}://); no grant was generated for it`);
  }
  const staging = stagingOf(dag.name, target);
  if (!staging.configured && cloud === "aws" && !target.accountId) {
    notes.push(
      `The staging bucket ${staging.bucket} carries no account id, and S3 names are global: give AwsConfig({ accountId }) or AwsConfig({ stagingBucket }) before deploying to a second account`,
    );
  }
  return {
    pipeline: dag.name,
    ...(input.description ? { description: input.description } : {}),
    version: GLACIER_VERSION,
    source: input.source,
    runner: checkRunner(input.runner ?? DEFAULT_RUNNER),
    target,
    executors,
    buckets: [...buckets.keys()].sort().filter((b) => b !== staging.bucket).map((name) => ({
      name,
      id: ident(name),
      reads: [...buckets.get(name)!.reads].sort(),
      writes: [...buckets.get(name)!.writes].sort(),
    })),
    staging,
    ...(input.schedule ? { schedule: input.schedule } : {}),
    notes,
    modules: { ...input.modules },
    order: dag.topologicalSort().map((n) => n.id),
  };
}

function targetOf(cloud: TargetCloud, config: CloudConfig | undefined): Target {
  if (cloud === "aws") {
    const c = config?.cloud === "aws" ? config : undefined;
    return {
      cloud,
      region: c?.region ?? "us-east-1",
      ...(c?.accountId ? { accountId: c.accountId } : {}),
      ...(c?.stagingBucket ? { stagingUri: c.stagingBucket } : {}),
    };
  }
  if (cloud === "gcp") {
    const c = config?.cloud === "gcp" ? config : undefined;
    return {
      cloud,
      region: c?.region ?? "us-central1",
      ...(c ? { project: c.project } : {}),
      ...(c?.stagingBucket ? { stagingUri: c.stagingBucket } : {}),
    };
  }
  const c = config?.cloud === "azure" ? config : undefined;
  return {
    cloud,
    region: c?.location ?? "eastus",
    resourceGroup: c?.resourceGroup ?? "glacier",
    ...(c?.storageAccount ? { storageAccount: c.storageAccount } : {}),
  };
}

function stagingOf(pipeline: string, target: Target): Staging {
  const parsed = target.stagingUri ? parseUri(target.stagingUri) : undefined;
  if (parsed) {
    const prefix = parsed.key === "" ? "" : parsed.key.replace(/\/*$/, "/");
    return { bucket: parsed.bucket, id: "staging", prefix, configured: true, expireDays: 7 };
  }
  // S3 and GCS names are global: the account and region (AWS) or the project (GCP) keep two
  // deployments of one pipeline apart. Azure containers live in one storage account.
  const scope = target.cloud === "aws"
    ? [target.accountId ?? "", target.region]
    : target.cloud === "gcp"
    ? [target.project ?? ""]
    : [];
  const name = ["glacier", pipeline, ...scope, "staging"].filter(Boolean).join("-").toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-");
  const bucket = shortName(name, 63);
  return { bucket, id: "staging", prefix: "", configured: false, expireDays: 7 };
}

/** The executors that need cloud compute (not local). */
export function remoteExecutors(model: InfraModel): ExecutorModel[] {
  return model.executors.filter((e) => e.resource.kind !== "local");
}

/** The longest task timeout among an executor's tasks, in seconds, if any is set. */
export function taskTimeoutSeconds(executor: ExecutorModel): number | undefined {
  const ms = executor.tasks.map((t) => t.options.timeout).filter((t): t is number => typeof t === "number");
  return ms.length ? Math.ceil(Math.max(...ms) / 1000) : undefined;
}

/** The header every generated file carries, as lines without comment markers. */
export function headerLines(model: InfraModel): string[] {
  return [
    `Generated by Glacier ${model.version} from pipeline "${model.pipeline}" (${model.source}).`,
    "Do not edit: change the pipeline and generate again. No secret values are written here;",
    "secrets and environment values are read from variables or the environment by name.",
  ];
}
