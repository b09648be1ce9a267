/** The one demultiplexer of Docker's attach/log streams (lib/runtime/docker.ts), which the harness reads through too. */
import { demux, frames } from '../lib/runtime/docker';

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

test('frames in order, split by stream', () => {
  const raw = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2 é\n')]);
  expect(frames(raw)).toEqual([
    { stream: 1, text: 'out 1\n' },
    { stream: 2, text: 'err 1\n' },
    { stream: 1, text: 'out 2 é\n' },
  ]);
  expect(demux(raw)).toEqual(['out 1\nout 2 é\n', 'err 1\n']);
});

test('a TTY stream (no frame headers) is stdout as it is; nothing is nothing', () => {
  expect(demux(Buffer.from('plain text\n'))).toEqual(['plain text\n', '']);
  expect(demux(Buffer.alloc(0))).toEqual(['', '']);
});
