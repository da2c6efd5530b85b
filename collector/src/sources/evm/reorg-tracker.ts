/**
 * The recent unfinalized blocks of the published canonical chain, linked by parent hash. A block
 * deeper than `confirmations` under the tip is final and leaves the window; a reorg can only be
 * resolved inside the window.
 */
export interface TrackedBlock {
  number: number;
  hash: string;
  parentHash: string;
  /** Seconds since the Unix epoch (block header). */
  timestamp: number;
}

export class ReorgTracker {
  private blocks: TrackedBlock[] = [];
  /** Blocks kept: the tip and `confirmations` below it (at least one, to link the next block). */
  readonly capacity: number;

  constructor(readonly confirmations: number) {
    this.capacity = Math.max(1, confirmations) + 1;
  }

  tip(): TrackedBlock | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  oldest(): TrackedBlock | undefined {
    return this.blocks[0];
  }

  get size(): number {
    return this.blocks.length;
  }

  at(number: number): TrackedBlock | undefined {
    const first = this.blocks[0];
    return first ? this.blocks[number - first.number] : undefined;
  }

  /** Does `b` extend the tip (or start an empty window)? */
  extendsTip(b: { number: number; parentHash: string }): boolean {
    const tip = this.tip();
    return !tip || (b.number === tip.number + 1 && b.parentHash === tip.hash);
  }

  /** Appends the next canonical block; throws if it does not extend the tip. */
  push(b: TrackedBlock): void {
    if (!this.extendsTip(b)) {
      throw new Error(`block ${b.number} ${b.hash} does not extend tip ${this.tip()?.number} ${this.tip()?.hash}`);
    }
    this.blocks.push(b);
    if (this.blocks.length > this.capacity) {
      this.blocks.splice(0, this.blocks.length - this.capacity);
    }
  }

  /**
   * Rebuilds the window from published blocks in publish order: a block replaces whatever the
   * window holds at its number and above (that is what a reorg's replacement blocks do).
   */
  restore(b: TrackedBlock): void {
    this.truncateAfter(b.number - 1);
    const tip = this.tip();
    if (tip && tip.number !== b.number - 1) {
      this.blocks = [];
    }
    this.blocks.push(b);
    if (this.blocks.length > this.capacity) {
      this.blocks.splice(0, this.blocks.length - this.capacity);
    }
  }

  /** Removes the blocks above `number` and returns them (oldest first). */
  truncateAfter(number: number): TrackedBlock[] {
    const first = this.blocks[0];
    if (!first) {
      return [];
    }
    const keep = Math.max(0, number - first.number + 1);
    return this.blocks.splice(keep);
  }
}
