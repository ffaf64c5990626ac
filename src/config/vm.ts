/**
 * What the VM configs of every cloud share: how to reach the machine over SSH.
 *
 * @module
 */
import type { Cloud, ExecutionConfigBase } from "./base.ts";
import { intInRange, matches } from "../_validate.ts";

/** What the VM configs share: how to reach the machine over SSH and run tasks there. */
export interface VMConfigOptions {
  /** The host to reach over SSH; when absent the instance is resolved by id at run time. @default {undefined} */
  host?: string;
  /** The SSH port. @default {22} */
  port?: number;
  /** The SSH user. @default {"glacier"} */
  user?: string;
  /** A private key file; by default the SSH agent is used. Never copied into payloads. @default {undefined} */
  keyFile?: string;
  /** A known_hosts file to check the host key against; host keys are always checked. @default {ssh's own} */
  knownHostsFile?: string;
  /**
   * Where the project is on the machine, when not at the same path as here.
   * When set, the VM executor copies the task module's project files there
   * over SSH before the first task of a run (only when they changed).
   * @default {undefined}
   */
  remoteDir?: string;
  /** The Deno executable on the machine. @default {"deno"} */
  deno?: string;
}

/** The SSH defaults every VM service shares. */
export const VM_DEFAULTS: Readonly<{ port: number; user: string; deno: string }> = Object.freeze({
  port: 22,
  user: "glacier",
  deno: "deno",
});

/**
 * What the VM configs share. Subclasses add the cloud's machine fields.
 */
export abstract class VMConfigBase implements ExecutionConfigBase {
  /** Always `"vm"`. */
  readonly kind = "vm" as const;
  /** The cloud service. */
  abstract readonly service: string;
  /** The clouds whose providers can bind it. */
  abstract readonly clouds: readonly Cloud[];
  /** The SSH host. */
  readonly host?: string;
  /** The SSH port. */
  readonly port: number;
  /** The SSH user. */
  readonly user: string;
  /** The private key file. */
  readonly keyFile?: string;
  /** The known_hosts file. */
  readonly knownHostsFile?: string;
  /** Where the project is on the machine. */
  readonly remoteDir?: string;
  /** The Deno executable on the machine. */
  readonly deno: string;

  /**
   * Checks and keeps the SSH fields.
   *
   * @param owner The config's name, for errors.
   * @param options The SSH fields.
   * @throws {RangeError} When the host or port are malformed.
   */
  constructor(owner: string, options: VMConfigOptions) {
    intInRange(owner, "port", options.port, 1, 65_535);
    matches(owner, "host", options.host, /^[A-Za-z0-9.:[\]-]+$/, "a host name or IP address");
    matches(owner, "user", options.user, /^[a-z_][a-z0-9_.-]{0,31}$/i, "a user name");
    this.host = options.host;
    this.port = options.port ?? VM_DEFAULTS.port;
    this.user = options.user ?? VM_DEFAULTS.user;
    this.keyFile = options.keyFile;
    this.knownHostsFile = options.knownHostsFile;
    this.remoteDir = options.remoteDir;
    this.deno = options.deno ?? VM_DEFAULTS.deno;
  }
}
