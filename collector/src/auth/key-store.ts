/**
 * API keys from the config, looked up by the sha256 of the presented key. Only hashes are kept in
 * memory after startup, and the final comparison is crypto.timingSafeEqual on equal-length hashes.
 * A Map lookup by hash leaks nothing useful: an attacker cannot steer the hash of a guess.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from './config';
import type { Scopes } from './principal';

export interface KeyEntry {
  readonly name: string;
  readonly scopes: Scopes;
  readonly hash: Buffer;
}

export function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time string equality (on hashes, so lengths never differ). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export class KeyStore {
  private readonly byHash = new Map<string, KeyEntry>();
  private readonly byName = new Map<string, KeyEntry>();

  /** `keys[].key` must already hold the resolved key when the config used keyEnv. */
  constructor(keys: readonly ApiKeyConfig[]) {
    for (const k of keys) {
      const hash = k.keyHash ? Buffer.from(k.keyHash.toLowerCase(), 'hex') : sha256(k.key ?? '');
      const entry: KeyEntry = Object.freeze({
        name: k.name,
        hash,
        scopes: Object.freeze({
          publish: Object.freeze([...(k.scopes.publish ?? [])]),
          subscribe: Object.freeze([...(k.scopes.subscribe ?? [])]),
          admin: k.scopes.admin ?? false,
        }),
      });
      this.byHash.set(hash.toString('hex'), entry);
      this.byName.set(k.name, entry);
    }
  }

  get size(): number {
    return this.byName.size;
  }

  find(presented: string): KeyEntry | undefined {
    const h = sha256(presented);
    const e = this.byHash.get(h.toString('hex'));
    return e && timingSafeEqual(e.hash, h) ? e : undefined;
  }

  byKeyName(name: string): KeyEntry | undefined {
    return this.byName.get(name);
  }

  all(): KeyEntry[] {
    return [...this.byName.values()];
  }
}
