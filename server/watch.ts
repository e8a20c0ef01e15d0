/**
 * Watches the policy path and asks the manager to reload after changes settle.
 *
 * A single policy file is watched through its DIRECTORY, never the file itself: editors save by
 * writing a temp file and renaming it over the original, and Kubernetes swaps a ConfigMap by
 * re-pointing the `..data` symlink; a watch on the old inode would miss both. For the same reason
 * the watched directory's own entry is watched in its parent: a directory deleted and recreated,
 * or a symlink to a directory swapped to another one, re-arms the watch on the new directory.
 * Events are filtered to the files the loader reads, then debounced so that one save (often
 * several fs events) costs one reload.
 */

import { stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

export interface PolicyWatcherOptions {
  /** The policy file or directory (as given to the manager). */
  policyPath: string;
  /** Called once per settled burst of relevant changes. */
  onChange: () => void;
  /** Quiet time before `onChange`, in ms; 100 by default. */
  debounceMs?: number;
  /** Poll instead of native events (network filesystems); off by default. */
  usePolling?: boolean;
  onError?: (err: unknown) => void;
}

export interface PolicyWatcher {
  /** Resolves when the initial scan is done and changes from now on are seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Kubernetes ConfigMap volumes swap content by replacing this symlink atomically. */
const CONFIGMAP_DATA = '..data';

/** The longest wait for a watcher's initial scan before going on without it (see `readyOf`). */
const READY_TIMEOUT_MS = 5_000;

/** The loader's rule for directory fragments: `*.yaml` / `*.yml`, no tests, no dotfiles. */
function isPolicyFragment(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !/\.test\.ya?ml$/i.test(name) && !name.startsWith('.');
}

/** Is a change at `changed` (inside the watched root) one the loader would see? */
export function isRelevantChange(root: string, changed: string, singleFile: string | null): boolean {
  const rel = relative(root, changed);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..') return false;
  const segments = rel.split(sep);
  if (segments.includes(CONFIGMAP_DATA)) return true;
  if (singleFile !== null) return segments.length === 1 && segments[0] === singleFile;
  if (segments.some((s) => s.startsWith('.'))) return false;
  return isPolicyFragment(segments[segments.length - 1]);
}

/**
 * @example
 * const watcher = await watchPolicy({ policyPath: 'policies/prod.yaml', onChange: () => manager.reload('watch') });
 * await watcher.ready;
 */
export async function watchPolicy(options: PolicyWatcherOptions): Promise<PolicyWatcher> {
  const debounceMs = options.debounceMs ?? 100;
  const usePolling = options.usePolling ?? false;
  const target = resolve(options.policyPath);
  let isDirectory = false;
  try {
    isDirectory = (await stat(target)).isDirectory();
  } catch {
    // A missing path is watched as a file: creating it later triggers a reload.
  }
  const root = isDirectory ? target : dirname(target);
  const singleFile = isDirectory ? null : basename(target);

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = (): void => {
    timer = undefined;
    if (!closed) options.onChange();
  };
  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
  };
  const consider = (changed: string): void => {
    if (isRelevantChange(root, changed, singleFile)) schedule();
  };
  const onError = (err: unknown): void => options.onError?.(err);

  /** The watcher of the root's contents; replaced whenever the root itself is replaced. */
  const watchRoot = (): FSWatcher => {
    const watcher = watch(root, {
      ignoreInitial: true,
      // A single file's directory may hold anything: look at its entries only.
      depth: isDirectory ? 16 : 0,
      usePolling,
      interval: 200,
    });
    watcher.on('all', (_event, changed) => consider(resolve(changed)));
    // chokidar's filtered events can miss a rename over a file renamed over shortly before (its
    // per-file watch still points at the old inode); the raw fs events never do. Extra triggers
    // are cheap: the debounce merges them and a reload of unchanged content is a no-op.
    watcher.on('raw', (_event, name, details) => {
      const watchedPath =
        typeof details === 'object' && details !== null && 'watchedPath' in details
          ? details.watchedPath
          : undefined;
      if (typeof watchedPath !== 'string') return;
      const watched = resolve(watchedPath);
      if (typeof name !== 'string' || name === '') {
        consider(watched === root ? join(root, singleFile ?? '') : watched);
      } else {
        consider(basename(watched) === name ? watched : join(watched, name));
      }
    });
    watcher.on('error', onError);
    return watcher;
  };
  /**
   * Resolves on the watcher's first scan, or after READY_TIMEOUT_MS, or on its error: a watcher
   * that never reports ready (its directory swapped again mid-scan, an inotify limit) must not
   * stall the re-arm chain behind it, nor the shutdown that waits for that chain.
   */
  const readyOf = (watcher: FSWatcher): Promise<void> =>
    new Promise<void>((resolveReady) => {
      const done = (): void => {
        clearTimeout(timeout);
        watcher.off('ready', done);
        watcher.off('error', done);
        resolveReady();
      };
      const timeout = setTimeout(done, READY_TIMEOUT_MS);
      timeout.unref();
      watcher.once('ready', done);
      watcher.once('error', done);
    });

  let rootWatcher: FSWatcher | null = watchRoot();
  const rootReady = readyOf(rootWatcher);

  // A watch follows an inode, not a name: when the root directory is deleted and recreated, or
  // is a symlink swapped to another directory (a release switch, a ConfigMap mounted as the
  // policy directory), the watch above keeps looking at the old one. So the root's own entry is
  // watched in its parent, and every change of it re-arms the root watcher (and reloads).
  let rearming: Promise<void> = Promise.resolve();
  let rearmQueued = false;
  const rearm = (): void => {
    schedule();
    // A burst of events on the entry (unlink, add, raw renames) costs one re-arm after the
    // one running, not one each.
    if (rearmQueued) return;
    rearmQueued = true;
    rearming = rearming.then(async () => {
      rearmQueued = false;
      const old = rootWatcher;
      rootWatcher = null;
      await old?.close().catch(onError);
      if (closed) return;
      try {
        await stat(root);
      } catch {
        return; // gone for now: its re-creation is another change of the entry
      }
      const fresh = watchRoot();
      rootWatcher = fresh;
      await readyOf(fresh);
      // Changes made while no watcher looked are covered by this reload.
      schedule();
    });
  };
  const parent = dirname(root);
  let parentWatcher: FSWatcher | null = null;
  if (parent !== root) {
    parentWatcher = watch(parent, {
      ignoreInitial: true,
      depth: 0,
      followSymlinks: false,
      usePolling,
      interval: 200,
      // Only the root's own entry: its siblings (all of /tmp, say) are never looked at.
      ignored: (path: string) => {
        const p = resolve(path);
        return p !== parent && p !== root;
      },
    });
    parentWatcher.on('all', (_event, changed) => {
      if (resolve(changed) === root) rearm();
    });
    parentWatcher.on('raw', (_event, name) => {
      if (name === basename(root)) rearm();
    });
    parentWatcher.on('error', onError);
  }
  const ready = Promise.all([rootReady, parentWatcher === null ? undefined : readyOf(parentWatcher)]).then(
    () => undefined,
  );

  return {
    ready,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await rearming;
      await Promise.all([rootWatcher?.close(), parentWatcher?.close()]);
    },
  };
}
