/**
 * Appliers create or update a deployment in an orchestrator's own service
 * (`deploy({ apply: true })`). They live outside `src/` because they load
 * cloud SDKs; a wiring (`Wiring.appliers`) maps each orchestrator to a lazy
 * loader, so nothing is loaded until a deployment is applied.
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
