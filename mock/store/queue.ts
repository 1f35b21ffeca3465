/**
 * A first-in first-out list of ids, oldest first: `push` the newest, `shift` the oldest, and read any
 * position by index, each in O(1) (amortised for `shift`, which compacts the array once half of it is
 * dropped). Lists of payments use it so a page costs O(page) and dropping the oldest costs O(1).
 */
export class IdQueue {
  private items: string[] = [];
  private head = 0;

  /** How many ids it holds. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends the newest id. */
  push(id: string): void {
    this.items.push(id);
  }

  /** The oldest id, or undefined when empty. */
  peek(): string | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes and returns the oldest id. */
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const id = this.items[this.head++];
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return id;
  }

  /** The id at `index` counted from the oldest (0), or undefined outside the queue. */
  at(index: number): string | undefined {
    return index >= 0 && index < this.size ? this.items[this.head + index] : undefined;
  }

  /**
   * Removes one id wherever it is, in O(size): for the rare removal that is not the oldest (a payment
   * whose account index was rebuilt out of order). @returns false when it was not there.
   */
  remove(id: string): boolean {
    const i = this.items.indexOf(id, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /**
   * Up to `limit` ids newest first, skipping the `offset` newest (api.md "Lists": newest first), in
   * O(limit).
   */
  newestFirst(offset: number, limit: number): string[] {
    const out: string[] = [];
    for (let i = this.size - 1 - offset; i >= 0 && out.length < limit; i--)
      out.push(this.items[this.head + i]!);
    return out;
  }
}
