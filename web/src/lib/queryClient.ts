import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./api";

/** One cache for the app. Client errors (4xx) are not retried; network trouble and 5xx once. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (count, e) => count < 1 && !(e instanceof ApiError && e.status >= 400 && e.status < 500),
    },
  },
});
