import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { adoptTokenFromAddressBar } from "./api/auth";
import { isTauri } from "./api/transport";
import { applyTheme, loadTheme } from "./lib/theme";
import "./styles.css";

// A `?token=` in the address bar is taken once and removed before anything renders.
if (!isTauri()) adoptTokenFromAddressBar();
// The desktop app is the teacher's classroom host: it opens on Host. The console's pages
// stay one click away, and a window opened on a given page keeps it.
if (isTauri() && (window.location.hash === "" || window.location.hash === "#/")) {
  window.location.replace("#/host");
}
applyTheme(loadTheme());

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
