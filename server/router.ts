/**
 * The server's router: exactly the routes it has, over `node:http`. A static route is one `Map`
 * lookup by method and path; the few routes with parameters (`/v1/files/:id`, `/v1/models/*`)
 * are tried in order, segment by segment, only when no static route matched. Nothing is compiled
 * or built per request.
 *
 * HEAD is answered by the GET route of the path (Node sends no body for HEAD). A path that exists
 * under another method is not found, as before (404 in OpenAI's shape): the API has no route
 * whose method a client could guess wrong on purpose, and OpenAI answers the same way.
 */

export type Params = Readonly<Record<string, string>>;

const NO_PARAMS: Params = Object.freeze({});

export interface Match<T> {
  readonly value: T;
  /** The route's pattern (`/v1/files/:id`), for logs and metrics. */
  readonly pattern: string;
  readonly params: Params;
}

interface DynamicRoute<T> {
  readonly method: string;
  readonly pattern: string;
  /** One entry a path segment: a literal, `:name`, or `*` (the rest of the path, last only). */
  readonly segments: readonly string[];
  readonly value: T;
  readonly match: Match<T>;
}

/** A path that cannot be decoded (a malformed percent escape). */
export class BadUrlError extends Error {
  readonly code = 'SY_BAD_URL';
}

function decode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BadUrlError('The request URL is malformed.');
  }
}

export class Router<T> {
  readonly #static = new Map<string, Match<T>>();
  readonly #dynamic: DynamicRoute<T>[] = [];

  add(method: string, pattern: string, value: T): this {
    const isDynamic = pattern.includes(':') || pattern.includes('*');
    if (!isDynamic) {
      const key = `${method} ${pattern}`;
      if (this.#static.has(key)) throw new Error(`route ${key} is defined twice`);
      this.#static.set(key, { value, pattern, params: NO_PARAMS });
      return this;
    }
    const segments = pattern.split('/');
    const star = segments.indexOf('*');
    if (star >= 0 && star !== segments.length - 1) throw new Error(`'*' must end the pattern ${pattern}`);
    this.#dynamic.push({ method, pattern, segments, value, match: { value, pattern, params: NO_PARAMS } });
    return this;
  }

  /**
   * The route of `method` and `path` (no query string), or null. Throws {@link BadUrlError} when
   * the path or a parameter holds a malformed percent escape.
   */
  find(method: string, path: string): Match<T> | null {
    const lookup = method === 'HEAD' ? 'GET' : method;
    const hit = this.#static.get(`${lookup} ${path}`);
    if (hit !== undefined) return hit;
    if (path.includes('%')) {
      const decoded = decode(path);
      const again = this.#static.get(`${lookup} ${decoded}`);
      if (again !== undefined) return again;
    }
    if (this.#dynamic.length === 0) return null;
    const parts = path.split('/');
    for (const route of this.#dynamic) {
      if (route.method !== lookup) continue;
      const params = matchSegments(route.segments, parts);
      if (params !== null) return { value: route.value, pattern: route.pattern, params };
    }
    return null;
  }
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Params | null {
  let params: Record<string, string> | null = null;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '*') {
      if (parts.length < segments.length) return null;
      params ??= {};
      params['*'] = decode(parts.slice(i).join('/'));
      return params;
    }
    if (i >= parts.length) return null;
    const part = parts[i];
    if (segment.charCodeAt(0) === 0x3a /* : */) {
      if (part === '') return null;
      params ??= {};
      params[segment.slice(1)] = decode(part);
    } else if (segment !== part) {
      return null;
    }
  }
  if (parts.length !== segments.length) return null;
  return params ?? NO_PARAMS;
}
