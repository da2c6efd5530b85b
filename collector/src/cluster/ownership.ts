/**
 * Ownership of derived work across collector instances (docs/scaling.md, "Ownership and failover").
 * Work that must run once in a cluster (entity expiry, aggregates, metric-rule series, each chain
 * source) is owned through a named lease: it runs while this instance holds the lease, and is
 * stopped (its signal aborted, its stop called) when the lease is lost or the collector stops.
 */

/** What owned work returns: its stop. */
export type WorkStop = () => Promise<void> | void;

/** Starts the work now that this instance holds the lease; `signal` is aborted when it loses it. */
export type OwnedWork = (signal: AbortSignal) => Promise<WorkStop> | WorkStop;

export interface Ownership {
  /**
   * Competes for lease `name` for as long as the returned function is not called, and runs `work`
   * while it holds it. Calling the returned function stops the work and gives the lease up.
   */
  own(name: string, work: OwnedWork): () => Promise<void>;
  /** Whether this instance holds `name` now. */
  holds(name: string): boolean;
  /** Every lease this instance competes for, and whether it holds it (streamgauge_cluster_lease_held). */
  leases(): Map<string, boolean>;
  /** Stops every owned work and releases every lease. */
  stop(): Promise<void>;
}
