/** @streamgauge/client: the one protocol client core, shared by the Grafana plugin and the SDK. */
export { backoffDelay } from './backoff';
export { type Clock, type TimerHandle, systemClock } from './clock';
export { CLIENT_DEFAULTS, type ClientDefaults } from './defaults';
export { ConnectionState, type StateChange } from './state';
export type { ChannelHandler, DeliveryInfo, ResetInfo } from './channel-subscription';
export { ProtocolClient, type ClientOptions } from './protocol-client';
export type { GetToken, HistoryQuery, RestReader, TokenResponse, WebSocketCtor, WebSocketLike } from './transport';
