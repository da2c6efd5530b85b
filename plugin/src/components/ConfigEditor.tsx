import React, { ChangeEvent } from 'react';
import { InlineField, Input, RadioButtonGroup, SecretInput } from '@grafana/ui';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { AccessMode, DEFAULT_OPTIONS, RENDER_INTERVAL_LIMITS, SgDataSourceOptions, SgSecureJsonData } from '../types';

interface Props extends DataSourcePluginOptionsEditorProps<SgDataSourceOptions, SgSecureJsonData> {}

const ACCESS_OPTIONS = [
  {
    label: 'Through Grafana',
    value: 'proxy' as AccessMode,
    description: 'The browser talks only to Grafana (default)',
  },
  {
    label: 'Direct',
    value: 'direct' as AccessMode,
    description: 'The socket goes from the browser to the collector with a short-lived token',
  },
];

/** Access mode, collector URL (as Grafana's server reaches it), browser URL, API key, polling interval. */
export function ConfigEditor({ onOptionsChange, options }: Props) {
  const { jsonData, secureJsonFields } = options;
  const setJson = (patch: Partial<SgDataSourceOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  const mode = jsonData.accessMode ?? DEFAULT_OPTIONS.accessMode;

  return (
    <>
      <InlineField label="Access" labelWidth={20}>
        <RadioButtonGroup options={ACCESS_OPTIONS} value={mode} onChange={(v) => setJson({ accessMode: v })} />
      </InlineField>
      <InlineField
        label="Collector URL"
        labelWidth={20}
        tooltip="As Grafana's server reaches it, e.g. http://collector:8080. Used by the proxy route."
        required
      >
        <Input
          width={48}
          value={jsonData.collectorUrl ?? ''}
          placeholder="http://collector:8080"
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            // The proxy also needs the data source URL set; keep both equal.
            onOptionsChange({
              ...options,
              url: e.target.value,
              jsonData: { ...jsonData, collectorUrl: e.target.value },
            })
          }
        />
      </InlineField>
      {mode === 'direct' && (
        <InlineField
          label="Browser URL"
          labelWidth={20}
          tooltip="Direct mode: the collector as browsers reach it, e.g. https://collector.example.com"
        >
          <Input
            width={48}
            value={jsonData.directUrl ?? ''}
            placeholder="https://collector.example.com"
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ directUrl: e.target.value })}
          />
        </InlineField>
      )}
      <InlineField
        label="API key"
        labelWidth={20}
        tooltip="Kept encrypted by Grafana; added by its proxy, never sent to browsers"
      >
        <SecretInput
          width={48}
          isConfigured={!!secureJsonFields?.apiKey}
          value={options.secureJsonData?.apiKey ?? ''}
          placeholder="collector API key"
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...options.secureJsonFields, apiKey: false },
              secureJsonData: { ...options.secureJsonData, apiKey: '' },
            })
          }
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, secureJsonData: { apiKey: e.target.value } })
          }
        />
      </InlineField>
      <InlineField label="Polling interval (ms)" labelWidth={20} tooltip="REST polling when WebSocket cannot connect">
        <Input
          type="number"
          width={12}
          value={jsonData.pollIntervalMs ?? DEFAULT_OPTIONS.pollIntervalMs}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            setJson({ pollIntervalMs: Number(e.target.value) || undefined })
          }
        />
      </InlineField>
      <InlineField
        label="Render interval (ms)"
        labelWidth={20}
        tooltip={`At most one new frame per panel query per interval (${RENDER_INTERVAL_LIMITS.minMs} to ${RENDER_INTERVAL_LIMITS.maxMs} ms)`}
      >
        <Input
          type="number"
          width={12}
          min={RENDER_INTERVAL_LIMITS.minMs}
          max={RENDER_INTERVAL_LIMITS.maxMs}
          value={jsonData.renderIntervalMs ?? DEFAULT_OPTIONS.renderIntervalMs}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            setJson({ renderIntervalMs: Number(e.target.value) || undefined })
          }
        />
      </InlineField>
    </>
  );
}
