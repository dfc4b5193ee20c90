// Data hooks: read the public API and re-read on live hints (issue 9 §4). A re-read keeps the previous data on
// screen, so `loading` with `data` present means "refreshing": show a spinner only when there is no data yet.
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, arm, toApiError, vault } from "./api";
import { useLiveVersion } from "./live";
import type { Hint } from "./types";

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload(): void;
}

export interface LoadOptions {
  /** Which hints trigger a re-read (default: every hint). */
  match?: (h: Hint) => boolean;
  /** false: read once, ignore hints and polling. */
  live?: boolean;
}

const never = (): boolean => false;

/** Reads `load()` whenever `key` changes, a matching hint arrives, the stream is down (every 5 s), or reload(). */
export function useLoad<T>(key: string | null, load: () => Promise<T>, deps: unknown[] = [], opts: LoadOptions = {}): Loaded<T> {
  const version = useLiveVersion(opts.live === false ? never : opts.match);
  const [nonce, setNonce] = useState(0);
  const [state, setState] = useState<{ key: string | null; data?: T; error?: ApiError; loading: boolean }>({ key, loading: key !== null });
  useEffect(() => {
    if (key === null) {
      setState({ key, loading: false });
      return;
    }
    let current = true;
    // Same key: keep the data while re-reading (no spinner flash). New key: start clean.
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, loading: true }));
    load().then(
      (data) => current && setState({ key, data, loading: false }),
      (err) => current && setState({ key, error: toApiError(err), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [key, version, nonce, ...deps]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const fresh = state.key === key;
  return { ...(fresh && state.data !== undefined ? { data: state.data } : {}), ...(fresh && state.error ? { error: state.error } : {}), loading: fresh ? state.loading : key !== null, reload };
}

/** GET an ARM path (with ?api-version=); null path = nothing to read yet. */
export function useArm<T>(path: string | null, deps: unknown[] = [], opts?: LoadOptions): Loaded<T> {
  return useLoad<T>(path, () => arm<T>("GET", path!), deps, opts);
}

/** GET a Key Vault data-plane path on `vaultUri` (the vault's properties.vaultUri). */
export function useVault<T>(vaultUri: string | null | undefined, path: string | null, deps: unknown[] = [], opts?: LoadOptions): Loaded<T> {
  const key = vaultUri && path ? `${vaultUri}${path}` : null;
  return useLoad<T>(key, () => vault<T>(vaultUri!, "GET", path!), deps, opts);
}
