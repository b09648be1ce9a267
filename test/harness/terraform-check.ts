/**
 * Whether this machine can deploy for real: a Terraform >= 1.9 (or the binary TERRAFORM_BINARY_NAME names)
 * and the kreuzwerker/docker provider where `terraform init` finds it offline.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/synth';

async function answers(binary: string): Promise<boolean> {
  try {
    return (await run(binary, ['version', '-json'], { env: { CHECKPOINT_DISABLE: '1' }, timeoutMs: 30_000 })).code === 0;
  } catch {
    return false;
  }
}

/**
 * The binary the suites run: TERRAFORM_BINARY_NAME (cdktf's own variable) when it is set; otherwise
 * `terraform`, or OpenTofu where only `tofu` is installed (a machine prepared from scratch: Terraform does not
 * build from the Go module proxy, so scripts/prepare-machine.sh builds OpenTofu there). The choice is put in
 * TERRAFORM_BINARY_NAME, so that the test workers, cdktf and `etcd-cluster rollout` all run the same one.
 */
export async function chooseTerraform(): Promise<string> {
  if (!process.env.TERRAFORM_BINARY_NAME && !(await answers('terraform')) && (await answers('tofu'))) {
    process.env.TERRAFORM_BINARY_NAME = 'tofu';
    process.stderr.write('\nterraform is not on the PATH, OpenTofu is: the suites run under tofu (TERRAFORM_BINARY_NAME=tofu)\n');
  }
  return process.env.TERRAFORM_BINARY_NAME || 'terraform';
}

/** Undefined when everything is there; otherwise one line saying what is missing. */
export async function missingTerraform(): Promise<string | undefined> {
  const TERRAFORM = await chooseTerraform();
  let out;
  try {
    out = await run(TERRAFORM, ['version', '-json'], { env: { CHECKPOINT_DISABLE: '1' }, timeoutMs: 30_000 });
  } catch {
    return `${TERRAFORM} is not on the PATH`;
  }
  if (out.code !== 0) return `${TERRAFORM} version failed: ${out.stderr.trim().split('\n')[0]}`;
  const version = (JSON.parse(out.stdout) as { terraform_version: string }).terraform_version;
  const [major, minor] = version.split('.').map(Number);
  if (major < 1 || (major === 1 && minor < 9)) return `${TERRAFORM} ${version} is older than 1.9 (provisioners in removed blocks need 1.9)`;
  const host = TERRAFORM === 'tofu' ? 'registry.opentofu.org' : 'registry.terraform.io';
  const dir = join(homedir(), '.terraform.d', 'plugins', host, 'kreuzwerker', 'docker');
  if (!existsSync(dir) || readdirSync(dir).length === 0) return `the kreuzwerker/docker provider is not in ${dir}`;
  return undefined;
}
