/** `etcd-cluster pki status`: the phase of the PKI directory, its CAs, and what each container trusts and presents. */
import { defineCommand } from '../command';
import { table } from '../printers';
import { pkiOptions } from '../options';
import { pkiOfSpec } from '../pki-spec';

export default defineCommand<{ spec?: string; out?: string }>({
  path: ['pki', 'status'],
  description: "show the PKI directory's phase (one CA, or a CA rollover's phase 1 or 2), its CAs, and which CA each container trusts and presents",
  source: false,
  options: pkiOptions,
  async run(ctx) {
    const { opts, io } = ctx;
    const { liveTrust } = await import('../../runtime/pki');
    const { nextStep, PHASE_NAMES, readPkiState, summaryOf } = await import('../../model/pki-rotation');
    const { dir, topology } = await pkiOfSpec(opts.spec, opts.out, io.cwd ?? process.cwd());
    const state = readPkiState(dir);
    const cas = [
      ...(state.phase === 0 ? [{ role: 'CA', cert: state.issuing }] : []),
      ...(state.oldCa ? [{ role: state.phase === 0 ? 'retired CA' : 'old CA', cert: state.oldCa }] : []),
      ...(state.phase !== 0 ? [{ role: 'new CA', cert: state.newCa! }] : []),
    ].map((c) => ({
      role: c.role,
      ...summaryOf(c.cert),
      trusted: state.trusted.some((t) => t.raw.equals(c.cert.raw)),
      issuing: state.issuing.raw.equals(c.cert.raw),
    }));
    const containers = await liveTrust(topology, state);
    const next = nextStep(state.phase);
    const text =
      `${dir}: ${PHASE_NAMES[state.phase]}\n\n` +
      table(
        ['CA', 'SUBJECT', 'FINGERPRINT', 'EXPIRES', 'IN CA.CRT', 'ISSUES'],
        cas.map((c) => [c.role, c.subject, c.fingerprint, c.notAfter.slice(0, 10), c.trusted ? 'yes' : 'no', c.issuing ? 'yes' : 'no']),
      ) +
      '\n' +
      table(
        ['CONTAINER', 'TRUSTS', 'CERTIFICATES FROM'],
        containers.map((c) => [
          c.container,
          c.state === 'read' ? c.trusts.join(' + ') || '-' : c.state === 'absent' ? '(no container)' : `(unreadable: ${c.error})`,
          c.state === 'read' ? [...new Set(Object.values(c.issuedBy))].join(' + ') || '-' : '-',
        ]),
      ) +
      `\nnext: ${next}\n`;
    ctx.printer.document(text, { dir, phase: state.phase, description: PHASE_NAMES[state.phase], cas, containers, next });
  },
});
