/**
 * Reading log files ahead of the replay (local/replay/read-logs.ts): several files are read and
 * decompressed while one is worked on, within a file count and a byte bound. Whatever is read
 * ahead, every file comes out once, in name order, and each file that cannot be read is reported
 * where it stood.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { listLogFiles, loadLogFile, loadLogFileSync, readRecords, startAhead, walkLogFiles, type ReadProblem, type Walked } from '../../local/replay/read-logs';
import { useTempDirs } from '../support';

const temp = useTempDirs();
const record = (file: number, i: number) => ({ eventVersion: '1.08', eventID: `${file}-${i}`, eventTime: '2026-01-01T00:00:00Z', eventSource: 's3.amazonaws.com', eventName: 'GetObject' });

describe('readRecords', () => {
  it('yields every file once, in name order, with problems where they stood, whatever it reads ahead', async () => {
    const dir = temp.dir('ai-visibility-read-ahead-');
    const expected: string[] = [];
    for (let f = 0; f < 14; f++) {
      const name = `f${String(f).padStart(2, '0')}`;
      // Small files, two large ones (beyond the byte bound of what is read ahead), a broken gzip,
      // and 3 MiB that is not JSON.
      const count = f === 5 || f === 9 ? 80_000 : 3;
      const body = JSON.stringify({ Records: Array.from({ length: count }, (_, i) => record(f, i)) });
      if (f === 6) writeFileSync(join(dir, `${name}.json.gz`), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]));
      else if (f === 11) writeFileSync(join(dir, `${name}.json`), 'x'.repeat(3 * 1024 * 1024));
      else if (f % 2 === 0) writeFileSync(join(dir, `${name}.json.gz`), gzipSync(body));
      else writeFileSync(join(dir, `${name}.json`), body);
      if (f !== 6) expected.push(name);
    }
    const problems: ReadProblem[] = [];
    const seen: Array<{ name: string; records: number; first: unknown }> = [];
    const found: number[] = [];
    for await (const file of readRecords([dir], problems, { maxFileBytes: 2 * 1024 * 1024 * 8, onFound: () => found.push(seen.length) })) {
      seen.push({ name: file.path.slice(dir.length + 1).replace(/\..*/, ''), records: file.records.length, first: (file.records[0]?.value as { eventID?: string })?.eventID });
      // The consumer's work on a file: microtasks, as the replay's (the case reading ahead is for).
      for (let i = 0; i < 1_000; i++) await Promise.resolve();
    }
    expect(seen.map((s) => s.name)).toEqual(expected);
    // Told once, before the first file came out (the replay loads its store meanwhile).
    expect(found).toEqual([0]);
    for (const s of seen) {
      const f = Number(s.name.slice(1));
      expect(s.records).toBe(f === 5 || f === 9 ? 80_000 : f === 11 ? 0 : 3);
      if (f !== 11) expect(s.first).toBe(`${f}-0`);
    }
    expect(problems.map((p) => [p.source.slice(dir.length + 1), p.reason.split(':')[0]])).toEqual([
      ['f06.json.gz', 'cannot decompress'],
      ['f11.json', expect.any(String)],
    ]);
  });

  it('refuses a file over the per-file limit, and reads on', async () => {
    const dir = temp.dir('ai-visibility-read-limit-');
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ Records: [record(0, 0)] }));
    writeFileSync(join(dir, 'b.json'), 'x'.repeat(2 * 1024 * 1024));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ Records: [record(2, 0)] }));
    const problems: ReadProblem[] = [];
    const names: string[] = [];
    for await (const file of readRecords([dir], problems, { maxFileBytes: 1024 * 1024 })) names.push(file.path.slice(dir.length + 1));
    expect(names).toEqual(['a.json', 'c.json']);
    expect(problems).toEqual([{ source: join(dir, 'b.json'), reason: expect.stringContaining('above the 1 MiB a file may hold') }]);
  });
});

describe('listLogFiles', () => {
  it('lists a file once whichever way comes first, itself or a link to it, through linked directories too', async () => {
    const dir = temp.dir('ai-visibility-list-');
    mkdirSync(join(dir, 'b-logs'));
    mkdirSync(join(dir, 'd-more'));
    for (const name of ['x.json', 'y.json.gz', 'notes.txt']) writeFileSync(join(dir, 'b-logs', name), '{"Records":[]}');
    writeFileSync(join(dir, 'd-more', 'z.json'), '{"Records":[]}');
    symlinkSync(join(dir, 'b-logs', 'x.json'), join(dir, 'a-first.json')); // before the file itself, in name order
    symlinkSync(join(dir, 'b-logs', 'y.json.gz'), join(dir, 'c-after.json')); // after it
    symlinkSync(join(dir, 'd-more'), join(dir, 'c-linked-dir')); // a directory by a link, before its real path
    const problems: ReadProblem[] = [];
    const skipped: Array<{ path: string; reason: string }> = [];
    const files = await listLogFiles([dir], problems, { skipped });
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual(['a-first.json', 'b-logs/y.json.gz', 'c-linked-dir/z.json']);
    expect(files.map((f) => f.bytes)).toEqual([14, 14, 14]);
    expect(skipped.map((s) => s.path.slice(dir.length + 1))).toEqual(['b-logs/notes.txt']);
    // The directory reached by its real path after the link is reported, not read twice.
    expect(problems.map((p) => [p.source.slice(dir.length + 1), p.reason.split(',')[0]])).toEqual([['d-more', `leads to ${join(dir, 'd-more')}`]]);
  });

  it('lists thousands of files in name order, each with its size', async () => {
    const dir = temp.dir('ai-visibility-list-many-');
    const names = Array.from({ length: 2_500 }, (_, i) => `f${String(2_499 - i).padStart(4, '0')}.json`);
    names.forEach((n, i) => writeFileSync(join(dir, n), 'x'.repeat(i % 7)));
    const files = await listLogFiles([dir], []);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual([...names].sort());
    expect(files.map((f) => f.bytes)).toEqual([...names].sort().map((n) => (2_499 - Number(n.slice(1, 5))) % 7));
  });

  it('reports a file gone before its stat where it stood, and lists on', async () => {
    const dir = temp.dir('ai-visibility-list-gone-');
    for (const name of ['a.json', 'b.json', 'c.json']) writeFileSync(join(dir, name), '{}');
    // b.json leaves between the directory's listing and its stat (a sync still running, a rotation).
    // The module object itself (an import's namespace cannot be spied on).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('node:fs') as typeof import('node:fs');
    const real = fs.statSync;
    const spy = jest.spyOn(fs, 'statSync').mockImplementation(((path: string, ...rest: unknown[]) => {
      if (String(path).endsWith('b.json')) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
      return (real as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.statSync);
    try {
      const problems: ReadProblem[] = [];
      const files = await listLogFiles([dir], problems);
      expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual(['a.json', 'c.json']);
      expect(problems).toEqual([{ source: join(dir, 'b.json'), reason: 'cannot read: ENOENT' }]);
      // The directory, then each file once.
      expect(spy.mock.calls.map((c) => String(c[0]).slice(dir.length))).toEqual(['', '/a.json', '/b.json', '/c.json']);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('walkLogFiles', () => {
  // The module object itself (an import's namespace cannot be spied on).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  const rel = (dir: string, item: Walked) => ('problem' in item ? `! ${item.problem.source.slice(dir.length + 1)}` : item.path.slice(dir.length + 1));

  it('finds files as they are asked for: the first comes out before the next directory is listed', () => {
    const dir = temp.dir('ai-visibility-walk-lazy-');
    for (const sub of ['a', 'b', 'c']) {
      mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'x.json'), '{}');
    }
    const spy = jest.spyOn(fs, 'readdirSync');
    try {
      const walk = walkLogFiles([dir]);
      expect(rel(dir, walk.next().value as Walked)).toBe('a/x.json');
      expect(spy.mock.calls.map((c) => String(c[0]).slice(dir.length))).toEqual(['', '/a']);
      expect([...walk].map((item) => rel(dir, item))).toEqual(['b/x.json', 'c/x.json']);
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
  });

  it('lists a directory of 130,000 files (one list of them all, spread into another, overflowed the stack)', () => {
    const dir = temp.dir('ai-visibility-walk-large-');
    const names: string[] = [];
    for (let i = 0; i < 130_000; i++) names.push(`f${String(i).padStart(6, '0')}.json`);
    for (const name of names) writeFileSync(join(dir, name), '');
    const problems: ReadProblem[] = [];
    const files = listLogFiles([dir], problems);
    expect(problems).toEqual([]);
    expect(files.length).toBe(130_000);
    expect(files[0].path).toBe(join(dir, names[0]));
    expect(files[129_999].path).toBe(join(dir, names[129_999]));
  }, 60_000);

  it('reports a directory it cannot list where it stands, and walks on', () => {
    const dir = temp.dir('ai-visibility-walk-denied-');
    for (const sub of ['a', 'b', 'c']) {
      mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'x.json'), '{}');
    }
    // As root (CI) a mode of 000 does not stop a listing: the listing itself is refused.
    const real = fs.readdirSync;
    const spy = jest.spyOn(fs, 'readdirSync').mockImplementation(((path: string, ...rest: unknown[]) => {
      if (String(path) === join(dir, 'b')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return (real as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.readdirSync);
    try {
      expect([...walkLogFiles([dir])].map((item) => rel(dir, item))).toEqual(['a/x.json', '! b', 'c/x.json']);
      const problems: ReadProblem[] = [];
      listLogFiles([dir], problems);
      expect(problems).toEqual([{ source: join(dir, 'b'), reason: 'cannot read: EACCES' }]);
    } finally {
      spy.mockRestore();
    }
  });

  it('lists a file once through links into the directory being walked, before or after the file, and when it is named too', () => {
    const dir = temp.dir('ai-visibility-walk-links-');
    for (const name of ['a.json', 'c.json', 'd.txt']) writeFileSync(join(dir, name), '{}');
    mkdirSync(join(dir, 'b'));
    symlinkSync(join(dir, 'a.json'), join(dir, 'b', 'l.json')); // a.json is listed already
    symlinkSync(join(dir, 'c.json'), join(dir, 'b', 'm.json')); // c.json comes later: the link first
    symlinkSync(join(dir, 'd.txt'), join(dir, 'b', 'n.json')); // d.txt is skipped for its name: read by the link
    const skipped: Array<{ path: string; reason: string }> = [];
    const files = listLogFiles([join(dir, 'c.json'), dir], [], { skipped }).map((f) => f.path.slice(dir.length + 1));
    expect(files).toEqual(['c.json', 'a.json', 'b/n.json']);
    expect(listLogFiles([dir], []).map((f) => f.path.slice(dir.length + 1))).toEqual(['a.json', 'b/m.json', 'b/n.json']);
    expect(skipped.map((s) => s.path.slice(dir.length + 1))).toEqual(['d.txt']);
  });

  it('gives problems in name order with the files they stand between, however far it reads ahead', async () => {
    const dir = temp.dir('ai-visibility-walk-order-');
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ Records: [record(0, 0)] }));
    writeFileSync(join(dir, 'b-broken.json.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]));
    symlinkSync(join(dir, 'gone.json'), join(dir, 'c-dangling.json'));
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ Records: [record(3, 0)] }));
    const problems: ReadProblem[] = [];
    const read: string[] = [];
    for await (const file of readRecords([dir], problems)) read.push(file.path.slice(dir.length + 1));
    expect(read).toEqual(['a.json', 'd.json']);
    // The broken file's reason (found reading it) before the dangling link's (found walking).
    expect(problems.map((p) => p.source.slice(dir.length + 1))).toEqual(['b-broken.json.gz', 'c-dangling.json']);
  });
});

describe('startAhead', () => {
  it('starts the next file always and more only within its file and byte bounds, problems in their place', () => {
    const sizes = [10, 10, 10, 50, 500, 10, 10, 10, 10, 10];
    const walked: Walked[] = sizes.map((bytes, i) => ({ path: `f${i}`, bytes }));
    walked.splice(3, 0, { problem: { source: 'bad', reason: 'cannot read: EACCES' } });
    const started: string[] = [];
    const seen: Array<{ out: string; ahead: string[] }> = [];
    for (const item of startAhead(walked, (file) => started.push(file.path), { files: 3, bytes: 60 })) {
      const out = 'problem' in item ? `! ${item.problem.source}` : item.file.path;
      const done = seen.filter((s) => !s.out.startsWith('!')).length + ('file' in item ? 1 : 0);
      seen.push({ out, ahead: started.slice(done) });
    }
    expect(seen.map((s) => s.out)).toEqual(['f0', 'f1', 'f2', '! bad', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
    expect(started).toEqual(sizes.map((_, i) => `f${i}`));
    // What was started beyond the file coming out: at most 3 files within 60 bytes, or the one next.
    for (const { ahead } of seen) {
      const bytes = ahead.reduce((n, p) => n + sizes[Number(p.slice(1))], 0);
      expect(ahead.length <= 1 || (ahead.length <= 3 && bytes <= 60)).toBe(true);
    }
    // f3 would pass the byte bound: two ahead.
    expect(seen[0].ahead).toEqual(['f1', 'f2']);
    // f4 (500 bytes) only as the next one, alone.
    expect(seen.find((s) => s.out === 'f3')?.ahead).toEqual(['f4']);
  });
});

describe('loadLogFileSync (the reading threads)', () => {
  it('answers as loadLogFile does, text or reason, for every kind of file', async () => {
    const dir = temp.dir('ai-visibility-load-sync-');
    const body = JSON.stringify({ Records: [record(0, 0), record(0, 1)] });
    const files: Record<string, string | Buffer> = {
      'plain.json': body,
      'packed.json.gz': gzipSync(body),
      'plain-named.gz': body,
      'broken.json.gz': Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]),
      'large.json': 'x'.repeat(3 * 1024 * 1024),
      'bomb.json.gz': gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20)),
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    mkdirSync(join(dir, 'a-directory.json'));
    const maxBytes = 2 * 1024 * 1024;
    const names = [...Object.keys(files), 'a-directory.json', 'missing.json'];
    const answers = [];
    for (const name of names) {
      const sync = loadLogFileSync(join(dir, name), maxBytes);
      expect([name, sync]).toEqual([name, await loadLogFile(join(dir, name), maxBytes)]);
      answers.push('error' in sync ? sync.error.split(/[:(]/)[0].trim() : sync.text === body ? 'the text' : 'other text');
    }
    // Each kind meant what it was made for.
    expect(answers).toEqual(['the text', 'the text', 'the text', 'cannot decompress', '3 MiB, above the 2 MiB a file may hold', 'expands to more than the 2 MiB a file may hold', 'cannot read', 'cannot read']);
  });
});

