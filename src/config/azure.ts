/**
 * Microsoft Azure: the provider config and the Azure Functions and Azure VM
 * execution configs.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { matches, oneOf, stagingPrefix } from "../_validate.ts";
import { VMConfigBase, type VMConfigOptions } from "./vm.ts";
import { inRange } from "./_util.ts";
import { serviceClouds, SERVICES } from "./services.ts";

const FUNCTION = SERVICES["azure-function"];
const VM = SERVICES["azure-vm"];

/** Options for {@linkcode AzureConfig}. */
export interface AzureConfigOptions {
  /** The subscription id (a GUID). @default {undefined} */
  subscriptionId?: string;
  /** The resource group. @default {"glacier"} */
  resourceGroup?: string;
  /** The location, such as `eastus`. @default {"eastus"} */
  location?: string;
  /** The storage account that holds the containers. @default {undefined} */
  storageAccount?: string;
  /** Where data between executors is staged, such as `az://container/prefix`. @default {undefined} */
  stagingBucket?: string;
}

/**
 * Microsoft Azure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureConfig } from "./azure.ts";
 * assert.ok(new AzureConfig({ location: "westeurope" }).cloud === "azure");
 * ```
 */
export class AzureConfig {
  /** Always `"azure"`. */
  readonly cloud = "azure" as const;
  /** The subscription id. */
  readonly subscriptionId?: string;
  /** The resource group. */
  readonly resourceGroup: string;
  /** The location. */
  readonly location: string;
  /** The storage account. */
  readonly storageAccount?: string;
  /** Where data between executors is staged. */
  readonly stagingBucket?: string;
  /**
   * Builds it.
   * @param options The subscription, group and location.
   * @throws {RangeError} When a field is malformed.
   */
  constructor(options: AzureConfigOptions = {}) {
    matches(
      "AzureConfig",
      "subscriptionId",
      options.subscriptionId,
      /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i,
      "a subscription GUID",
    );
    this.subscriptionId = options.subscriptionId;
    this.resourceGroup = options.resourceGroup ?? "glacier";
    matches(
      "AzureConfig",
      "resourceGroup",
      this.resourceGroup,
      /^[\w.()-]{1,90}$/,
      "1-90 letters, digits, '.', '_', '-', '(' or ')'",
    );
    this.location = options.location ?? "eastus";
    matches("AzureConfig", "location", this.location, /^[a-z0-9]+$/, 'an Azure location such as "eastus"');
    matches(
      "AzureConfig",
      "storageAccount",
      options.storageAccount,
      /^[a-z0-9]{3,24}$/,
      "3-24 lower-case letters or digits",
    );
    this.storageAccount = options.storageAccount;
    matches(
      "AzureConfig",
      "stagingBucket",
      options.stagingBucket,
      /^az:\/\/[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9](\/.*)?$/,
      'an Azure Blob URI such as "az://staging/glacier"',
    );
    stagingPrefix("AzureConfig", "stagingBucket", options.stagingBucket);
    this.stagingBucket = options.stagingBucket;
  }
}

/** Options for {@linkcode AzureFunctionConfig}. */
export interface AzureFunctionConfigOptions {
  /** The hosting plan. @default {"flex"} */
  plan?: "consumption" | "flex" | "premium";
  /** Instance memory in MB: 512, 2048 or 4096 on Flex Consumption. @default {2048} */
  memory?: number;
  /** Timeout in seconds: at most 600 on Consumption, 3600 otherwise (unbounded is not offered). @default {300} */
  timeout?: number;
}

/**
 * An Azure Function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureFunctionConfig } from "./azure.ts";
 * assert.ok(new AzureFunctionConfig().plan === "flex");
 * ```
 */
export class AzureFunctionConfig implements ExecutionConfigBase {
  /** Always `"serverless"`. */
  readonly kind: "serverless" = FUNCTION.kind;
  /** Always `"azure-function"`. */
  readonly service = "azure-function" as const;
  /** Only Azure. */
  readonly clouds: readonly Cloud[] = serviceClouds("azure-function");
  /** The hosting plan. */
  readonly plan: "consumption" | "flex" | "premium";
  /** Instance memory in MB. */
  readonly memory: number;
  /** Timeout in seconds. */
  readonly timeout: number;
  /**
   * Builds it.
   * @param options Plan, memory and timeout.
   * @throws {RangeError} When a field is outside the plan's limits.
   */
  constructor(options: AzureFunctionConfigOptions = {}) {
    oneOf("AzureFunctionConfig", "plan", options.plan, FUNCTION.choices.plan);
    this.plan = options.plan ?? FUNCTION.defaults.plan;
    if (options.memory !== undefined && this.plan === "flex") {
      oneOf("AzureFunctionConfig", "memory", String(options.memory), FUNCTION.choices.flexMemory.map(String));
    }
    inRange("AzureFunctionConfig", "memory", options.memory, FUNCTION.limits.memory);
    inRange(
      "AzureFunctionConfig",
      "timeout",
      options.timeout,
      this.plan === "consumption" ? FUNCTION.limits.consumptionTimeout : FUNCTION.limits.timeout,
    );
    this.memory = options.memory ?? FUNCTION.defaults.memory;
    this.timeout = options.timeout ?? FUNCTION.defaults.timeout;
  }
}

/** Options for {@linkcode AzureVMConfig}. */
export interface AzureVMConfigOptions extends VMConfigOptions {
  /** The VM size, such as `Standard_D4s_v5`. @default {"Standard_D4s_v5"} */
  size?: string;
}

/**
 * An Azure virtual machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AzureVMConfig } from "./azure.ts";
 * assert.ok(new AzureVMConfig().size === "Standard_D4s_v5");
 * ```
 */
export class AzureVMConfig extends VMConfigBase {
  /** Always `"azure-vm"`. */
  override readonly service = "azure-vm" as const;
  /** Only Azure. */
  override readonly clouds: readonly Cloud[] = serviceClouds("azure-vm");
  /** The VM size. */
  readonly size: string;
  /**
   * Builds it.
   * @param options The size and how to reach it.
   * @throws {RangeError} When the size or port are malformed.
   */
  constructor(options: AzureVMConfigOptions = {}) {
    super("AzureVMConfig", options);
    matches(
      "AzureVMConfig",
      "size",
      options.size,
      /^(Standard|Basic)_[A-Za-z0-9_]+$/,
      'a VM size such as "Standard_D4s_v5"',
    );
    this.size = options.size ?? VM.defaults.size;
  }
}
