/**
 * The operator token: taken from the URL fragment (`/#token=…`, as the service prints it at start in
 * development; a fragment never reaches a server or its logs), kept in this tab's session storage, and
 * asked for when missing or expired.
 */
const KEY = 'operator-token';

/** The token's `exp` (seconds), or null when it is not a readable JWT. The server checks the signature; this only spares a refused request. */
export function tokenExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp : null;
  } catch {
    return null;
  }
}

/** A token still worth trying: readable and not past its `exp` (with the server's 30 s leeway). */
export function usable(token: string | null, nowMs = Date.now()): token is string {
  if (token === null || token === '') return false;
  const exp = tokenExpiry(token);
  return exp !== null && exp * 1000 + 30_000 > nowMs;
}

/** Moves a token from the fragment to session storage (and out of the address bar); returns the stored one. */
export function takeToken(): string | null {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment !== null && fromFragment !== '') {
    sessionStorage.setItem(KEY, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
