// A newest-first listing loaded page by page with a "Load more" button.

import { useInfiniteQuery } from "@tanstack/react-query";
import type { Page } from "../bindings/Page";

export function usePaged<T>(key: unknown[], fetch: (cursor: number | undefined) => Promise<Page<T>>, refetchInterval = 5000) {
  const q = useInfiniteQuery({
    queryKey: key,
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => fetch(pageParam),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval,
    placeholderData: (prev) => prev,
  });
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return { q, items };
}

export function LoadMore({ hasNext, loading, onMore }: { hasNext: boolean; loading: boolean; onMore: () => void }) {
  if (!hasNext) return null;
  return (
    <p>
      <button type="button" onClick={onMore} disabled={loading}>
        {loading ? "Loading…" : "Load more"}
      </button>
    </p>
  );
}
