import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { getToken, onTokenChange } from "./api/auth";
import { fetchMe } from "./api/people";
import { currentMe, onMeChange } from "./api/session";
import { TransportError, transport } from "./api/transport";
import { makeRouter } from "./router";
import { SignIn } from "./SignIn";

const queryClient = new QueryClient({
  queryCache: new QueryCache(),
  defaultOptions: {
    queries: {
      // A 401 will not get better by asking again; the sign-in screen takes over.
      retry: (n, err) => !(err instanceof TransportError && err.status !== null && err.status < 500) && n < 2,
      refetchOnWindowFocus: false,
      staleTime: 2_000,
    },
  },
});

const router = makeRouter();

type Gate = "checking" | "in" | "out";

/**
 * The browser door needs a person signed in (or a token) first; the desktop app does not.
 * At start it asks `GET /v1/auth/me`, which a session cookie kept from before answers.
 */
export function App() {
  const needsSignIn = transport().kind === "http";
  const [gate, setGate] = useState<Gate>(needsSignIn ? "checking" : "in");
  const [reason, setReason] = useState<string | null>(null);

  useEffect(() => {
    if (!needsSignIn) return;
    let live = true;
    fetchMe()
      .then((me) => live && setGate(me ? "in" : "out"))
      .catch(() => live && setGate("out"));
    const offMe = onMeChange(() => {
      const me = currentMe();
      setGate((was) => {
        if (me === null && was === "in") {
          setReason(getToken() === null ? "The token was not accepted, the session ended, or you signed out. Sign in again." : null);
        }
        if (me !== null) {
          setReason(null);
          queryClient.clear();
        }
        return me === null ? "out" : "in";
      });
    });
    const offToken = onTokenChange(() => {
      // A token was forgotten (a 401): the sign-in screen says so.
      if (getToken() === null && currentMe()?.csrf_token == null) setReason("The token was not accepted (or you signed out). Sign in again.");
    });
    return () => {
      live = false;
      offMe();
      offToken();
    };
  }, [needsSignIn]);

  if (gate === "checking") return <p className="hint">Loading…</p>;
  if (gate === "out") return <SignIn reason={reason} />;
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
