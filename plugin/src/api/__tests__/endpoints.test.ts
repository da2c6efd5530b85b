import { endpoints, toWebSocketUrl } from '../endpoints';

const page = { protocol: 'https:', host: 'grafana.example.com' };

describe('endpoints', () => {
  test("proxy mode: REST and the socket go through Grafana's data source proxy route", () => {
    expect(endpoints({ uid: 'abc', url: '/api/datasources/proxy/uid/abc' }, page)).toEqual({
      accessMode: 'proxy',
      restBase: '/api/datasources/proxy/uid/abc/sg',
      wsUrl: 'wss://grafana.example.com/api/datasources/proxy/uid/abc/sg/ws',
    });
  });

  test('proxy mode follows the page: ws:// for an http Grafana', () => {
    expect(endpoints({ uid: 'abc' }, { protocol: 'http:', host: 'localhost:3000' }).wsUrl).toBe(
      'ws://localhost:3000/api/datasources/proxy/uid/abc/sg/ws'
    );
  });

  test('direct mode: the socket goes to the browser-facing collector URL, REST stays on the proxy', () => {
    expect(
      endpoints(
        {
          uid: 'abc',
          url: '/api/datasources/proxy/uid/abc',
          accessMode: 'direct',
          directUrl: 'https://sg.example.com/',
        },
        page
      )
    ).toEqual({
      accessMode: 'direct',
      restBase: '/api/datasources/proxy/uid/abc/sg',
      wsUrl: 'wss://sg.example.com/ws',
    });
  });

  test('direct mode without a browser URL fails with a code and says what to set', () => {
    expect(() => endpoints({ uid: 'abc', accessMode: 'direct' }, page)).toThrow(
      'direct mode needs the browser-facing collector URL (Browser URL in the data source settings)'
    );
    try {
      endpoints({ uid: 'abc', accessMode: 'direct' }, page);
    } catch (err) {
      expect((err as { code: string }).code).toBe('SG_PLUGIN_BAD_URL');
    }
  });

  test('toWebSocketUrl maps http to ws and https to wss and keeps ws URLs', () => {
    expect(toWebSocketUrl('http://a:1/x')).toBe('ws://a:1/x');
    expect(toWebSocketUrl('https://a/x')).toBe('wss://a/x');
    expect(toWebSocketUrl('wss://a/x')).toBe('wss://a/x');
    expect(() => toWebSocketUrl('/relative')).toThrow(
      'cannot make a WebSocket URL from /relative without the page location'
    );
  });
});
