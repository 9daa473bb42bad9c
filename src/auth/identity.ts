/** `operator`: people and backends that run the service (the event feed, the timeline, the dashboard's stream). */
export type Role = 'streamer' | 'viewer' | 'operator';

/** Who is on the other end of a socket or request, as its verified token says. */
export interface Identity {
  readonly role: Role;
  /** The token's `sub`: a streamer's id for streamers; for viewers, any id the issuer chose. */
  readonly id: string;
  /** When the token stops counting (ms since the epoch): its `exp` plus the clock leeway. */
  readonly expiresAt: number;
}

/** Whether the token behind `identity` has expired by `now`: its socket's messages are then refused. */
export function hasExpired(identity: Identity, now: number): boolean {
  return now >= identity.expiresAt;
}
