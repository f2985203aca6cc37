/**
 * Unpacks a zip of stored entries (what `GET /runs/:id/export?format=hf` sends: method 0, sizes
 * in the central directory) into a directory, reading the file a piece at a time and checking
 * every entry's CRC-32. Names that would leave the directory are refused.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

const PIECE = 1 << 20;

/** Extracts `zipPath` into `dir`; resolves to the names written, in archive order. */
export async function extractStoredZip(zipPath: string, dir: string): Promise<string[]> {
  const fh = await fs.open(zipPath, 'r');
  try {
    const { size } = await fh.stat();
    if (size < 22) throw new Error(`${zipPath} is not a zip archive (too short)`);
    const eocd = Buffer.alloc(22);
    await fh.read(eocd, 0, 22, size - 22);
    if (eocd.readUInt32LE(0) !== 0x06054b50) throw new Error(`${zipPath} is not a zip archive the export wrote (no end record)`);
    const count = eocd.readUInt16LE(10);
    const dirSize = eocd.readUInt32LE(12);
    const dirStart = eocd.readUInt32LE(16);
    const central = Buffer.alloc(dirSize);
    await fh.read(central, 0, dirSize, dirStart);
    const names: string[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (central.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipPath}: a broken central directory at entry ${i}`);
      const method = central.readUInt16LE(at + 10);
      const crc = central.readUInt32LE(at + 16);
      const length = central.readUInt32LE(at + 24);
      const nameLen = central.readUInt16LE(at + 28);
      const extraLen = central.readUInt16LE(at + 30);
      const commentLen = central.readUInt16LE(at + 32);
      const local = central.readUInt32LE(at + 42);
      const name = central.toString('utf8', at + 46, at + 46 + nameLen);
      at += 46 + nameLen + extraLen + commentLen;
      if (method !== 0) throw new Error(`${zipPath}: entry ${name} is compressed (method ${method}); only stored entries are read`);
      const target = path.resolve(dir, name);
      if (path.isAbsolute(name) || !target.startsWith(path.resolve(dir) + path.sep))
        throw new Error(`${zipPath}: entry ${name} would leave ${dir}`);
      const head = Buffer.alloc(30);
      await fh.read(head, 0, 30, local);
      const dataStart = local + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const out = await fs.open(target, 'w');
      let sum = 0;
      try {
        const buf = Buffer.alloc(Math.min(PIECE, Math.max(length, 1)));
        for (let done = 0; done < length; ) {
          const n = Math.min(buf.length, length - done);
          const { bytesRead } = await fh.read(buf, 0, n, dataStart + done);
          if (bytesRead !== n) throw new Error(`${zipPath}: entry ${name} is cut short`);
          sum = crc32(buf.subarray(0, n), sum);
          await out.write(buf, 0, n);
          done += n;
        }
      } finally {
        await out.close();
      }
      if (sum >>> 0 !== crc >>> 0) throw new Error(`${zipPath}: entry ${name} fails its CRC-32 check`);
      names.push(name);
    }
    return names;
  } finally {
    await fh.close();
  }
}
