/**
 * `Provider`: the one entry to a cloud. Its config decides the cloud; it makes
 * the execution resources tasks bind to and the buckets they read and write.
 *
 * @module
 */
import {
  type Cloud,
  type ClusterConfig,
  type ExecutionConfig,
  LocalConfig,
  type ProviderConfig,
  type ServerlessConfig,
  type VMConfig,
} from "./config/mod.ts";
import { GlacierError } from "./errors.ts";
import { ExecutionResource } from "./resources/execution.ts";
import { Bucket, type BucketLocation, bucketLocation } from "./resources/storage.ts";
import { CORE_WIRING, type Wiring } from "./wiring.ts";
import { callTask } from "./call.ts";
import { isAbsolute, resolve } from "node:path";
import { callerModule } from "./_caller.ts";
import { projectDir } from "./_project.ts";

/** Options for {@linkcode Provider}. */
export interface ProviderOptions {
  /** The cloud config; none means the embedded local default. @default {new LocalConfig()} */
  config?: ProviderConfig;
  /**
   * Which stores serve its buckets and which formats read them, here and
   * wherever its tasks run. `Provider` from
   * `mod.ts` defaults to Glacier's wiring; build another with
   * `defineWiring()` from `./extend`.
   * @default {Glacier's wiring (from mod.ts); the core's, from src/provider.ts}
   */
  wiring?: Wiring;
  /**
   * The module the provider belongs to: a relative `LocalConfig` root is a
   * folder of its project (the nearest folder with a deno.json, else the
   * module's folder), so a script finds its data from any working directory.
   * @default {the module that calls new Provider()}
   */
  module?: string;
}

/** Options for a resource of a provider. */
export interface ResourceOptions<C> {
  /** The resource's config. */
  config: C;
  /** Its name in the provider, used in DAGs and generated code. @default {the service, numbered when taken} */
  name?: string;
}

/** Options for {@linkcode Provider.bucket}. */
export interface BucketOptions {
  /** The bucket (local: a folder under the root). */
  bucket: string;
  /** The key or prefix inside the bucket. @default {""} */
  path?: string;
}

const CONFIG_NAMES: Record<Cloud, string> = {
  local: "LocalConfig",
  aws: "AwsConfig",
  gcp: "GcpConfig",
  azure: "AzureConfig",
};

/**
 * One cloud's resources and storage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Provider } from "./provider.ts";
 * import { AwsConfig, LambdaConfig } from "./config/aws.ts";
 * const provider = new Provider({ config: new AwsConfig({ region: "us-east-1" }) });
 * const lambda = provider.serverless({ config: new LambdaConfig({ memory: 1024 }) });
 * assert.ok(lambda.name === "lambda");
 * assert.ok(provider.bucket({ bucket: "lake", path: "raw/x.parquet" }).uri === "s3://lake/raw/x.parquet");
 * ```
 */
export class Provider {
  /** The provider's config. */
  readonly config: ProviderConfig;
  /** What its buckets and resources are wired with. */
  readonly wiring: Wiring;
  readonly #names = new Set<string>();
  readonly #location: BucketLocation;

  /**
   * Builds it.
   * @param options The cloud config.
   * @throws {TypeError} When the config is not one of Glacier's provider configs.
   */
  constructor(options: ProviderOptions = {}) {
    const config = options.config ?? new LocalConfig();
    if (!config || !["local", "aws", "gcp", "azure"].includes((config as { cloud?: string }).cloud ?? "")) {
      throw new TypeError(
        `new Provider(): "config" must be a LocalConfig, AwsConfig, GcpConfig or AzureConfig, got ${
          describe(config)
        }`,
      );
    }
    const wiring = options.wiring ?? CORE_WIRING;
    if (!Object.isFrozen(wiring) || !Array.isArray(wiring.formats)) {
      throw new TypeError(`new Provider(): "wiring" must be built with defineWiring() (from ./extend)`);
    }
    this.config = config.cloud === "local" && !isAbsolute(config.root)
      ? new LocalConfig({ root: resolve(projectDir(options.module ?? callerModule()), config.root) })
      : config;
    this.wiring = wiring;
    this.#location = bucketLocation(STORAGE_SCHEMES[config.cloud], this.config, wiring);
  }

  /** The cloud: `local`, `aws`, `gcp` or `azure`. */
  get cloud(): Cloud {
    return this.config.cloud;
  }

  /**
   * This machine: tasks run on the local worker pool.
   *
   * @param options An optional name.
   * @returns The resource.
   */
  local(options: { name?: string } = {}): ExecutionResource {
    return new ExecutionResource({
      kind: "local",
      service: "local",
      name: this.#name(options.name, "local"),
      cloud: this.cloud,
      provider: this.config,
      storage: this.wiring,
      call: callTask,
    });
  }

  /**
   * A serverless function: Lambda, Cloud Functions or Azure Functions.
   *
   * @throws {TypeError} When the config is not a serverless config.
   * @throws {GlacierError} When the config belongs to another cloud.
   */
  serverless(options: ResourceOptions<ServerlessConfig>): ExecutionResource {
    return this.#resource(
      "serverless",
      "serverless()",
      "LambdaConfig, CloudFunctionConfig or AzureFunctionConfig",
      options,
    );
  }

  /**
   * A virtual machine: EC2, Compute Engine or an Azure VM.
   *
   * @throws {TypeError} When the config is not a VM config.
   * @throws {GlacierError} When the config belongs to another cloud.
   */
  vm(options: ResourceOptions<VMConfig>): ExecutionResource {
    return this.#resource("vm", "vm()", "EC2Config, ComputeEngineConfig or AzureVMConfig", options);
  }

  /**
   * A cluster: Databricks, Spark, Dataproc or EMR.
   *
   * @throws {TypeError} When the config is not a cluster config.
   * @throws {GlacierError} When the config belongs to another cloud.
   */
  cluster(options: ResourceOptions<ClusterConfig>): ExecutionResource {
    return this.#resource(
      "cluster",
      "cluster()",
      "DatabricksConfig, SparkConfig, DataprocConfig or EMRConfig",
      options,
    );
  }

  /**
   * A path in a bucket of this provider's storage.
   *
   * @returns The bucket.
   * @throws {RangeError} When the bucket name is invalid or the path climbs out of the bucket.
   */
  bucket(options: BucketOptions): Bucket {
    return new Bucket(this.#location, options?.bucket, options?.path ?? "");
  }

  #resource(
    kind: "serverless" | "vm" | "cluster",
    method: string,
    expected: string,
    options: ResourceOptions<ExecutionConfig>,
  ): ExecutionResource {
    const config = options?.config;
    if (!config || (config as { kind?: string }).kind !== kind) {
      throw new TypeError(`provider.${method}: "config" must be a ${expected}, got ${describe(config)}`);
    }
    if (!config.clouds.includes(this.cloud)) {
      const needs = config.clouds.map((c) => CONFIG_NAMES[c]).join(" or ");
      throw new GlacierError(
        "USER:CONFIG_CLOUD",
        `Cannot bind config "${config.constructor.name}" to a ${
          CONFIG_NAMES[this.cloud]
        } provider: it needs an ${needs} provider; use a config of the provider's cloud or another Provider`,
      );
    }
    return new ExecutionResource({
      kind,
      service: config.service,
      name: this.#name(options.name, config.service.replace(/-/g, "_")),
      cloud: this.cloud,
      config,
      provider: this.config,
      storage: this.wiring,
      call: callTask,
    });
  }

  #name(given: string | undefined, base: string): string {
    if (given !== undefined) {
      if (!/^[A-Za-z][\w-]{0,63}$/.test(given)) {
        throw new RangeError(
          `Resource name ${JSON.stringify(given)} is invalid: use up to 64 letters, digits, "_" or "-"`,
        );
      }
      if (this.#names.has(given)) {
        throw new RangeError(`Resource name "${given}" is already taken in this provider`);
      }
      this.#names.add(given);
      return given;
    }
    let name = base;
    for (let i = 2; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }
}

/** The URI scheme of each cloud's storage. */
export const STORAGE_SCHEMES: Readonly<Record<Cloud, string>> = {
  local: "file",
  aws: "s3",
  gcp: "gs",
  azure: "az",
};

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
