import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter } from "react-router";
import { AppRoutes } from "./app";
import { queryClient } from "./lib/queryClient";
import { i18nReady } from "./i18n";
import "./styles.css";

// The first screen waits for its language's catalogue (a few KB); a failed download shows the keys.
void i18nReady.catch(() => undefined).then(() =>
  createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
  ),
);
