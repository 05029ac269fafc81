/** Light, dark, or the system's choice; remembered in this browser. */

export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

const KEY = "clickstream-theme";

export function nextTheme(theme: Theme): Theme {
  return THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length] ?? "system";
}

function stored(): Theme {
  const value = localStorage.getItem(KEY);
  return THEMES.find((theme) => theme === value) ?? "system";
}

/** The theme button cycles system → light → dark; `changed` runs after every switch. */
export function installTheme(button: HTMLButtonElement, changed: () => void): void {
  let theme = stored();
  const apply = (): void => {
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.textContent = `Theme: ${theme}`;
    button.setAttribute("aria-label", `Colour theme: ${theme}. Switch to ${nextTheme(theme)}.`);
  };
  apply();
  button.addEventListener("click", () => {
    theme = nextTheme(theme);
    localStorage.setItem(KEY, theme);
    apply();
    changed();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (theme === "system") changed();
  });
}
