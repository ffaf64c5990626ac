// The object stores a process that runs payloads away from the scheduler
// (the runner, the Lambda runtime, the cluster launcher) reads and writes
// staging through, loaded on first use as mod.ts wires them.
import type { AwsConfig, GcpConfig } from "../src/config.ts";
import { registerStore } from "../src/resources/object_store.ts";

export function registerRemoteStores(): void {
  registerStore("s3", async (config) => (await import("../stores/s3.ts")).createS3Store(config as AwsConfig));
  registerStore(
    "gs",
    async (config) => (await import("../stores/gcs.ts")).createGcsStore(config as GcpConfig),
  );
}
