/**
 * The replay report's renderers over generated reports (names with markup, quotes and control
 * characters included): every report renders; the HTML page runs only its own scripts and shows
 * every request id it lists as escaped text; the terminal text carries no control character but
 * newlines (colour off).
 */
import { test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { formatReplayReport, renderReplayHtml } from '../../engine/index.js';
import { escapeHtml } from '../../engine/testing/replay-render/html-markup.js';
import { arbReplayReport } from '../support/replay-reports.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 60);

describe('replay report renderers', () => {
  test.prop([arbReplayReport], { numRuns: NUM_RUNS })(
    'the HTML page has exactly its own three script elements and lists each change id escaped',
    async (report) => {
      const page = await renderReplayHtml(report);
      expect(page.match(/<script\b/gi)).toHaveLength(3);
      expect(page.match(/<\/script/gi)).toHaveLength(3);
      for (const change of report.changes) {
        expect(page).toContain(`<td class="mono id">${escapeHtml(change.requestId)}</td>`);
      }
    },
  );

  test.prop([arbReplayReport], { numRuns: NUM_RUNS })(
    'the terminal summary has no control characters but newlines, and the exact counts',
    (report) => {
      const text = formatReplayReport(report, { color: false });
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(text).toContain(
        `${report.unchanged.toLocaleString('en-US')} unchanged, ${report.changed.toLocaleString('en-US')} changed, ${report.unreplayable.toLocaleString('en-US')} unreplayable`,
      );
    },
  );
});
