/** The page's elements, by their `data-testid` (the tests find them the same way). */
export const byTestId = <T extends HTMLElement>(id: string): T => document.querySelector<T>(`[data-testid="${id}"]`)!;

/** Hides the console and asks for an operator token, saying why. */
export function showSignIn(message: string): void {
  byTestId('app').hidden = true;
  byTestId('sign-out').hidden = true;
  byTestId('signin').hidden = false;
  byTestId('signin-message').textContent = message;
}

/** A refused token, whichever request found out: the console stops and asks for another. */
export const REFUSED_MESSAGE = 'The service refused your operator token (expired or revoked): sign in again.';
