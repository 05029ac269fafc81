/** The breakdown panels: each a title and the dimensions its tabs switch between. Data only. */

import type { Dimension } from "./filters";

export interface Tab {
  readonly dimension: Dimension;
  readonly label: string;
  /** The heading of the value column. */
  readonly column: string;
}

export interface PanelSpec {
  readonly id: string;
  readonly title: string;
  readonly tabs: readonly [Tab, ...Tab[]];
}

export const PANELS: readonly PanelSpec[] = [
  {
    id: "sources",
    title: "Sources",
    tabs: [
      { dimension: "referrer", label: "Referrers", column: "Source" },
      // short tab names, so the four fit on one line beside the title
      { dimension: "utm_source", label: "Source", column: "UTM source" },
      { dimension: "utm_medium", label: "Medium", column: "UTM medium" },
      { dimension: "utm_campaign", label: "Campaign", column: "UTM campaign" },
    ],
  },
  {
    id: "pages",
    title: "Pages",
    tabs: [
      { dimension: "page", label: "Top pages", column: "Page" },
      { dimension: "entry_page", label: "Entry pages", column: "Entry page" },
      { dimension: "exit_page", label: "Exit pages", column: "Exit page" },
    ],
  },
  {
    id: "locations",
    title: "Locations",
    tabs: [{ dimension: "country", label: "Countries", column: "Country" }],
  },
  {
    id: "devices",
    title: "Devices",
    tabs: [
      { dimension: "browser", label: "Browsers", column: "Browser" },
      { dimension: "os", label: "Operating systems", column: "OS" },
      { dimension: "device", label: "Devices", column: "Device" },
    ],
  },
];
