/** The sign-in form and the sign-out button (auth.ts keeps the token; main.ts loads). */

import { Session, type SignInReason, signInMessage } from "./auth";
import { byId, setAttribute, setText } from "./dom";

export class SignInView {
  private readonly el = {
    section: byId("signin", HTMLElement),
    message: byId("signin-message", HTMLElement),
    form: byId("signin-form", HTMLFormElement),
    token: byId("signin-token", HTMLInputElement),
    signout: byId("signout", HTMLButtonElement),
    main: byId("main", HTMLElement),
  };

  /** The form is up: nothing loads until a token is given. */
  shown = false;

  /**
   * `signedIn`: a token was kept, load with it. `signedOut`: the token was forgotten, the
   * figures must go.
   */
  constructor(
    private readonly session: Session,
    handlers: { signedIn(): void; signedOut(): void },
  ) {
    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const given = this.el.token.value;
      this.el.token.value = "";
      if (!this.session.signIn(given)) return;
      this.show(null);
      handlers.signedIn();
    });
    this.el.signout.addEventListener("click", () => {
      this.session.signOut();
      this.show("signed-out");
      handlers.signedOut();
    });
  }

  /** The form for `reason`, the figures hidden; null: the figures again. */
  show(reason: SignInReason | null): void {
    this.shown = reason !== null;
    this.el.section.hidden = reason === null;
    this.el.main.hidden = reason !== null;
    this.showSignOut();
    if (reason === null) return;
    setText(this.el.message, signInMessage(reason));
    setAttribute(document.body, "data-state", "signin");
    this.el.token.focus();
  }

  /** Sign out is offered while a token is kept and the figures are on screen. */
  showSignOut(): void {
    this.el.signout.hidden = this.shown || this.session.token === null;
  }
}
