import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { adoptTokenFromAddressBar } from "./api/auth";
import { isTauri } from "./api/transport";
import { applyTheme, loadTheme } from "./lib/theme";
import "./styles.css";

// A `?token=` in the address bar is taken once and removed before anything renders.
if (!isTauri()) adoptTokenFromAddressBar();
applyTheme(loadTheme());

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
