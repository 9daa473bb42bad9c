/** Dependency-injection tokens for the ports the application layer depends on. */
export const PRESENCE_STORE = Symbol('PresenceStore');
export const PRESENCE_PUBLISHER = Symbol('PresencePublisher');
/** `() => Promise<void>`: resolves once this pod receives the events of rooms it just joined. */
export const SUBSCRIPTION_FENCE = Symbol('SubscriptionFence');
export const TRANSITION_LOG = Symbol('TransitionLog');
/** `() => Promise<void>`: resolves once the events this pod emitted so far have left it (Redis: a PING after the publishes). */
export const PUBLISH_FENCE = Symbol('PublishFence');
export const OCCUPANCY_STORE = Symbol('OccupancyStore');
export const POD_REGISTRY = Symbol('PodRegistry');
export const ONLINE_SERIES = Symbol('OnlineSeries');
/** The recent webhook outcomes per streamer (webhooks/webhook-deliveries.ts), written by the dispatcher, read by the console. */
export const WEBHOOK_DELIVERIES = Symbol('WebhookDeliveries');
/** Messages to one pod by name (domain/pod-channel.port.ts): occupancy notices to the pods holding a streamer's connections. */
export const POD_CHANNEL = Symbol('PodChannel');
/**
 * `() => LogEntry[]`: what this pod's store calls appended to the transition log in the last few seconds,
 * for a restore after Redis lost its data (infrastructure/redis/recent-appends.ts; nothing in embedded mode).
 */
export const RECENT_APPENDS = Symbol('RecentAppends');
