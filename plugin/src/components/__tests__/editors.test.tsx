import React from 'react';
import { act, render, screen, fireEvent, waitFor } from '@testing-library/react';
import { ConfigEditor } from '../ConfigEditor';
import { QueryEditor } from '../QueryEditor';
import type { DataSource } from '../../datasource';

const baseOptions = {
  id: 1,
  uid: 'sg',
  orgId: 1,
  name: 'Streamgauge',
  type: 'streamgauge-live-datasource',
  typeName: '',
  typeLogoUrl: '',
  access: 'proxy',
  url: '',
  user: '',
  database: '',
  basicAuth: false,
  basicAuthUser: '',
  isDefault: false,
  readOnly: false,
  withCredentials: false,
  jsonData: {},
  secureJsonFields: {},
  secureJsonData: {},
} as never;

describe('ConfigEditor', () => {
  test('the collector URL sets both collectorUrl (for the proxy route) and the data source URL', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={baseOptions} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://collector:8080'), { target: { value: 'http://sg:8080' } });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ url: 'http://sg:8080', jsonData: { collectorUrl: 'http://sg:8080' } })
    );
  });

  test('the browser URL appears only in direct mode, and the API key goes to secureJsonData', () => {
    const onOptionsChange = jest.fn();
    const { rerender } = render(<ConfigEditor options={baseOptions} onOptionsChange={onOptionsChange} />);
    expect(screen.queryByPlaceholderText('https://collector.example.com')).toBeNull();
    fireEvent.click(screen.getByText('Direct'));
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ jsonData: { accessMode: 'direct' } }));
    rerender(
      <ConfigEditor
        options={{ ...(baseOptions as object), jsonData: { accessMode: 'direct' } } as never}
        onOptionsChange={onOptionsChange}
      />
    );
    expect(screen.getByPlaceholderText('https://collector.example.com')).toBeTruthy();
    fireEvent.change(screen.getByPlaceholderText('collector API key'), { target: { value: 'k1' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ secureJsonData: { apiKey: 'k1' } }));
  });
});

describe('QueryEditor', () => {
  // A stand-in exposing only what the editor reads from the data source.
  const datasource = {
    connectionState: 'connected',
    api: {
      channels: async () => [
        {
          name: 'app/scans',
          kind: 'stream',
          count: 3,
          schema: { declared: true, fields: [{ name: 'latency', type: 'number', unit: 'ms' }] },
        },
      ],
    },
    onConnectionState: () => () => undefined,
  } as unknown as DataSource;

  test('shows the connection state and reports a malformed filter', async () => {
    render(
      <QueryEditor
        datasource={datasource}
        query={{ refId: 'A', channel: 'app/scans', filter: 'level error' }}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
      />
    );
    expect(screen.getByText('Connection: connected')).toBeTruthy();
    await waitFor(() => expect(screen.getByText(/filter "level error": expected field op value/)).toBeTruthy());
  });

  test('editing the buffer updates the query and runs it on blur', async () => {
    const onChange = jest.fn();
    const onRunQuery = jest.fn();
    render(
      <QueryEditor
        datasource={datasource}
        query={{ refId: 'A', channel: 'app/scans' }}
        onChange={onChange}
        onRunQuery={onRunQuery}
      />
    );
    // Let the channel list load (a state update) before interacting.
    await act(async () => undefined);
    const input = screen.getByDisplayValue('1000');
    fireEvent.change(input, { target: { value: '5000' } });
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', channel: 'app/scans', bufferSize: 5000 });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(input);
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });
});
