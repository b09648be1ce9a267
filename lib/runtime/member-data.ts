/**
 * Reading a stopped member's progress from its data directory, without etcd: the raft log (WAL) holds
 * the member's last HardState (term, vote, commit index) and its entries. The commit index of the newest
 * HardState is what etcd's `--force-new-cluster` keeps (it drops every entry above it), so it is the measure
 * by which survivors of a lost quorum are compared; a running member reports the same number as its
 * Status' raft index.
 *
 * The WAL is read as etcd's decoder reads it (server/storage/wal): frames of an 8-byte little-endian length
 * (the top byte flags padding), then a protobuf `walpb.Record {type, crc, data}`; files are preallocated
 * with zeros, and a zero length ends a file. Records of type 2 are `raftpb.Entry {type, term, index, data}`,
 * type 3 `raftpb.HardState {term, vote, commit}`, type 5 `walpb.Snapshot {index, term}`.
 */

/** What a member's WAL says about its progress. */
export interface WalProgress {
  /** Commit index of the newest HardState: the entries etcd keeps when this member restarts alone. */
  readonly commit: number;
  /** Raft term of the newest HardState. */
  readonly term: number;
  /** Index and term of the last entry written (may be above `commit`: written, not known committed). */
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The newest raft snapshot recorded in the WAL (0 when none). */
  readonly snapshotIndex: number;
  /** Records read. */
  readonly records: number;
}

const RECORD = { entry: 2, state: 3, snapshot: 5 } as const;

/** A protobuf varint at `pos`: its value (as a number: raft indexes stay far below 2^53) and the next position. */
function varint(buf: Buffer, pos: number): [number, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length; i++) {
    const b = buf[i];
    value |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [Number(value), i + 1];
    shift += 7n;
    if (shift > 63n) break;
  }
  throw new Error(`malformed varint at ${pos}`);
}

/** The fields of a protobuf message: varints as numbers, length-delimited fields as buffers (others skipped). */
function fields(buf: Buffer): Map<number, number | Buffer> {
  const out = new Map<number, number | Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const [key, p] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [v, q] = varint(buf, p);
      out.set(field, v);
      pos = q;
    } else if (wire === 2) {
      const [len, q] = varint(buf, p);
      if (q + len > buf.length) throw new Error(`field ${field} runs past its record`);
      out.set(field, buf.subarray(q, q + len));
      pos = q + len;
    } else if (wire === 5) pos = p + 4;
    else if (wire === 1) pos = p + 8;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

const num = (m: Map<number, number | Buffer>, f: number) => {
  const v = m.get(f);
  return typeof v === 'number' ? v : 0;
};

/**
 * Reads WAL files in order (oldest first): the newest HardState and the last entry win. A torn or
 * zero-filled tail ends a file, as it does for etcd.
 */
export function readWal(files: Buffer[]): WalProgress {
  let state: { commit: number; term: number } | undefined;
  let lastIndex = 0;
  let lastTerm = 0;
  let snapshotIndex = 0;
  let records = 0;
  for (const buf of files) {
    let pos = 0;
    while (pos + 8 <= buf.length) {
      const lenField = buf.readBigInt64LE(pos);
      if (lenField === 0n) break;
      const recBytes = Number(BigInt.asUintN(64, lenField) & 0x00ffffffffffffffn);
      const padBytes = lenField < 0n ? Number((BigInt.asUintN(64, lenField) >> 56n) & 7n) : 0;
      const start = pos + 8;
      if (start + recBytes + padBytes > buf.length) break;
      let rec;
      try {
        rec = fields(buf.subarray(start, start + recBytes));
      } catch {
        break;
      }
      records++;
      const type = num(rec, 1);
      const data = rec.get(3);
      const body = Buffer.isBuffer(data) ? fields(data) : new Map<number, number | Buffer>();
      if (type === RECORD.entry) {
        lastTerm = num(body, 2);
        lastIndex = num(body, 3);
      } else if (type === RECORD.state) {
        const s = { term: num(body, 1), commit: num(body, 3) };
        // An empty HardState is written when nothing changed; it never moves progress back.
        if (s.term || s.commit) state = s;
      } else if (type === RECORD.snapshot) {
        snapshotIndex = Math.max(snapshotIndex, num(body, 1));
        if (!lastIndex) [lastIndex, lastTerm] = [num(body, 1), num(body, 2)];
      }
      pos = start + recBytes + padBytes;
    }
  }
  if (!state) throw new Error('no raft HardState in the WAL');
  return { commit: state.commit, term: state.term, lastIndex, lastTerm, snapshotIndex, records };
}

/** One file of a tar stream. */
export interface TarFile {
  readonly name: string;
  readonly data: Buffer;
}

/**
 * The regular files of a tar archive (what Docker's archive endpoint and `docker cp ... -` send): ustar
 * headers, PAX and GNU long names.
 */
export function untar(tar: Buffer): TarFile[] {
  const out: TarFile[] = [];
  let pos = 0;
  let longName: string | undefined;
  const text = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(text(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = text(h.subarray(345, 500));
    const data = tar.subarray(pos + 512, pos + 512 + size);
    let name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longName = undefined;
    if (type === 'L') longName = text(data);
    else if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (path) longName = path[1];
    } else if (type === '0' || type === '\0') {
      name = name.replace(/^\.\//, '');
      out.push({ name, data });
    }
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The WAL files of a tar of a member's `member/wal` directory, oldest first (etcd names them `<seq>-<index>.wal`). */
export function walFilesOf(files: TarFile[]): Buffer[] {
  return files
    .filter((f) => f.name.endsWith('.wal'))
    .sort((a, b) => (a.name.split('/').pop()! < b.name.split('/').pop()! ? -1 : 1))
    .map((f) => f.data);
}

/** The data of the first regular file of a tar (a single file copied out of a container). */
export function untarFirst(tar: Buffer): Buffer {
  const f = untar(tar)[0];
  if (!f) throw new Error('the archive holds no file');
  return f.data;
}
