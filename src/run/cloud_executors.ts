/**
 * The executors of one cloud run: local-bound tasks on the local executor,
 * every remote resource on the executor its run's wiring gives its service (built
 * lazily, once per resource), and a clear failure for services without one.
 * It owns the run's staging area and cleans it up after a successful run.
 *
 * @module
 */
import { TaskError } from "../errors.ts";
import type { ExecutionResource } from "../resources/execution.ts";
import type { Task } from "../task.ts";
import type { Executor, TaskInvocation } from "./executor.ts";
import type { StorageWiring } from "../resources/object_store.ts";
import type { RemoteExecutorFactory } from "./remote_executors.ts";
import { Staging } from "./staging.ts";

/** Options for {@linkcode CloudExecutors}. */
export interface CloudExecutorsOptions {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The run's id. */
  readonly runId: string;
  /** The executor of local-bound tasks. */
  readonly local: Executor;
  /** The executors by service (the run's `Wiring.executors`). */
  readonly executors: Readonly<Record<string, RemoteExecutorFactory>>;
  /** The stores the staging area is written with. */
  readonly storage: StorageWiring;
  /** Upload locally built artifacts when deployed code differs. @default {false} */
  readonly syncCode?: boolean;
  /** Keep staged objects after a successful run. @default {false} */
  readonly keepStaging?: boolean;
}

/** Routes a cloud run's tasks to their executors. */
export class CloudExecutors {
  readonly #options: CloudExecutorsOptions;
  readonly #remote = new Map<ExecutionResource, Executor>();
  readonly #staging = new Map<string, Staging>();

  /**
   * Builds it.
   * @param options The run and its local executor.
   */
  constructor(options: CloudExecutorsOptions) {
    this.#options = options;
  }

  /**
   * The executor for a task.
   *
   * @param task The task.
   * @returns The executor of its resource.
   */
  executorFor(task: Task): Executor {
    const resource = task.resource;
    if (resource.kind === "local") return this.#options.local;
    let executor = this.#remote.get(resource);
    if (!executor) this.#remote.set(resource, executor = this.#build(resource));
    return executor;
  }

  /**
   * Closes every remote executor and, when the run succeeded, removes what it staged.
   *
   * @param succeeded Whether the run succeeded.
   * @throws {GlacierError} Never for cleanup: a failed cleanup is reported on stderr and left.
   */
  async close(succeeded: boolean): Promise<void> {
    await Promise.allSettled([...this.#remote.values()].map((e) => e.close()));
    if (!succeeded || this.#options.keepStaging) return;
    for (const staging of this.#staging.values()) {
      try {
        await staging.cleanup();
      } catch (error) {
        console.error(
          `glacier: could not remove staged data under ${staging.root.uri}: ${
            (error as Error)?.message ?? error
          }; remove it by hand or set a lifecycle rule on the staging bucket`,
        );
      }
    }
  }

  #build(resource: ExecutionResource): Executor {
    const { pipeline, runId } = this.#options;
    const { executors } = this.#options;
    const factory = Object.hasOwn(executors, resource.service) ? executors[resource.service] : undefined;
    if (!factory) return unavailable(resource, Object.keys(executors));
    const provider = resource.providerConfig;
    const uri = (provider as { stagingBucket?: string } | undefined)?.stagingBucket;
    let staging: Staging | undefined;
    if (uri) {
      staging = this.#staging.get(uri);
      if (!staging) {
        this.#staging.set(uri, staging = Staging.fromUri(uri, provider, runId, this.#options.storage));
      }
    }
    const built = Promise.resolve().then(() =>
      factory({ pipeline, runId, resource, provider, staging, syncCode: this.#options.syncCode ?? false })
    );
    built.catch(() => {}); // reported by the first execute()
    return {
      name: resource.service,
      async execute(invocation: TaskInvocation): Promise<unknown> {
        return await (await built).execute(invocation);
      },
      async close(): Promise<void> {
        await (await built.catch(() => undefined))?.close();
      },
    };
  }
}

function unavailable(resource: ExecutionResource, wired: readonly string[]): Executor {
  return {
    name: resource.service,
    execute(invocation: TaskInvocation): Promise<unknown> {
      return Promise.reject(
        new TaskError(
          `cloud mode has no executor for service "${resource.service}" (resource "${resource.name}") in this run's wiring; bind the task to a resource of a wired service (${
            wired.length ? `this run's wiring has ${wired.join(", ")}` : "this run's wiring has none"
          }), give run() a wiring with a "${resource.service}" executor, or run with mode "local"`,
          {
            pipeline: invocation.pipeline,
            task: invocation.task.name,
            nodeId: invocation.nodeId,
            attempt: invocation.attempt,
            code: "USER:EXECUTOR_UNAVAILABLE",
            retryable: false,
          },
        ),
      );
    },
    close: () => Promise.resolve(),
  };
}
