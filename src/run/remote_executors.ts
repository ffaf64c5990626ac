/**
 * The shape of a cloud run's remote executors. The core knows none; a
 * wiring (`Wiring.executors`, built in `wiring.ts` beside `mod.ts`) maps each
 * service (`lambda`, …) to a factory that loads its executor lazily, so a
 * local run never loads a cloud SDK.
 *
 * @module
 */
import type { ProviderConfig } from "../config/types.ts";
import type { ExecutionResource } from "../resources/execution.ts";
import type { Executor } from "./executor.ts";
import type { Staging } from "./staging.ts";

/** What a remote executor is built from: one per resource per cloud run. */
export interface RemoteExecutorOptions {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The run's id. */
  readonly runId: string;
  /** The execution resource whose tasks it runs. */
  readonly resource: ExecutionResource;
  /** The config of the provider that made the resource. */
  readonly provider?: ProviderConfig;
  /** The run's staging area, when the provider has a staging location. */
  readonly staging?: Staging;
  /** Upload the locally built artifact when the deployed code differs. */
  readonly syncCode: boolean;
}

/** Builds the executor of one remote resource for a cloud run. */
export type RemoteExecutorFactory = (options: RemoteExecutorOptions) => Executor | Promise<Executor>;
