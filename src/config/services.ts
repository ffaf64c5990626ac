/**
 * The one service table: which cloud each service belongs to.
 *
 * @module
 */
import type { Cloud } from "./base.ts";

const SERVICE_CLOUD: Readonly<Record<string, Exclude<Cloud, "local">>> = {
  lambda: "aws",
  ec2: "aws",
  emr: "aws",
  "cloud-function": "gcp",
  "compute-engine": "gcp",
  dataproc: "gcp",
  "azure-function": "azure",
  "azure-vm": "azure",
};

/**
 * The one cloud a service belongs to, or undefined for services of any cloud
 * (local, Databricks, Spark).
 *
 * @param service The service, such as `lambda`.
 * @returns The cloud.
 */
export function serviceCloud(service: string): Exclude<Cloud, "local"> | undefined {
  return SERVICE_CLOUD[service];
}
