import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../lib/model/defaults';
import { freePortRange } from './harness/env';

// Integration tests stop and start containers; a published port inside the kernel's ephemeral range can be
// taken by an outgoing connection while its container is stopped (a CI run failed that way).
describe('ports drawn for test clusters', () => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

  test('lie below the ephemeral range and clear of the default ports', async () => {
    for (let i = 0; i < 50; i++) {
      const base = await freePortRange(30);
      expect(base).toBeGreaterThanOrEqual(10000);
      expect(base + 30).toBeLessThanOrEqual(ephemeralLow);
      // Not where a cluster with default ports, or its metrics, publishes.
      for (const d of [DEFAULTS.primaryBase, DEFAULTS.secondaryBase, DEFAULTS.metricsPrimaryBase, DEFAULTS.metricsSecondaryBase]) {
        expect(base + 30 <= d || base >= d + 30).toBe(true);
      }
    }
  });
});
