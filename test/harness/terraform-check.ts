/**
 * Whether this machine can deploy for real: a Terraform >= 1.9 (or the binary TERRAFORM_BINARY_NAME names)
 * and the kreuzwerker/docker provider where `terraform init` finds it offline.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/synth';
import { TERRAFORM } from './deployment';

/** Undefined when everything is there; otherwise one line saying what is missing. */
export async function missingTerraform(): Promise<string | undefined> {
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
