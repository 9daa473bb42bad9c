/** Dependency-injection tokens for the ports the application layer depends on. */
export const PRESENCE_STORE = Symbol('PresenceStore');
export const PRESENCE_PUBLISHER = Symbol('PresencePublisher');
