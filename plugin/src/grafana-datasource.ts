/**
 * The DataSource as Grafana constructs it (settings only): Grafana's template service wired in.
 * Kept apart from datasource.ts so that Node tests and benchmarks load the data source without
 * @grafana/runtime.
 */
import type { DataSourceInstanceSettings } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { DataSource } from './datasource';
import type { SgDataSourceOptions } from './types';

export class GrafanaDataSource extends DataSource {
  constructor(instanceSettings: DataSourceInstanceSettings<SgDataSourceOptions>) {
    super(instanceSettings, { templateSrv: getTemplateSrv });
  }
}
