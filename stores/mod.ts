/**
 * The object stores Glacier ships, by URI scheme, each loaded on first use
 * so a process that never touches `s3://` never loads the AWS SDK. One table
 * for every wiring that reads cloud storage: Glacier's own (`wiring.ts`) and
 * the runners' (`executors/wiring.ts`).
 *
 * @module
 */
import type { AwsConfig } from "../src/config/aws.ts";
import type { AzureConfig } from "../src/config/azure.ts";
import type { GcpConfig } from "../src/config/gcp.ts";
import type { StoreFactory } from "../src/resources/object_store.ts";

/** `s3` (Amazon S3 and S3-compatible servers), `gs` (Google Cloud Storage) and `az` (Azure Blob). */
export const STORES: Readonly<Record<string, StoreFactory>> = Object.freeze({
  s3: async (config: unknown) => (await import("./s3.ts")).createS3Store(config as AwsConfig),
  gs: async (config: unknown) => (await import("./gcs.ts")).createGcsStore(config as GcpConfig),
  az: async (config: unknown) =>
    (await import("./azure_blob.ts")).createAzureBlobStore(config as AzureConfig),
});
