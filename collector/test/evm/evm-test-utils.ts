/** Small helpers shared by the EVM integration tests. */
import type { WsTestClient } from '../helpers/ws-test-client';

/** Well-known hardhat dev accounts (unlocked on `hardhat node`; public keys, test chains only). */
export const ACCOUNTS = [
  '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
  '0x90f79bf6eb2c4f870365e785982e1f101e93b906',
  '0x15d34aaf54267db7d7c367839aaf71a00a2c6a65',
  '0x9965507d1a55b4ba5c0ecc15e24cc75e7fca7c71',
] as const;

/** The data of every message received on a channel, in arrival order. */
export function dataOf(client: WsTestClient, channel: string): any[] {
  return (client.messages.get(channel) ?? []).map((m) => m.data);
}

/** Waits until a message on `channel` satisfies `pred`. */
export async function waitForData(client: WsTestClient, channel: string, pred: (d: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = dataOf(client, channel).find(pred);
    if (hit) {
      return hit;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no message on ${channel} matched within ${timeoutMs} ms; last: ${JSON.stringify(dataOf(client, channel).slice(-3))}`);
}

/** Value of one sample of /metrics, or undefined. `labels` must match exactly as exposed. */
export async function metric(baseUrl: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    const m = /^([^{ ]+)(?:\{([^}]*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) {
      continue;
    }
    const got: Record<string, string> = {};
    for (const pair of (m[2] ?? '').match(/[a-zA-Z_]+="[^"]*"/g) ?? []) {
      const i = pair.indexOf('=');
      got[pair.slice(0, i)] = pair.slice(i + 2, -1);
    }
    if (Object.keys(labels).length === Object.keys(got).length && Object.entries(labels).every(([k, v]) => got[k] === v)) {
      return Number(m[3]);
    }
  }
  return undefined;
}

/** Block numbers of a blocks-channel message list after applying reorgs: the chain as published. */
export function blockNumbers(blocks: any[]): number[] {
  return blocks.map((b) => b.number);
}
