/**
 * A zip archive written as it goes, for the `hf` export: entries are stored (method 0: the Parquet
 * files are compressed already), each followed by a data descriptor with its CRC-32 and size, so
 * an entry's bytes are passed on as they come and never held. The central directory is written at
 * the end. No ZIP64: an archive of 4 GiB or more is refused with an error naming the way out.
 */
import { crc32 } from 'node:zlib';

const LIMIT = 0xffffffff;

interface Entry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

/** DOS date and time of `d` (local time, as zip tools show it). */
function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((Math.max(d.getFullYear(), 1980) - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** General purpose flags: bit 3 (sizes in the data descriptor), bit 11 (UTF-8 names). */
const FLAGS = 0x0808;

export class ZipStream {
  private offset = 0;
  private readonly entries: Entry[] = [];
  private current: Entry | undefined;
  private readonly stamp = dosTime(new Date());

  /** The local header of a new entry (the previous one must be ended). */
  begin(name: string): Buffer {
    if (this.current) throw new Error(`zip entry ${this.current.name.toString()} is not ended`);
    const n = Buffer.from(name, 'utf8');
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(FLAGS, 6);
    h.writeUInt16LE(0, 8);
    h.writeUInt16LE(this.stamp.time, 10);
    h.writeUInt16LE(this.stamp.date, 12);
    // CRC and sizes: 0 here, in the data descriptor after the data.
    h.writeUInt16LE(n.length, 26);
    h.writeUInt16LE(0, 28);
    this.current = { name: n, crc: 0, size: 0, offset: this.offset };
    return this.count(Buffer.concat([h, n]));
  }

  /** Bytes of the current entry, passed on as they are. */
  data(chunk: Uint8Array): Uint8Array {
    const e = this.current;
    if (!e) throw new Error('zip data outside an entry');
    e.crc = crc32(chunk, e.crc);
    e.size += chunk.length;
    return this.count(chunk);
  }

  /** The data descriptor that ends the current entry. */
  end(): Buffer {
    const e = this.current;
    if (!e) throw new Error('zip end outside an entry');
    this.current = undefined;
    if (e.size > LIMIT) throw new Error(`zip entry ${e.name.toString()} is over 4 GiB (no ZIP64): export format=parquet instead`);
    this.entries.push(e);
    const d = Buffer.alloc(16);
    d.writeUInt32LE(0x08074b50, 0);
    d.writeUInt32LE(e.crc >>> 0, 4);
    d.writeUInt32LE(e.size, 8);
    d.writeUInt32LE(e.size, 12);
    return this.count(d);
  }

  /** A whole small entry at once. */
  file(name: string, content: Buffer): Buffer {
    return Buffer.concat([this.begin(name), this.data(content), this.end()]);
  }

  /** The central directory and its end record. */
  finish(): Buffer {
    if (this.current) throw new Error(`zip entry ${this.current.name.toString()} is not ended`);
    const start = this.offset;
    if (start > LIMIT) throw new Error('the zip archive is over 4 GiB (no ZIP64): export format=parquet instead');
    const parts: Buffer[] = [];
    for (const e of this.entries) {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, zip 2.0
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(FLAGS, 8);
      c.writeUInt16LE(0, 10);
      c.writeUInt16LE(this.stamp.time, 12);
      c.writeUInt16LE(this.stamp.date, 14);
      c.writeUInt32LE(e.crc >>> 0, 16);
      c.writeUInt32LE(e.size, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
      c.writeUInt32LE(e.offset, 42);
      parts.push(c, e.name);
    }
    const dir = Buffer.concat(parts);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(this.entries.length, 8);
    eocd.writeUInt16LE(this.entries.length, 10);
    eocd.writeUInt32LE(dir.length, 12);
    eocd.writeUInt32LE(start, 16);
    return this.count(Buffer.concat([dir, eocd]));
  }

  private count<T extends Uint8Array>(b: T): T {
    this.offset += b.length;
    return b;
  }
}
