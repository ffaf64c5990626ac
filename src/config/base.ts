/**
 * What every config shares: the clouds, the kinds of execution resource and
 * the fields every execution config has.
 *
 * @module
 */

/** The clouds a provider can target; `local` is the embedded default. */
export type Cloud = "local" | "aws" | "gcp" | "azure";

/** The kinds of execution resource. */
export type ResourceKind = "local" | "serverless" | "vm" | "cluster";

/** What every execution config shares. */
export interface ExecutionConfigBase {
  /** The kind of resource this config describes. */
  readonly kind: ResourceKind;
  /** The cloud service, such as `lambda` or `databricks`. */
  readonly service: string;
  /** The clouds whose providers can bind it. */
  readonly clouds: readonly Cloud[];
}
