/**
 * The clusters of one stack, kept together because some of what they synthesize lives at the stack's top
 * level (the `removed` blocks) and because two clusters deployed together must not collide (names of
 * Docker objects, published host ports). A clash is a synth-time error naming both clusters.
 */
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { SpecError, type PublishedHostPort } from '../lib/model';

interface Entry {
  readonly path: string;
  readonly name: string;
  readonly ports: PublishedHostPort[];
  readonly removed: object[];
}

const byStack = new WeakMap<TerraformStack, Entry[]>();

const overlaps = (a: PublishedHostPort, b: PublishedHostPort) =>
  a.dockerHost === b.dockerHost && a.port === b.port && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');

/** Adds a cluster to its stack: refuses a clash with one already there, then writes every cluster's `removed` blocks. */
export function addToStack(scope: Construct, entry: Entry): void {
  const stack = TerraformStack.of(scope);
  const entries = byStack.get(stack) ?? [];
  for (const other of entries) {
    if (other.name === entry.name) {
      throw new SpecError(
        `name: clusters at ${other.path} and ${entry.path} are both named ${JSON.stringify(entry.name)}; their containers, volumes and network would collide (give each its own name)`,
      );
    }
    for (const p of entry.ports) {
      const q = other.ports.find((x) => overlaps(x, p));
      if (q) {
        const host = p.dockerHost ? ` on ${p.dockerHost}` : '';
        throw new SpecError(
          `ports: clusters ${other.name} (${other.path}) and ${entry.name} (${entry.path}) both publish port ${p.port} on ${p.ip}${host} (${q.member} and ${p.member}); give one of them other ports.primaryBase/secondaryBase`,
        );
      }
    }
  }
  entries.push(entry);
  byStack.set(stack, entries);
  writeRemoved(stack);
}

const forgotten = new WeakMap<TerraformStack, object[]>();

/** Adds a `removed` block to the stack's list (a resource an earlier version declared, to forget or destroy). */
export function forgetOnStack(scope: Construct, block: object): void {
  const stack = TerraformStack.of(scope);
  forgotten.set(stack, [...(forgotten.get(stack) ?? []), block]);
  writeRemoved(stack);
}

function writeRemoved(stack: TerraformStack): void {
  // One list for the whole stack: an override of `removed` replaces what was written before.
  const removed = [...(byStack.get(stack) ?? []).flatMap((e) => e.removed), ...(forgotten.get(stack) ?? [])];
  if (removed.length) stack.addOverride('removed', removed);
}

/** The Terraform address stem of a construct: its path below the stack, as a Terraform name. */
export function addressStemOf(scope: Construct): string {
  const stack = TerraformStack.of(scope);
  const below = scope.node.scopes.slice(stack.node.scopes.length);
  const stem = below.map((c) => c.node.id.replace(/[^A-Za-z0-9_-]/g, '')).join('_');
  // A Terraform name starts with a letter or an underscore.
  return /^[A-Za-z_]/.test(stem) ? stem : `_${stem}`;
}
