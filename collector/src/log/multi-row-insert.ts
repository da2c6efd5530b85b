/**
 * Rows of one table inserted several at a time (`INSERT … VALUES (…), (…), …`) inside a caller's
 * transaction. Each statement run costs a call into better-sqlite3 and a step of SQLite's VM
 * besides the row itself: for a publish of 100 messages, one statement per 32 rows instead of one
 * per row took a quarter off the whole append, commit included (bench/micro/sqlite-append-ab.js
 * measures the append; docs/benchmarks.md). Statements are prepared once per row count, on first
 * use, so at most `maxRows` of them exist.
 */
import type { Database, Statement } from 'better-sqlite3';

export class MultiRowInsert {
  private readonly statements = new Map<number, Statement>();
  private readonly values: unknown[] = [];
  private readonly width: number;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly maxRows = 32,
  ) {
    this.width = columns.length;
  }

  /** Queues one row (its values in column order); runs a statement once maxRows are queued. */
  add(...row: unknown[]): void {
    for (let i = 0; i < this.width; i++) {
      this.values.push(row[i]);
    }
    if (this.values.length >= this.maxRows * this.width) {
      this.flush();
    }
  }

  /** Inserts what is queued. Call before the transaction ends (and before reading the table). */
  flush(): void {
    const n = this.values.length / this.width;
    if (n === 0) {
      return;
    }
    try {
      this.statement(n).run(this.values);
    } finally {
      // A failed run aborts the caller's transaction: nothing queued may leak into the next one.
      this.values.length = 0;
    }
  }

  /** Drops what is queued (the caller's transaction failed before flush). */
  discard(): void {
    this.values.length = 0;
  }

  private statement(rows: number): Statement {
    let s = this.statements.get(rows);
    if (!s) {
      const one = `(${this.columns.map(() => '?').join(', ')})`;
      s = this.db.prepare(`INSERT INTO ${this.table} (${this.columns.join(', ')}) VALUES ${Array(rows).fill(one).join(', ')}`);
      this.statements.set(rows, s);
    }
    return s;
  }
}
