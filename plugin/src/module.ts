import { DataSourcePlugin } from '@grafana/data';
import { GrafanaDataSource } from './grafana-datasource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { SgQuery, SgDataSourceOptions } from './types';

export const plugin = new DataSourcePlugin<GrafanaDataSource, SgQuery, SgDataSourceOptions>(GrafanaDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
