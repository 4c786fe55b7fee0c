// Light, dark, or the system's choice (prefers-color-scheme). The choice is a display
// preference, kept in localStorage; the CSS reads `data-theme` on <html>.

export type Theme = "auto" | "light" | "dark";
const KEY = "replaydesk.theme";

export function loadTheme(): Theme {
  try {
    const t = localStorage.getItem(KEY);
    return t === "light" || t === "dark" ? t : "auto";
  } catch {
    return "auto";
  }
}

export function applyTheme(t: Theme): void {
  document.documentElement.dataset.theme = t;
  try {
    if (t === "auto") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, t);
  } catch {
    // Storage refused (private mode): the choice lasts for this page only.
  }
}

export function nextTheme(t: Theme): Theme {
  return t === "auto" ? "light" : t === "light" ? "dark" : "auto";
}
