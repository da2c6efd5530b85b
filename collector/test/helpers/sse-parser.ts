/** Splits a Server-Sent Events byte stream into events (`event`, `id`, JSON `data`), for the tests' SSE readers. */
export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Returns a feeder: give it each chunk; it calls onEvent for every complete event that carries data. */
export function sseParser(onEvent: (ev: SseEvent) => void): (chunk: Buffer | string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString();
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev: SseEvent = { event: 'message', data: undefined };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) {
          ev.event = line.slice(7);
        } else if (line.startsWith('id: ')) {
          ev.id = line.slice(4);
        } else if (line.startsWith('data: ')) {
          ev.data = JSON.parse(line.slice(6));
        }
      }
      if (ev.data !== undefined) {
        onEvent(ev);
      }
    }
  };
}
