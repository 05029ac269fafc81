/** Sites (the tenants every figure belongs to): the name rule, the switcher's choices. No I/O. */

/** The site of every event that names none, and of every read that names none. */
export const DEFAULT_SITE = "default";

/** The gateway's rule: host-like, lower-case, so a name needs no escaping in a URL. */
const SITE_NAME = /^[a-z0-9.-]{1,253}$/;

export function isSiteName(text: string): boolean {
  return SITE_NAME.test(text);
}

export interface SiteOption {
  readonly value: string;
  readonly label: string;
}

/**
 * The sites the gateway lists, in its order, and the chosen one last when it is not among
 * them: a link to a site keeps showing that site.
 */
export function siteOptions(listed: readonly string[], chosen: string): SiteOption[] {
  const options = listed.map((name) => ({ value: name, label: name }));
  if (!listed.includes(chosen)) options.push({ value: chosen, label: `${chosen} (not listed)` });
  return options;
}
