/** Application telemetry options (derived metrics, alert webhook). Filled in by the telemetry feature. */
export type TelemetryConfig = Record<string, unknown>;

export const TELEMETRY_DEFAULTS: TelemetryConfig = {};

export const telemetryConfigSchema = {
  type: 'object',
};
