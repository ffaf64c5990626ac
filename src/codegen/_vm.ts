// What a generated VM gets, on every cloud: the SSH user and project folder
// the VM executor expects (from the VM config), whether it has a public
// address, and the inputs the person applying gives (the public key Glacier
// logs in with, the network SSH may come from). The AWS stack and the GCP and
// Azure Terraform read these, so the three clouds agree.
import { GlacierError } from "../errors.ts";
import { VM_DEFAULTS } from "../config/vm.ts";
import type { ExecutorModel, InfraModel } from "./_model.ts";
import { type VmInitOptions, vmInitScript } from "./_scripts.ts";

/** The input (Terraform variable, CloudFormation parameter, Pulumi config) holding the SSH public key. */
export const SSH_PUBLIC_KEY_INPUT = "ssh_public_key";

/** The input holding the one CIDR SSH may come from: required, so no default opens port 22 to everyone. */
export const SSH_CIDR_INPUT = "ssh_cidr";

/** The descriptions of the two SSH inputs. */
export const SSH_INPUT_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  [SSH_PUBLIC_KEY_INPUT]:
    "The OpenSSH public key Glacier logs in to the task VMs with (such as the line in ~/.ssh/id_ed25519.pub)",
  [SSH_CIDR_INPUT]:
    "The IPv4 CIDR allowed to reach the task VMs on SSH port 22, such as 203.0.113.7/32 (where glacier run or the orchestrator runs); there is no default, so SSH is never open to everyone by accident",
});

/** How a generated VM is reached and prepared. */
export interface VmAccess {
  /** The SSH user the config names (`glacier` by default); the boot script makes it. */
  readonly user: string;
  /** The project folder: the config's `remoteDir`, else `/home/<user>/glacier`. */
  readonly dir: string;
  /** The SSH port the firewall opens: the image's sshd listens on 22. */
  readonly port: 22;
  /** Whether it gets a public address (else the network must reach its private one). */
  readonly publicIp: boolean;
}

/**
 * How a generated VM is reached, from its config.
 *
 * @param model The model, for messages.
 * @param e The VM executor.
 * @returns The user, folder, port and whether it has a public address.
 * @throws {GlacierError} `USER:GENERATE_VM` when `remoteDir` is not an absolute path of printable
 *   characters, or the config names an SSH port other than 22 (the one a new VM's sshd listens on).
 */
export function vmAccess(model: InfraModel, e: ExecutorModel): VmAccess {
  const user = typeof e.config.user === "string" ? e.config.user : VM_DEFAULTS.user;
  const dir = typeof e.config.remoteDir === "string"
    ? e.config.remoteDir.replace(/(.)\/+$/, "$1")
    : `/home/${user}/glacier`;
  // deno-lint-ignore no-control-regex -- a boot script line cannot hold these
  if (!/^\/[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/.test(dir)) {
    throw new GlacierError(
      "USER:GENERATE_VM",
      `Pipeline "${model.pipeline}": VM "${e.resource.name}" has remoteDir ${
        JSON.stringify(dir)
      }, which its boot script cannot create; give an absolute path such as "/home/${user}/glacier"`,
    );
  }
  if (typeof e.config.port === "number" && e.config.port !== 22) {
    throw new GlacierError(
      "USER:GENERATE_VM",
      `Pipeline "${model.pipeline}": VM "${e.resource.name}" has port ${e.config.port}, but the VM generated for it runs sshd on port 22; drop the port from its config`,
    );
  }
  return { user, dir, port: 22, publicIp: e.config.publicIp !== false };
}

/**
 * The boot script of a generated VM.
 *
 * @param access How it is reached.
 * @param key Where the user's key comes from (see {@linkcode VmInitOptions}).
 * @returns The script.
 */
export function vmBootScript(access: VmAccess, key: VmInitOptions["key"]): string {
  return vmInitScript({ user: access.user, dir: access.dir, key });
}

/**
 * What to set on the VM config once the VM exists, for an output's description.
 *
 * @param e The VM executor.
 * @param access How it is reached.
 * @param config The config class, such as `EC2Config`.
 * @returns A sentence.
 */
export function vmHostHint(e: ExecutorModel, access: VmAccess, config: string): string {
  return `The ${
    access.publicIp ? "public" : "private"
  } address of "${e.resource.name}": set ${config}({ host: <this>, user: ${
    JSON.stringify(access.user)
  }, remoteDir: ${JSON.stringify(access.dir)} })`;
}
