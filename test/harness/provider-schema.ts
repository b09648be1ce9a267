/**
 * The schema a provider itself declares (`terraform providers schema -json`), and a check of synthesized
 * Terraform JSON against it: every resource type exists, every argument and nested block we write is one
 * the provider accepts (not removed, not read-only, not deprecated), of a type it can take, blocks within
 * their item limits, no required argument missing, and `lifecycle.ignore_changes` names real attributes.
 * Terraform itself would refuse most of these only at `plan`, on the user's machine.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUIET_TERRAFORM_ENV, run, type TfJson } from '../helpers/synth';
import { PLUGIN_CACHE, PLUGIN_CACHE_ENV, tail, TERRAFORM } from './deployment';

type CtyType = string | [string, CtyType] | ['object', Record<string, CtyType>] | ['tuple', CtyType[]];
interface Attribute {
  type?: CtyType;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  deprecated?: boolean;
}
interface BlockType {
  nesting_mode: 'single' | 'list' | 'set' | 'map' | 'group';
  min_items?: number;
  max_items?: number;
  block: Block;
}
export interface Block {
  attributes?: Record<string, Attribute>;
  block_types?: Record<string, BlockType>;
  deprecated?: boolean;
}
interface ProviderSchema {
  provider: { block?: Block };
  resource_schemas?: Record<string, { block: Block }>;
  data_source_schemas?: Record<string, { block: Block }>;
}
export interface SchemaSet {
  /** The provider's version as Terraform installed it (read from the lock file). */
  readonly version: string;
  /** Its address, e.g. registry.terraform.io/kreuzwerker/docker. */
  readonly address: string;
  readonly provider: ProviderSchema;
  /** Terraform's built-in provider: terraform_data. */
  readonly builtin: ProviderSchema;
}

/**
 * Initializes a scratch working directory that asks for exactly this provider version (from the local
 * mirror, as the suites' deployments get it) and reads the schemas Terraform reports for it.
 */
export async function loadSchemas(workDir: string, source: string, version: string): Promise<SchemaSet> {
  mkdirSync(workDir, { recursive: true });
  mkdirSync(PLUGIN_CACHE, { recursive: true });
  const [, name] = source.split('/');
  writeFileSync(
    join(workDir, 'main.tf.json'),
    JSON.stringify({ terraform: { required_providers: { [name]: { source, version } } }, resource: { terraform_data: { probe: {} } } }, null, 2),
  );
  const env = { ...QUIET_TERRAFORM_ENV, ...PLUGIN_CACHE_ENV };
  const init = await run(TERRAFORM, ['init', '-input=false', '-no-color'], { cwd: workDir, env, timeoutMs: 300_000 });
  if (init.code !== 0) throw new Error(`${TERRAFORM} init of ${source} ${version} failed:\n${tail(init.stdout + init.stderr, 20)}`);
  const out = await run(TERRAFORM, ['providers', 'schema', '-json'], { cwd: workDir, env, timeoutMs: 120_000 });
  if (out.code !== 0) throw new Error(`${TERRAFORM} providers schema failed:\n${tail(out.stdout + out.stderr, 20)}`);
  const schemas = (JSON.parse(out.stdout) as { provider_schemas: Record<string, ProviderSchema> }).provider_schemas;
  const address = Object.keys(schemas).find((a) => a.endsWith(`/${source}`));
  const builtin = schemas['terraform.io/builtin/terraform'];
  if (!address || !builtin) throw new Error(`${TERRAFORM} reported no schema for ${source} or terraform_data (got ${Object.keys(schemas).join(', ')})`);
  // The version init selected and recorded, as a user's lock file would.
  const lock = readFileSync(join(workDir, '.terraform.lock.hcl'), 'utf8');
  const installed = new RegExp(`provider "${address.replace(/[.]/g, '\\.')}" \\{\\s*version\\s*=\\s*"([^"]+)"`).exec(lock)?.[1];
  if (!installed) throw new Error(`the lock file names no version of ${address}:\n${lock}`);
  return { version: installed, address, provider: schemas[address], builtin };
}

/** Terraform's meta-arguments and cdktf's metadata: not part of any provider's schema. */
const META = new Set(['//', 'count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);

const isToken = (v: unknown) => typeof v === 'string' && v.includes('${');
const describeType = (t: CtyType): string => (typeof t === 'string' ? t : t[0]);

/** Whether a JSON value can be read as this cty type (references and expressions `${...}` can be anything). */
function fits(value: unknown, type: CtyType | undefined, where: string, problems: string[]): void {
  if (type === undefined || type === 'dynamic' || isToken(value) || value === null) return;
  const bad = (): void => void problems.push(`${where}: expects ${describeType(type)}, got ${JSON.stringify(value)}`);
  if (type === 'string') {
    if (!['string', 'number', 'boolean'].includes(typeof value)) bad();
  } else if (type === 'number') {
    if (!(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))))) bad();
  } else if (type === 'bool') {
    if (!(typeof value === 'boolean' || value === 'true' || value === 'false')) bad();
  } else if (type[0] === 'list' || type[0] === 'set') {
    if (!Array.isArray(value)) return bad();
    value.forEach((v, i) => fits(v, type[1] as CtyType, `${where}[${i}]`, problems));
  } else if (type[0] === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) return bad();
    for (const [k, v] of Object.entries(value as object)) fits(v, type[1] as CtyType, `${where}.${k}`, problems);
  } else if (type[0] === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) return bad();
    const fields = type[1] as Record<string, CtyType>;
    for (const [k, v] of Object.entries(value as object)) {
      if (!(k in fields)) problems.push(`${where}: ${k} is not a field of this object`);
      else fits(v, fields[k], `${where}.${k}`, problems);
    }
  }
}

/** Checks one body (a resource's, a provider's, or a nested block's) against its block schema. */
export function checkBody(body: Record<string, unknown>, block: Block, where: string, problems: string[], what: string): void {
  const attributes = block.attributes ?? {};
  const blocks = block.block_types ?? {};
  for (const [key, value] of Object.entries(body)) {
    if (META.has(key)) continue;
    const attr = attributes[key];
    const nested = blocks[key];
    if (attr) {
      if (attr.computed && !attr.optional && !attr.required) problems.push(`${where}: ${key} is read-only in ${what} (the provider computes it)`);
      if (attr.deprecated) problems.push(`${where}: ${key} is deprecated in ${what}`);
      fits(value, attr.type, `${where}.${key}`, problems);
    } else if (nested) {
      if (nested.block.deprecated) problems.push(`${where}: block ${key} is deprecated in ${what}`);
      const items =
        nested.nesting_mode === 'map' && value && typeof value === 'object' && !Array.isArray(value)
          ? Object.values(value as object)
          : Array.isArray(value)
            ? value
            : [value];
      if (nested.max_items && items.length > nested.max_items)
        problems.push(`${where}: ${key} allows at most ${nested.max_items} block(s), got ${items.length}`);
      if (nested.min_items && items.length < nested.min_items)
        problems.push(`${where}: ${key} needs at least ${nested.min_items} block(s), got ${items.length}`);
      items.forEach((item, i) => {
        const at = items.length > 1 ? `${where}.${key}[${i}]` : `${where}.${key}`;
        if (item && typeof item === 'object' && !Array.isArray(item)) checkBody(item as Record<string, unknown>, nested.block, at, problems, what);
        else problems.push(`${at}: a block must be an object, got ${JSON.stringify(item)}`);
      });
    } else {
      problems.push(`${where}: ${key} is not an argument of ${what}`);
    }
  }
  for (const [key, attr] of Object.entries(attributes)) {
    if (attr.required && !(key in body)) problems.push(`${where}: the required argument ${key} of ${what} is missing`);
  }
  for (const [key, nested] of Object.entries(blocks)) {
    if (nested.min_items && !(key in body)) problems.push(`${where}: the required block ${key} of ${what} is missing`);
  }
  const ignore = (body.lifecycle as { ignore_changes?: unknown } | undefined)?.ignore_changes;
  if (Array.isArray(ignore)) {
    for (const path of ignore) {
      const first = String(path).split(/[.[]/)[0];
      if (!(first in attributes) && !(first in blocks)) problems.push(`${where}: lifecycle.ignore_changes names ${path}, which ${what} does not have`);
    }
  }
}

/** Every problem of this synthesized stack against the provider's schemas; empty when it is all accepted. */
export function checkStack(tf: TfJson, schemas: SchemaSet): string[] {
  const problems: string[] = [];
  const label = `${schemas.address.split('/').slice(1).join('/')} ${schemas.version}`;
  const resourceSchema = (type: string) =>
    type === 'terraform_data' ? schemas.builtin.resource_schemas?.[type] : type.startsWith('docker_') ? schemas.provider.resource_schemas?.[type] : undefined;
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    const schema = resourceSchema(type);
    if (!schema) {
      problems.push(`${type}: not a resource type of ${label} (nor built into Terraform)`);
      continue;
    }
    const what = type === 'terraform_data' ? 'terraform_data (built into Terraform)' : `${type} in ${label}`;
    for (const [name, body] of Object.entries(byName)) checkBody(body, schema.block, `${type}.${name}`, problems, what);
  }
  for (const [type, byName] of Object.entries((tf.data ?? {}) as Record<string, Record<string, Record<string, unknown>>>)) {
    const schema = schemas.provider.data_source_schemas?.[type];
    if (!schema) {
      problems.push(`data.${type}: not a data source of ${label}`);
      continue;
    }
    for (const [name, body] of Object.entries(byName)) checkBody(body, schema.block, `data.${type}.${name}`, problems, `data source ${type} in ${label}`);
  }
  for (const [name, configs] of Object.entries(tf.provider ?? {})) {
    if (name !== schemas.address.split('/').at(-1)) {
      problems.push(`provider ${name}: not the provider checked here (${label})`);
      continue;
    }
    const list = Array.isArray(configs) ? configs : [configs];
    list.forEach((c, i) => {
      const { alias, ...rest } = c as Record<string, unknown>;
      checkBody(rest, schemas.provider.provider.block ?? {}, `provider.${name}[${alias ?? i}]`, problems, `the provider configuration of ${label}`);
    });
  }
  return problems;
}
