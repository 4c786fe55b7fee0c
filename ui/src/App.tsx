import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { getToken, onTokenChange } from "./api/auth";
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

/** The browser door needs the admin token first; the desktop app does not. */
export function App() {
  const needsToken = transport().kind === "http";
  const [token, setTok] = useState(getToken());
  const [signedOutBy401, setSignedOut] = useState(false);
  useEffect(
    () =>
      onTokenChange(() => {
        const t = getToken();
        if (t === null && token !== null) setSignedOut(true);
        setTok(t);
        if (t !== null) {
          setSignedOut(false);
          queryClient.clear();
        }
      }),
    [token],
  );

  if (needsToken && token === null) {
    return (
      <SignIn reason={signedOutBy401 ? "The token was not accepted (or you signed out). Sign in again." : null} />
    );
  }
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
