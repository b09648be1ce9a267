/**
 * Reading an etcd snapshot without etcd: it is a bbolt database (as `etcdctl snapshot save` and
 * `etcd-cluster snapshot save` write it, with etcd's SHA-256 of it appended), and its revision is the main
 * revision of the last key in the `key` bucket, which is what `etcdutl snapshot status` reports. Synthesis
 * reads a restore's snapshot here (it must be one, and the verify hook then expects at least its revision).
 * Pages are read as needed, so a large snapshot is not loaded whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const BUCKET_LEAF = 0x01;

export class SnapshotError extends Error {}

export interface SnapshotInfo {
  /** The revision of the newest key: what a cluster restored from it serves at least. */
  readonly revision: number;
  readonly bytes: number;
  /** Whether etcd's SHA-256 of the database is appended (`etcdutl snapshot restore` then checks it). */
  readonly hashed: boolean;
  /** SHA-256 of the whole file, as people compare copies (only when asked for: it reads the whole file). */
  readonly sha256?: string;
  /**
   * From the `meta` bucket (etcd 3.5 and later write it): the raft index and term of the last entry applied
   * to this database. A member's data directory can be ahead of its WAL's commit index here, after a kill.
   */
  readonly consistentIndex?: number;
  readonly term?: number;
}

interface Node {
  readonly flags: number;
  readonly count: number;
  /** Where the page's elements start, and the buffer holding the page. */
  readonly buf: Buffer;
  readonly base: number;
}

/** Reads a snapshot file; throws SnapshotError with one line saying why it is not a usable etcd snapshot. */
export function readSnapshot(path: string, opts: { sha256?: boolean } = {}): SnapshotInfo {
  let size: number;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    size = statSync(path).size;
  } catch {
    throw new SnapshotError(`${path}: not found`);
  }
  const not = (why: string) => new SnapshotError(`${path}: not an etcd snapshot (${why})`);
  const fd = openSync(path, 'r');
  try {
    const readAt = (offset: number, length: number) => {
      if (offset < 0 || offset + length > size) throw not(`a page at ${offset} is beyond the end of the file`);
      const b = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, b, got, length - got, offset + got);
        if (n === 0) throw not('the file ends early');
        got += n;
      }
      return b;
    };
    if (size < 4096) throw not('too small for a bbolt database');
    const head = readAt(0, 4096);
    if (head.readUInt32LE(PAGE_HEADER) !== MAGIC) throw not('no bbolt database header');
    const pageSize = head.readUInt32LE(PAGE_HEADER + 8);
    if (pageSize < 512 || pageSize > 65536 || pageSize % 512) throw not(`page size ${pageSize}`);
    // Two meta pages; the newer valid one is current.
    const metas = [0, 1]
      .map((p) => readAt(p * pageSize, PAGE_HEADER + 64))
      .filter((m) => m.readUInt32LE(PAGE_HEADER) === MAGIC)
      .map((m) => ({ root: Number(m.readBigUInt64LE(PAGE_HEADER + 16)), txid: m.readBigUInt64LE(PAGE_HEADER + 48) }))
      .sort((a, b) => (a.txid > b.txid ? -1 : 1));
    if (!metas.length) throw not('no valid meta page');

    const page = (id: number): Node => {
      const header = readAt(id * pageSize, PAGE_HEADER);
      const overflow = header.readUInt32LE(12);
      const buf = readAt(id * pageSize, (overflow + 1) * pageSize);
      return { flags: buf.readUInt16LE(8), count: buf.readUInt16LE(10), buf, base: 0 };
    };
    /** Every leaf element below a node, in order. */
    const leaves = (node: Node, visit: (key: Buffer, value: Buffer, flags: number) => void): void => {
      for (let i = 0; i < node.count; i++) {
        const el = node.base + PAGE_HEADER + i * 16;
        if (node.flags & BRANCH) leaves(page(Number(node.buf.readBigUInt64LE(el + 8))), visit);
        else if (node.flags & LEAF) {
          const [flags, pos, ksize, vsize] = [0, 4, 8, 12].map((o) => node.buf.readUInt32LE(el + o));
          const k = el + pos;
          visit(node.buf.subarray(k, k + ksize), node.buf.subarray(k + ksize, k + ksize + vsize), flags);
        } else throw not(`unexpected page type ${node.flags}`);
      }
    };
    /** A bucket's root from its header: a page, or an inline page right after the 16-byte header. */
    const bucketRoot = (header: Buffer): Node => {
      const root = Number(header.readBigUInt64LE(0));
      if (root !== 0) return page(root);
      return { flags: header.readUInt16LE(16 + 8), count: header.readUInt16LE(16 + 10), buf: header, base: 16 };
    };

    let keyBucket: Buffer | undefined;
    let metaBucket: Buffer | undefined;
    leaves(page(metas[0].root), (k, v, flags) => {
      if (flags & BUCKET_LEAF && k.toString() === 'key') keyBucket = Buffer.from(v);
      if (flags & BUCKET_LEAF && k.toString() === 'meta') metaBucket = Buffer.from(v);
    });
    if (!keyBucket) throw not('no "key" bucket');
    let revision = 0;
    leaves(bucketRoot(keyBucket), (k) => {
      // A revision key: 8 bytes of main revision, '_', 8 bytes of sub revision (big-endian).
      if (k.length >= 8) revision = Math.max(revision, Number(k.readBigUInt64BE(0)));
    });

    const meta: { consistentIndex?: number; term?: number } = {};
    if (metaBucket) {
      leaves(bucketRoot(metaBucket), (k, v) => {
        const name = k.toString();
        if (v.length === 8 && name === 'consistent_index') meta.consistentIndex = Number(v.readBigUInt64BE(0));
        if (v.length === 8 && name === 'term') meta.term = Number(v.readBigUInt64BE(0));
      });
    }

    let sha256: string | undefined;
    if (opts.sha256) {
      const hash = createHash('sha256');
      for (let off = 0; off < size; off += 1 << 20) hash.update(readAt(off, Math.min(1 << 20, size - off)));
      sha256 = hash.digest('hex');
    }
    return { revision, bytes: size, hashed: size % 512 === 32, ...(sha256 ? { sha256 } : {}), ...meta };
  } finally {
    closeSync(fd);
  }
}
