/**
 * The script of the HTML report, run in the reader's browser after Chart.js: it reads the chart
 * data from the page's `application/json` block (never from the network) and draws the three
 * charts; it also filters the changed-requests table. Plain ES2017 in a string, because it runs
 * in a browser, not in Node; it touches the DOM through `textContent` and attributes only, never
 * `innerHTML`, so the report's text stays text.
 */
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var node = document.getElementById('report-data');
  if (!node || typeof Chart === 'undefined') return;
  var data = JSON.parse(node.textContent);
  var C = {
    requests: 'rgba(148, 163, 184, 0.35)',
    baseline: '#94a3b8',
    candidate: '#2563eb',
    errors: '#dc2626',
    fallbacks: '#d97706',
    limited: '#7c3aed',
    changed: '#0d9488',
    good: '#16a34a'
  };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#475569';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function line(label, values, color, dashed) {
    return {
      type: 'line', label: label, data: values, borderColor: color, backgroundColor: color,
      borderWidth: 2, borderDash: dashed ? [5, 4] : [], pointRadius: values.length > 60 ? 0 : 2,
      tension: 0.2, yAxisID: 'y', order: 1
    };
  }

  var t = data.timeline;
  var timeline = document.getElementById('chart-timeline');
  if (timeline && t.labels.length > 0) {
    new Chart(timeline, {
      data: {
        labels: t.labels,
        datasets: [
          { type: 'bar', label: 'requests', data: t.requests, backgroundColor: C.requests,
            yAxisID: 'requests', order: 10, barPercentage: 1, categoryPercentage: 0.9 },
          line('baseline errors', t.baselineErrors, C.baseline, true),
          line('candidate errors', t.candidateErrors, C.errors, false),
          line('candidate fallbacks', t.candidateFallbacks, C.fallbacks, false),
          line('candidate rate-limited', t.candidateLimited, C.limited, false),
          line('changed', t.changed, C.changed, false)
        ]
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkipPadding: 16 }, grid: { display: false } },
          y: { beginAtZero: true, position: 'left', title: { display: true, text: 'events' },
               ticks: { precision: 0 } },
          requests: { beginAtZero: true, position: 'right', title: { display: true, text: 'requests' },
                      grid: { drawOnChartArea: false }, ticks: { precision: 0 } }
        },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }

  var targets = document.getElementById('chart-targets');
  if (targets && data.targets.labels.length > 0) {
    new Chart(targets, {
      type: 'bar',
      data: {
        labels: data.targets.labels,
        datasets: [
          { label: 'baseline', data: data.targets.baseline, backgroundColor: C.baseline, maxBarThickness: 18 },
          { label: 'candidate', data: data.targets.candidate, backgroundColor: C.candidate, maxBarThickness: 18 }
        ]
      },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }

  var kinds = document.getElementById('chart-kinds');
  if (kinds && data.kinds.labels.length > 0) {
    new Chart(kinds, {
      type: 'bar',
      data: {
        labels: data.kinds.labels,
        datasets: [{
          label: 'requests', data: data.kinds.counts, maxBarThickness: 26,
          backgroundColor: data.kinds.tone.map(function (tone) {
            return tone === 'bad' ? C.errors : tone === 'good' ? C.good : C.candidate;
          })
        }]
      },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
        plugins: { legend: { display: false } }
      }
    });
  }

  var filter = document.getElementById('changes-filter');
  var kindFilter = document.getElementById('changes-kind');
  var table = document.getElementById('changes');
  var shown = document.getElementById('changes-shown');
  if (filter && kindFilter && table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var apply = function () {
      var text = filter.value.toLowerCase();
      var kind = kindFilter.value;
      var n = 0;
      rows.forEach(function (row) {
        var ok = (text === '' || row.textContent.toLowerCase().indexOf(text) !== -1) &&
          (kind === '' || (' ' + row.getAttribute('data-kinds') + ' ').indexOf(' ' + kind + ' ') !== -1);
        row.hidden = !ok;
        if (ok) n++;
      });
      if (shown) shown.textContent = String(n);
    };
    filter.addEventListener('input', apply);
    kindFilter.addEventListener('change', apply);
  }
})();
`;
