import { byTestId, showSignIn } from './page.js';
import { forgetToken, storeToken, takeToken, usable } from './session.js';

/**
 * Binds the sign-in form and the sign-out button, and returns the operator token to use, or null after
 * asking for one (none in the fragment or the tab's storage, or an expired one).
 */
export function signIn(): string | null {
  byTestId<HTMLFormElement>('signin-form').addEventListener('submit', (submit) => {
    submit.preventDefault();
    const token = byTestId<HTMLInputElement>('signin-token').value.trim();
    if (!usable(token)) {
      byTestId('signin-message').textContent = 'That is not a token that is still valid.';
      return;
    }
    storeToken(token);
    location.reload();
  });
  byTestId('sign-out').addEventListener('click', () => {
    forgetToken();
    location.reload();
  });
  const token = takeToken();
  if (usable(token)) return token;
  if (token !== null) forgetToken();
  showSignIn(token === null ? 'The console needs an operator token.' : 'Your operator token has expired: sign in again.');
  return null;
}
