/** `etcd-cluster snapshot save | status`: a consistent snapshot of the cluster, and what a snapshot file holds. */
import { resolve } from 'node:path';
import { readSnapshot } from '../../model/snapshot';
import { defineCommand } from '../command';

const GROUP = 'take a snapshot of the cluster, or read one: snapshot save | status';

export const snapshotSave = defineCommand<{ force?: boolean }>({
  path: ['snapshot', 'save'],
  groupDescription: GROUP,
  description: 'save a consistent snapshot from a member that answers (the leader first), atomically',
  arguments: [['<file>', 'where to write it']],
  options: (cmd) => cmd.option('--force', 'replace the file if it exists'),
  async run(ctx) {
    const { io } = ctx;
    const [file] = ctx.args;
    const e = await ctx.cluster();
    const { saveSnapshot } = await import('../../runtime/snapshot');
    let shown = 0;
    const s = await saveSnapshot(e, resolve(io.cwd ?? process.cwd(), file), {
      password: ctx.password(e.target),
      force: ctx.opts.force,
      onProgress: (bytes) => {
        if (!io.tty || bytes - shown < 1 << 20) return;
        shown = bytes;
        io.err(`\r\x1b[Kreceived ${bytes} bytes`);
      },
    });
    if (io.tty && shown) io.err('\r\x1b[K');
    ctx.printer.records(
      [
        { header: 'FILE', cell: () => file },
        { header: 'REVISION', cell: (x) => String(x.revision) },
        { header: 'SIZE', cell: (x) => String(x.bytes) },
        { header: 'SHA256', cell: (x) => x.sha256 },
      ],
      [s],
      { heading: `${e.target.cluster}: snapshot taken from ${s.member}\n`, value: s },
    );
  },
});

export const snapshotStatus = defineCommand({
  path: ['snapshot', 'status'],
  groupDescription: GROUP,
  description: 'read a snapshot file: its revision, size and hash (what etcdutl snapshot status reports)',
  arguments: [['<file>', 'the snapshot']],
  source: false,
  run(ctx) {
    const [file] = ctx.args;
    const info = { file, ...readSnapshot(file, { sha256: true }) };
    ctx.printer.records(
      [
        { header: 'FILE', cell: (x) => x.file },
        { header: 'REVISION', cell: (x) => String(x.revision) },
        { header: 'SIZE', cell: (x) => String(x.bytes) },
        { header: 'SHA256', cell: (x) => x.sha256! },
        { header: 'ETCD-HASH', cell: (x) => (x.hashed ? 'appended' : 'none') },
      ],
      [info],
      { value: info },
    );
  },
});
