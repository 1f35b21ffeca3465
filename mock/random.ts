import { createHash } from 'node:crypto';

/**
 * Randomness for the ids the mock creates at run time (payment ids, challenge ids, UTRNs): a seeded
 * generator, so two runs with one seed and one call sequence give the same values. Never for secrets
 * (codes, tokens, salts): anyone can replay a seeded stream; those come from node:crypto.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  uint32(): number;
  /** A uniformly distributed integer in [min, max]. */
  int(min: number, max: number): number;
  /** `count` random bytes. */
  bytes(count: number): Buffer;
  /** An RFC 9562 version 4 UUID. */
  uuid(): string;
  /** A string of `count` decimal digits (leading zeros kept). */
  digits(count: number): string;
  /** Starts the sequence again (the admin reset), so runs after a reset repeat too. */
  reset(): void;
}

/**
 * A counter-mode generator: SHA-256 of (seed, stream, counter). Not for real secrets; this is a mock
 * whose runs should repeat.
 */
export class SeededRandom implements RandomSource {
  private counter = 0;
  private buffer = Buffer.alloc(0);

  constructor(
    private readonly seed: number,
    private readonly stream: string = 'runtime',
  ) {}

  bytes(count: number): Buffer {
    while (this.buffer.length < count) {
      const block = createHash('sha256').update(`${this.seed}:${this.stream}:${this.counter++}`).digest();
      this.buffer = Buffer.concat([this.buffer, block]);
    }
    const out = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return Buffer.from(out);
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  int(min: number, max: number): number {
    const span = max - min + 1;
    if (span <= 0 || span > 2 ** 32) throw new RangeError('int(min, max) needs 0 < max - min + 1 <= 2^32');
    // Rejection sampling keeps the distribution uniform.
    const limit = Math.floor(2 ** 32 / span) * span;
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return min + (x % span);
  }

  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  digits(count: number): string {
    let s = '';
    for (let i = 0; i < count; i++) s += String(this.int(0, 9));
    return s;
  }

  /** Starts the sequence again (used by the admin reset). */
  reset(): void {
    this.counter = 0;
    this.buffer = Buffer.alloc(0);
  }
}
