/** JUnit XML of a policy test run, for CI systems (one suite per test file, one case per test). */
import type { PolicyTestResult, PolicyTestRun } from './policy-tests.js';

/** JUnit XML for CI systems: one suite per file, one testcase per case. */
export function formatJUnit(run: PolicyTestRun): string {
  const esc = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const byFile = new Map<string, PolicyTestResult[]>();
  for (const r of run.results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="switchyard test">'];
  for (const [file, results] of byFile) {
    const failures = results.filter((r) => !r.ok).length;
    out.push(`  <testsuite name="${esc(file)}" tests="${results.length}" failures="${failures}">`);
    for (const r of results) {
      const attrs = `name="${esc(r.name)}" classname="${esc(file)}" file="${esc(file)}" line="${r.line}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      if (r.ok) out.push(`    <testcase ${attrs}/>`);
      else
        out.push(
          `    <testcase ${attrs}>`,
          `      <failure message="${esc(r.failures[0] ?? 'failed')}">${esc(r.failures.join('\n'))}</failure>`,
          '    </testcase>',
        );
    }
    out.push('  </testsuite>');
  }
  for (const e of run.errors) {
    out.push(
      `  <testsuite name="${esc(e.file)}" tests="1" errors="1">`,
      `    <testcase name="load" classname="${esc(e.file)}"><error message="${esc(e.message.split('\n')[0])}">${esc(e.message)}</error></testcase>`,
      '  </testsuite>',
    );
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
