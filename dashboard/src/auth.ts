/**
 * Signing in: the token a gateway with tokens configured asks for (docs/security.md).
 *
 * The token lives in the tab's sessionStorage, gone when the tab closes and never in the
 * address bar, history or a server log. A shared link carries its token in the fragment
 * (`#token=…`, which browsers never send to a server); `tokenFromFragment` moves it into
 * storage and out of the address at once. No DOM here: main.ts draws the form.
 */

import { ApiError } from "./api";

const STORAGE_KEY = "clickstream.token";
const FRAGMENT = /^#token=([A-Za-z0-9_-]{16,256})$/;

/** A place for the token: `sessionStorage` in the browser, a map in tests. */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class Session {
  constructor(private readonly store: TokenStore) {}

  get token(): string | null {
    return this.store.getItem(STORAGE_KEY);
  }

  /** Keeps `token` for the tab; false for a blank one (nothing kept). */
  signIn(token: string): boolean {
    const trimmed = token.trim();
    if (!trimmed) return false;
    this.store.setItem(STORAGE_KEY, trimmed);
    return true;
  }

  signOut(): void {
    this.store.removeItem(STORAGE_KEY);
  }

  /** The `Authorization` header for every call, none when signed out. */
  headers(): Record<string, string> {
    const token = this.token;
    return token ? { Authorization: `Bearer ${token}` } : {};
  }
}

/**
 * The token a shared link carries in `hash` (`#token=…`), or null. The caller removes the
 * fragment from the address (`history.replaceState`) once it is kept.
 */
export function tokenFromFragment(hash: string): string | null {
  return FRAGMENT.exec(hash)?.[1] ?? null;
}

/** Why the sign-in form is shown. */
export type SignInReason = "needed" | "rejected" | "signed-out";

/** The sentence above the form: what happened and what to do. */
export function signInMessage(reason: SignInReason): string {
  switch (reason) {
    case "needed":
      return "This dashboard needs a token. Paste a read token, an admin token or a shared link's token.";
    case "rejected":
      return "The gateway did not accept this token: it is wrong, revoked or expired. Sign in with another.";
    case "signed-out":
      return "Signed out. Sign in again with a token.";
  }
}

/**
 * Whether `failures` (one load's failed calls) say the gateway wants a token it was not
 * given, or refused the one it was: 401 on any call. A 403 is not: the token is valid for
 * other sites or routes, which the banner explains.
 */
export function needsSignIn(failures: readonly unknown[]): boolean {
  return failures.some((failure) => failure instanceof ApiError && failure.status === 401);
}

/**
 * The site to show once the readable ones are known: the chosen one when the token reads
 * it, else the first it reads (a shared link's one site), else the chosen one (the banner
 * then says why it cannot be read).
 */
export function readableSite(chosen: string, readable: readonly string[] | null): string {
  if (readable === null || readable.length === 0 || readable.includes(chosen)) return chosen;
  return readable[0] ?? chosen;
}
