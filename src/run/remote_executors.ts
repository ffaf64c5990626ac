/**
 * Which executors a cloud run uses for remote resources. The core knows none;
 * `mod.ts` wires each in by service (`lambda`, …) with a factory that loads
 * the executor lazily, so a local run never loads a cloud SDK.
 *
 * @module
 */
import type { ProviderConfig } from "../config.ts";
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

const factories = new Map<string, RemoteExecutorFactory>();

/**
 * Wires in the executor of a service for cloud runs. `mod.ts` does this for
 * the executors Glacier ships; nothing registers itself on import.
 *
 * @param service The service, such as `lambda`.
 * @param factory Builds the executor (may load it lazily).
 * @throws {TypeError} When the service is empty or the factory is not a function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerRemoteExecutor, remoteExecutorFactory } from "./remote_executors.ts";
 * registerRemoteExecutor("echo", () => ({
 *   name: "echo",
 *   execute: (invocation) => Promise.resolve(invocation.args[0]),
 *   close: () => Promise.resolve(),
 * }));
 * assert.ok(remoteExecutorFactory("echo") !== undefined);
 * ```
 */
export function registerRemoteExecutor(service: string, factory: RemoteExecutorFactory): void {
  if (typeof service !== "string" || service === "") {
    throw new TypeError(`registerRemoteExecutor(): "service" must be a service name such as "lambda"`);
  }
  if (typeof factory !== "function") {
    throw new TypeError(`registerRemoteExecutor("${service}"): "factory" must be a function`);
  }
  factories.set(service, factory);
}

/**
 * The factory wired in for a service.
 *
 * @param service The service, such as `lambda`.
 * @returns The factory, or undefined when none is wired in.
 */
export function remoteExecutorFactory(service: string): RemoteExecutorFactory | undefined {
  return factories.get(service);
}
