import React, { ChangeEvent, useEffect, useMemo, useState } from 'react';
import {
  Combobox,
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Text,
} from '@grafana/ui';
import { QueryEditorProps } from '@grafana/data';
import type { ChannelInfo } from '@streamgauge/protocol';
import { DataSource } from '../datasource';
import { DEFAULT_QUERY, QueryView, SgDataSourceOptions, SgQuery } from '../types';
import { CURRENT_STATE_DEFAULTS } from '../stream/current-state';

const VIEW_OPTIONS: Array<{ label: string; value: QueryView; description: string }> = [
  { label: 'Current state', value: 'current', description: 'One row per key: what is true now' },
  { label: 'Changes', value: 'changes', description: 'Every message as a row: a log of changes' },
];
import { parseFilter } from '../stream/message-filter';

type Props = QueryEditorProps<DataSource, SgQuery, SgDataSourceOptions>;

/** Channel picker (from the collector's channel list), fields, filter, buffer size, live or history. */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const [channels, setChannels] = useState<ChannelInfo[]>([]);
  const [loadError, setLoadError] = useState<string>();
  const [connection, setConnection] = useState(datasource.connectionState);

  useEffect(() => {
    let cancelled = false;
    datasource.api.channels().then(
      (c) => !cancelled && setChannels(c),
      (err: Error) => !cancelled && setLoadError(err.message)
    );
    return () => {
      cancelled = true;
    };
  }, [datasource]);

  useEffect(() => datasource.onConnectionState((c) => setConnection(c.newState)), [datasource]);

  const channel = channels.find((c) => c.name === query.channel);
  const channelOptions = useMemo(
    () =>
      channels.map((c) => ({
        label: c.name,
        value: c.name,
        description: c.description ?? `${c.kind}, ${c.count} messages`,
      })),
    [channels]
  );
  const fieldOptions = useMemo(
    () =>
      (channel?.schema.fields ?? []).map((f) => ({
        label: f.name,
        value: f.name,
        description: `${f.type}${f.unit ? `, ${f.unit}` : ''}`,
      })),
    [channel]
  );
  let filterError: string | undefined;
  try {
    parseFilter(query.filter);
  } catch (err) {
    filterError = (err as Error).message;
  }

  const update = (patch: Partial<SgQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Channel" labelWidth={12} invalid={!!loadError} error={loadError}>
          <Combobox
            width={32}
            options={channelOptions}
            value={query.channel ?? null}
            createCustomValue
            placeholder="app/scans"
            onChange={(v: ComboboxOption<string>) => update({ channel: v.value, fields: [] })}
          />
        </InlineField>
        <InlineField label="Fields" labelWidth={10} tooltip="Empty: all fields. The time field is always included.">
          <MultiCombobox
            width={40}
            options={fieldOptions}
            value={query.fields ?? []}
            onChange={(v: Array<ComboboxOption<string>>) => update({ fields: v.map((o) => o.value).filter(Boolean) })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Filter"
          labelWidth={12}
          invalid={!!filterError}
          error={filterError}
          tooltip="field op value, joined by and; ops = != > >= < <= ~"
        >
          <Input
            width={32}
            value={query.filter ?? ''}
            placeholder="level = error and value > 10"
            onChange={(e: ChangeEvent<HTMLInputElement>) => update({ filter: e.target.value }, false)}
            onBlur={() => onRunQuery()}
          />
        </InlineField>
        <InlineField label="Buffer" labelWidth={10} tooltip="Rows kept in the frame at most (oldest dropped first)">
          <Input
            type="number"
            width={12}
            value={query.bufferSize ?? DEFAULT_QUERY.bufferSize}
            onChange={(e: ChangeEvent<HTMLInputElement>) => update({ bufferSize: Number(e.target.value) }, false)}
            onBlur={() => onRunQuery()}
          />
        </InlineField>
        <InlineField
          label="Window (s)"
          labelWidth={12}
          tooltip="Time kept in a live frame; 0: the dashboard's time range"
        >
          <Input
            type="number"
            width={10}
            value={query.windowSeconds ?? 0}
            onChange={(e: ChangeEvent<HTMLInputElement>) => update({ windowSeconds: Number(e.target.value) }, false)}
            onBlur={() => onRunQuery()}
          />
        </InlineField>
        <InlineField
          label="Live"
          labelWidth={8}
          tooltip="On: history for the time range, then live. Off: history only."
        >
          <InlineSwitch value={query.live ?? true} onChange={(e) => update({ live: e.currentTarget.checked })} />
        </InlineField>
      </InlineFieldRow>
      {channel && channel.kind !== 'stream' && (
        <InlineFieldRow>
          <InlineField
            label="View"
            labelWidth={12}
            tooltip="State and entity channels: one row per key (current state), or every change as a row"
          >
            <RadioButtonGroup
              options={VIEW_OPTIONS}
              value={query.view ?? 'current'}
              onChange={(v) => update({ view: v })}
            />
          </InlineField>
          {(query.view ?? 'current') === 'current' && (
            <InlineField
              label="Max keys"
              labelWidth={10}
              tooltip="Keys shown at most (1 to 100,000); a notice says when the channel has more"
            >
              <Input
                type="number"
                width={12}
                value={query.maxKeys ?? CURRENT_STATE_DEFAULTS.maxKeys}
                onChange={(e: ChangeEvent<HTMLInputElement>) => update({ maxKeys: Number(e.target.value) }, false)}
                onBlur={() => onRunQuery()}
              />
            </InlineField>
          )}
        </InlineFieldRow>
      )}
      {connection && (
        <Text variant="bodySmall" color="secondary">
          Connection: {connection}
        </Text>
      )}
    </>
  );
}
