/** @streamgauge/sdk: publish from applications, subscribe with resume (docs/sdk.md). */
export { createPublisher, PUBLISHER_DEFAULTS } from './publisher';
export type { Publisher, PublisherOptions } from './publisher';
export { createSubscriber } from './subscriber';
export type {
  ConnectionState,
  MessagesContext,
  SubscribeHandlers,
  Subscriber,
  SubscriberOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './subscriber';
export { StreamgaugeError, SdkErrorCode } from './errors';
export { backoffDelay } from './backoff';
export type { MessageItem, PublishItem, PublishResult, Since } from '@streamgauge/protocol';
