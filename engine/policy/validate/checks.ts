/** The state the semantic checks share: the context, the diagnostics so far, and what is sound. */

import { isRecord } from '../../shared/guards.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Context } from './context.js';
import { type Obj, under } from './document.js';

export class Checks {
  readonly out: Diagnostic[] = [];

  constructor(
    readonly ctx: Context,
    /** Pointers with a schema error; a check skips any part that has one. */
    private readonly broken: readonly string[],
  ) {}

  /** True when the schema found nothing wrong at or below `pointer`. */
  clean(pointer: string): boolean {
    return !this.broken.some((b) => under(b, pointer));
  }

  get doc(): Obj {
    return isRecord(this.ctx.doc) ? this.ctx.doc : {};
  }
}
