import { resourcesOf, stableAddress, synthStack } from './helpers/synth';

/** What changes between two syntheses, by Terraform address. */
function diff(before: Map<string, unknown>, after: Map<string, unknown>) {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...after.keys()].filter((k) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
  return { added, removed, changed };
}

const strip = (addresses: string[]) => addresses.map(stableAddress).sort();
const spec = (secondaries: number) => ({ name: 'scale', primaries: 3, secondaries, ports: { primaryBase: 12379, secondaryBase: 22379 } });

describe('scaling secondaries 2 -> 5 -> 1 touches only secondaries and the hook', () => {
  const s2 = resourcesOf(synthStack(spec(2)));
  const s5 = resourcesOf(synthStack(spec(5)));
  const s1 = resourcesOf(synthStack(spec(1)));

  test('2 -> 5 adds secondaries 3, 4, 5 and replaces only the hook', () => {
    const d = diff(s2, s5);
    expect(strip(d.added)).toEqual([
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(d.removed).toEqual([]);
    expect(strip(d.changed)).toEqual(['terraform_data.cluster_verify_hook']);
  });

  test('5 -> 1 removes the highest-numbered secondaries first', () => {
    const d = diff(s5, s1);
    expect(d.added).toEqual([]);
    expect(strip(d.removed)).toEqual([
      'docker_container.cluster_secondary-2_container',
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(strip(d.changed)).toEqual(['terraform_data.cluster_verify_hook']);
  });

  test('every primary container, volume, network and image stays byte-identical', () => {
    for (const [address, config] of s2) {
      if (/secondary|verify/.test(address)) continue;
      expect(JSON.stringify(s5.get(address))).toBe(JSON.stringify(config));
      expect(JSON.stringify(s1.get(address))).toBe(JSON.stringify(config));
    }
    expect(strip([...s2.keys()].filter((a) => !/secondary|terraform_data/.test(a)))).toHaveLength(3 + 3 + 1);
    // The network's step and ID record stay too.
    expect(strip([...s2.keys()].filter((a) => /_network_/.test(a)))).toEqual(['terraform_data.cluster_network_id', 'terraform_data.cluster_network_step']);
    // The primaries' membership records stay too.
    for (const [address, config] of s2) if (address.endsWith('_member')) expect(JSON.stringify(s5.get(address))).toBe(JSON.stringify(config));
  });

  test("the network's data source stays byte-identical", () => {
    const data = (n: number) => JSON.stringify(synthStack(spec(n)).data);
    expect(data(5)).toBe(data(2));
    expect(data(1)).toBe(data(2));
  });

  test('surviving secondaries stay byte-identical', () => {
    const kept = [...s1.keys()].filter((a) => a.includes('secondary'));
    expect(kept).toHaveLength(1);
    for (const a of kept) expect(JSON.stringify(s5.get(a))).toBe(JSON.stringify(s1.get(a)));
  });

  test('the hook is replaced because its membership trigger changed', () => {
    const hook = (m: Map<string, unknown>) =>
      [...m.entries()].find(([k]) => k.startsWith('terraform_data.cluster_verify'))![1] as { triggers_replace: { membership: string } };
    expect(hook(s5).triggers_replace.membership).not.toBe(hook(s2).triggers_replace.membership);
    expect(hook(s5).triggers_replace.membership.split(',')).toHaveLength(8);
  });
});
