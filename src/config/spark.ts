/**
 * A Spark cluster on any cloud: the cluster execution config.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { matches } from "../_validate.ts";
import { inRange } from "./_util.ts";
import { serviceClouds, SERVICES } from "./services.ts";

const SPARK = SERVICES.spark;

/** Options for {@linkcode SparkConfig}. */
export interface SparkConfigOptions {
  /** The Spark master URL of a self-managed cluster, such as `spark://host:7077`. @default {undefined} */
  master?: string;
  /** Executor count. @default {2} */
  numExecutors?: number;
  /** Memory per executor in MB, 512–262144. @default {4096} */
  executorMemory?: number;
}

/**
 * A Spark cluster of your own, or the cloud's managed Spark (EMR on AWS,
 * Dataproc on GCP) when no `master` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SparkConfig } from "./spark.ts";
 * assert.ok(new SparkConfig().numExecutors === 2);
 * ```
 */
export class SparkConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind: "cluster" = SPARK.kind;
  /** Always `"spark"`. */
  readonly service = "spark" as const;
  /** Any cloud. */
  readonly clouds: readonly Cloud[] = serviceClouds("spark");
  /** The master URL. */
  readonly master?: string;
  /** Executor count. */
  readonly numExecutors: number;
  /** Memory per executor in MB. */
  readonly executorMemory: number;
  /**
   * Builds it.
   * @param options The cluster's shape.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: SparkConfigOptions = {}) {
    matches(
      "SparkConfig",
      "master",
      options.master,
      /^(spark|yarn|k8s|local)(:\/\/.*|\[.*\])?$/,
      'a Spark master such as "spark://host:7077" or "yarn"',
    );
    inRange("SparkConfig", "numExecutors", options.numExecutors, SPARK.limits.numExecutors);
    inRange("SparkConfig", "executorMemory", options.executorMemory, SPARK.limits.executorMemory);
    this.master = options.master;
    this.numExecutors = options.numExecutors ?? SPARK.defaults.numExecutors;
    this.executorMemory = options.executorMemory ?? SPARK.defaults.executorMemory;
  }
}
