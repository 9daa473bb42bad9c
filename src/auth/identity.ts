export type Role = 'streamer' | 'viewer';

/** Who is on the other end of a socket or request, as its verified token says. */
export interface Identity {
  readonly role: Role;
  /** The token's `sub`: a streamer's id for streamers; for viewers, any id the issuer chose. */
  readonly id: string;
}
