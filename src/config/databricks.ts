/**
 * Databricks, on any of the three clouds: the cluster execution config.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { matches, oneOf, required } from "../_validate.ts";
import { inRange, validUrl } from "./_util.ts";
import { serviceClouds, SERVICES } from "./services.ts";

const DATABRICKS = SERVICES.databricks;

/** A new job cluster for Databricks. */
export interface DatabricksNewCluster {
  /** The runtime, such as `15.4.x-scala2.12`. */
  sparkVersion: string;
  /** The node type, such as `i3.xlarge`. */
  nodeTypeId: string;
  /** Worker count, 0–1000. */
  numWorkers: number;
}

/** Options for {@linkcode DatabricksConfig}. */
export interface DatabricksConfigOptions {
  /** An existing all-purpose cluster. Give this or `newCluster`. @default {undefined} */
  clusterId?: string;
  /** A job cluster created for each run. @default {undefined} */
  newCluster?: DatabricksNewCluster;
  /** The workspace URL; by default `DATABRICKS_HOST`. Never holds the token. @default {undefined} */
  host?: string;
  /** The pricing SKU, for cost estimates. @default {"jobs-compute"} */
  sku?: "jobs-compute" | "all-purpose" | "jobs-light";
  /** Node count assumed by cost estimates for an existing cluster. @default {2} */
  nodes?: number;
}

/**
 * A Databricks cluster, reached through the Jobs API.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabricksConfig } from "./databricks.ts";
 * assert.ok(new DatabricksConfig({ clusterId: "0101-123456-abcdefgh" }).service === "databricks");
 * ```
 */
export class DatabricksConfig implements ExecutionConfigBase {
  /** Always `"cluster"`. */
  readonly kind: "cluster" = DATABRICKS.kind;
  /** Always `"databricks"`. */
  readonly service = "databricks" as const;
  /** Databricks runs on all three clouds. */
  readonly clouds: readonly Cloud[] = serviceClouds("databricks");
  /** An existing cluster. */
  readonly clusterId?: string;
  /** A job cluster spec. */
  readonly newCluster?: DatabricksNewCluster;
  /** The workspace URL. */
  readonly host?: string;
  /** The pricing SKU. */
  readonly sku: "jobs-compute" | "all-purpose" | "jobs-light";
  /** Node count for estimates. */
  readonly nodes: number;
  /**
   * Builds it.
   * @param options The cluster to run on.
   * @throws {TypeError} When neither or both of `clusterId` and `newCluster` are given.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: DatabricksConfigOptions) {
    if ((options?.clusterId === undefined) === (options?.newCluster === undefined)) {
      throw new TypeError(
        'DatabricksConfig: give exactly one of "clusterId" (an existing cluster) or "newCluster" (a job cluster spec)',
      );
    }
    matches(
      "DatabricksConfig",
      "clusterId",
      options.clusterId,
      /^[A-Za-z0-9-]{3,64}$/,
      'a cluster id such as "0101-123456-abcdefgh"',
    );
    if (options.newCluster) {
      required(
        "DatabricksConfig",
        "newCluster.sparkVersion",
        options.newCluster.sparkVersion,
        'e.g. "15.4.x-scala2.12"',
      );
      required(
        "DatabricksConfig",
        "newCluster.nodeTypeId",
        options.newCluster.nodeTypeId,
        'e.g. "i3.xlarge"',
      );
      matches(
        "DatabricksConfig",
        "newCluster.sparkVersion",
        options.newCluster.sparkVersion,
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'a Databricks runtime version such as "15.4.x-scala2.12"',
      );
      matches(
        "DatabricksConfig",
        "newCluster.nodeTypeId",
        options.newCluster.nodeTypeId,
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'a node type such as "i3.xlarge"',
      );
      inRange(
        "DatabricksConfig",
        "newCluster.numWorkers",
        options.newCluster.numWorkers,
        DATABRICKS.limits.numWorkers,
      );
    }
    if (options.host !== undefined) validUrl("DatabricksConfig", "host", options.host);
    oneOf("DatabricksConfig", "sku", options.sku, DATABRICKS.choices.sku);
    inRange("DatabricksConfig", "nodes", options.nodes, DATABRICKS.limits.nodes);
    this.clusterId = options.clusterId;
    this.newCluster = options.newCluster ? { ...options.newCluster } : undefined;
    this.host = options.host;
    this.sku = options.sku ?? DATABRICKS.defaults.sku;
    this.nodes = options.newCluster
      ? options.newCluster.numWorkers + 1
      : options.nodes ?? DATABRICKS.defaults.nodes;
  }
}
