/** Dependency-injection tokens for the ports the application layer depends on. */
export const PRESENCE_STORE = Symbol('PresenceStore');
export const PRESENCE_PUBLISHER = Symbol('PresencePublisher');
/** `() => Promise<void>`: resolves once this pod receives the events of rooms it just joined. */
export const SUBSCRIPTION_FENCE = Symbol('SubscriptionFence');
