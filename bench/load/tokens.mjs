import jwt from 'jsonwebtoken';

/** A token as the service expects it (HS256, `sub`, `role`, `exp` an hour away). */
export function signToken(sub, role, secret) {
  const iat = Math.floor(Date.now() / 1000);
  return jwt.sign({ sub, role, iat, exp: iat + 3600 }, secret, { algorithm: 'HS256' });
}
