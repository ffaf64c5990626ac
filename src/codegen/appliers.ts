/**
 * Appliers create or update a deployment in an orchestrator's own service
 * (`deploy({ apply: true })`). They live outside `src/` because they load
 * cloud SDKs; `mod.ts` registers them as lazy loaders, so nothing is loaded
 * until a deployment is applied.
 *
 * @module
 */

/** What an applier is given. */
export interface ApplyRequest {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The cloud region. */
  readonly region: string;
  /** The state machine (or DAG, flow, job) name. */
  readonly name: string;
  /** The definition text (ASL JSON for Step Functions). */
  readonly definition: string;
  /** The role the state machine runs as. */
  readonly roleArn: string;
  /** Schedules to create or update, each with an EventBridge expression. */
  readonly schedules: readonly { readonly name: string; readonly expression: string }[];
  /** The role EventBridge Scheduler assumes to start executions. */
  readonly schedulerRoleArn?: string;
  /** The execution input the schedules send. */
  readonly input: string;
}

/** What an applier returns. */
export interface ApplyResult {
  /** Where to look at the deployment (the AWS console for Step Functions). */
  readonly url: string;
  /** The deployed resource's id (the state machine ARN). */
  readonly id: string;
  /** Whether it was created (else updated). */
  readonly created: boolean;
}

/** Creates or updates a deployment. */
export type Applier = (request: ApplyRequest) => Promise<ApplyResult>;

const appliers = new Map<string, () => Promise<Applier>>();

/**
 * Registers how to apply deployments of an orchestrator. `mod.ts` registers
 * `step_functions` with a lazy import of `deploy/aws_apply.ts`.
 *
 * @param orchestrator The orchestrator, such as `step_functions`.
 * @param load Loads the applier on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applierFor, registerApplier } from "./appliers.ts";
 * registerApplier("example", () => Promise.resolve(() => Promise.resolve({ url: "u", id: "i", created: true })));
 * assert.ok(applierFor("example") !== undefined);
 * ```
 */
export function registerApplier(orchestrator: string, load: () => Promise<Applier>): void {
  appliers.set(orchestrator, load);
}

/**
 * The applier loader of an orchestrator, if one is registered.
 *
 * @param orchestrator The orchestrator.
 * @returns The loader, or undefined.
 */
export function applierFor(orchestrator: string): (() => Promise<Applier>) | undefined {
  return appliers.get(orchestrator);
}
