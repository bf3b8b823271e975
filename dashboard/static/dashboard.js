/* minirq dashboard: keeps each page fresh by polling its JSON endpoint, one request at a
 * time, and turns the action forms into background requests. Every piece of job data is
 * put into the page with textContent or setAttribute, never parsed as HTML. */
(function () {
  'use strict';

  var body = document.body;
  var root = body.dataset.root || '/';
  var csrf = body.dataset.csrf || '';
  var readOnly = body.dataset.readOnly === '1';
  var pollMs = Math.max(500, parseInt(body.dataset.pollMs, 10) || 3000);
  var REGISTRIES = ['queued', 'started', 'scheduled', 'deferred', 'finished', 'failed', 'canceled'];
  var PAUSE_KEY = 'minirq.dashboard.paused';

  // -- small helpers -----------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function $(selector, scope) { return (scope || document).querySelector(selector); }
  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function enc(text) { return encodeURIComponent(text); }
  function queueUrl(name, params) {
    var url = root + 'queues/' + enc(name);
    var query = Object.keys(params || {}).map(function (k) { return k + '=' + enc(params[k]); });
    return query.length ? url + '?' + query.join('&') : url;
  }
  function jobUrl(id) { return root + 'jobs/' + enc(id); }
  function apiUrl(path) { return root + 'api/' + path; }

  function when(iso) {
    if (!iso) return el('span', { className: 'muted', text: '–' });
    return el('time', { datetime: iso, title: iso, text: iso.replace('T', ' ').replace('Z', '') });
  }

  function durationText(s) {
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 60) return s.toFixed(1) + ' s';
    var w = Math.floor(s);
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    if (w < 3600) return Math.floor(w / 60) + 'm ' + pad(w % 60) + 's';
    if (w < 86400) return Math.floor(w / 3600) + 'h ' + pad(Math.floor((w % 3600) / 60)) + 'm';
    return Math.floor(w / 86400) + 'd ' + Math.floor((w % 86400) / 3600) + 'h';
  }
  function duration(s, signed) {
    if (s === null || s === undefined) return '–';
    var text = durationText(Math.abs(s));
    if (!signed) return text;
    return s >= 0 ? 'in ' + text : text + ' ago';
  }

  function statusBadge(value) {
    value = value || 'gone';
    return el('span', { className: 'status status-' + value, text: value });
  }

  function progressNode(p) {
    if (!p) return null;
    return el('span', { className: 'progress' }, [
      el('progress', { max: 100, value: p.percent }),
      ' ' + Math.round(p.percent) + '%',
      p.message ? ' ' : null,
      p.message ? el('span', { className: 'muted', text: p.message }) : null
    ]);
  }

  function actionForm(url, label, options) {
    if (readOnly) return null;
    options = options || {};
    var form = el('form', {
      method: 'post', action: url, className: 'js-action inline',
      'data-confirm': options.confirm || null
    }, [
      el('input', { type: 'hidden', name: 'csrf_token', value: csrf }),
      options.registry ? el('input', { type: 'hidden', name: 'registry', value: options.registry }) : null,
      el('button', { type: 'submit', className: options.danger ? 'danger' : null, text: label })
    ]);
    return form;
  }

  function emptyRow(colspan, text) {
    return el('tr', { className: 'empty-row' }, [el('td', { colspan: colspan, text: text })]);
  }

  // -- talking to the API ------------------------------------------------------------

  function errorText(response, payload) {
    return (payload && payload.error) || (response.status + ' ' + response.statusText);
  }

  function getJSON(url) {
    return fetch(url, {
      headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (payload) {
        if (!response.ok) {
          var error = new Error(errorText(response, payload));
          error.status = response.status;
          throw error;
        }
        return payload;
      });
    });
  }

  function postJSON(url, payload) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': csrf
      },
      body: JSON.stringify(payload || {})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) throw new Error(errorText(response, data));
        return data;
      });
    });
  }

  var flashTimer = null;
  function flash(message, isError) {
    var box = $('#flash');
    if (!box) return;
    box.textContent = message;
    box.className = 'flash' + (isError ? ' error' : '');
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { box.hidden = true; }, isError ? 10000 : 4000);
  }

  // -- polling: one request at a time, paused on demand or when the tab is hidden ------

  var refreshers = [];
  var timer = null;
  var inFlight = false;
  var again = false;
  var paused = false;
  try { paused = window.localStorage.getItem(PAUSE_KEY) === '1'; } catch (e) { paused = false; }

  function setStatus(text, isError) {
    var node = $('#live-status');
    if (!node) return;
    node.textContent = text;
    node.className = 'live-status' + (isError ? ' error' : '');
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!paused && refreshers.length) timer = setTimeout(tick, pollMs);
  }

  function tick() {
    if (inFlight) { again = true; return; }
    if (document.hidden && !again) { schedule(); return; }
    inFlight = true;
    again = false;
    Promise.all(refreshers.map(function (refresh) { return refresh(); }))
      .then(function () {
        setStatus(paused ? 'paused' : 'updated ' + new Date().toLocaleTimeString(), false);
        body.dataset.updates = String((parseInt(body.dataset.updates, 10) || 0) + 1);
      })
      .catch(function (error) { setStatus('update failed: ' + error.message, true); })
      .then(function () {
        inFlight = false;
        if (again) tick(); else schedule();
      });
  }

  function refreshNow() { clearTimeout(timer); tick(); }

  function setupLiveToggle() {
    var button = $('#live-toggle');
    if (!button) return;
    var render = function () {
      button.textContent = paused ? 'Resume updates' : 'Pause updates';
      button.setAttribute('aria-pressed', paused ? 'true' : 'false');
      if (paused) setStatus('paused', false);
    };
    button.addEventListener('click', function () {
      paused = !paused;
      try { window.localStorage.setItem(PAUSE_KEY, paused ? '1' : '0'); } catch (e) { /* private mode */ }
      render();
      if (paused) { clearTimeout(timer); } else { refreshNow(); }
    });
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !paused) refreshNow();
    });
    render();
  }

  // -- actions -----------------------------------------------------------------------

  function selectedIds() {
    return $all('input[name="ids"]:checked').map(function (box) { return box.value; });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.classList.contains('js-action')) {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      var registry = form.querySelector('input[name="registry"]');
      var url = form.getAttribute('action');
      if (registry) url += (url.indexOf('?') < 0 ? '?' : '&') + 'registry=' + enc(registry.value);
      var button = form.querySelector('button');
      if (button) button.disabled = true;
      postJSON(url).then(function (result) {
        flash(result.message || 'done', false);
        if (form.dataset.after && form.dataset.action === 'delete') {
          window.location.assign(form.dataset.after);
          return;
        }
        refreshNow();
      }).catch(function (error) { flash(error.message, true); })
        .then(function () { if (button) button.disabled = false; });
    } else if (form.id === 'bulk-form') {
      event.preventDefault();
      var action = event.submitter ? event.submitter.value : '';
      var ids = selectedIds();
      if (!ids.length) { flash('Select some jobs first.', true); return; }
      if (action === 'delete' && !window.confirm('Delete ' + ids.length + ' selected job(s)?')) return;
      postJSON(form.getAttribute('action'), { action: action, ids: ids }).then(function (result) {
        var message = result.message || 'done';
        var errors = Object.keys(result.errors || {});
        if (errors.length) message += ' (' + errors[0] + ': ' + result.errors[errors[0]] + ')';
        flash(message, errors.length > 0);
        selected = {};
        var all = $('#select-all');
        if (all) all.checked = false;
        refreshNow();
      }).catch(function (error) { flash(error.message, true); });
    }
  });

  // -- the chart -----------------------------------------------------------------------

  function drawChart(container, points) {
    // Drawn at the container's own size so that labels keep their shape at any width.
    var W = Math.max(container.clientWidth - 16, 240), H = 164, left = 34, bottom = 18, top = 8;
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.processed, p.failed); });
    var plotH = H - top - bottom;
    var step = (W - left) / Math.max(points.length, 1);
    var bars = [];
    points.forEach(function (p, i) {
      var x = left + i * step;
      var hp = (p.processed / max) * plotH;
      var hf = (p.failed / max) * plotH;
      var label = p.minute.slice(11, 16) + ' UTC: ' + p.processed + ' processed, ' + p.failed + ' failed';
      bars.push(svg('g', {}, [
        svg('title', {}, [label]),
        svg('rect', { x: x + 1, y: top + plotH - hp, width: Math.max(step - 2, 1), height: hp, 'class': 'bar-processed' }),
        svg('rect', { x: x + 1, y: top + plotH - hf, width: Math.max(step - 2, 1), height: hf, 'class': 'bar-failed' })
      ]));
    });
    var n = points.length;
    var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, id: 'chart-svg', 'data-points': n }, [
      svg('line', { x1: left, y1: top + plotH, x2: W, y2: top + plotH, 'class': 'axis' }),
      svg('line', { x1: left, y1: top, x2: left, y2: top + plotH, 'class': 'axis' }),
      svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, [String(max)]),
      svg('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end' }, ['0']),
      svg('text', { x: left, y: H - 4 }, ['-' + n + ' min']),
      svg('text', { x: left + (W - left) / 2, y: H - 4, 'text-anchor': 'middle' }, ['-' + Math.round(n / 2) + ' min']),
      svg('text', { x: W, y: H - 4, 'text-anchor': 'end' }, ['now'])
    ].concat(bars));
    clear(container);
    container.appendChild(chart);
  }

  // -- pages ---------------------------------------------------------------------------

  function overviewPage() {
    var chart = $('#chart');
    refreshers.push(function () {
      return getJSON(apiUrl('queues')).then(function (data) {
        $('#workers-count').textContent = data.workers;
        $('#redis-version').textContent = data.redis.version || '';
        $('#redis-memory').textContent = (data.redis.used_memory_human || '') + ' used';
        var tbody = $('#queues-body');
        clear(tbody);
        if (!data.queues.length) tbody.appendChild(emptyRow(9, 'No queues yet: enqueue a job to see one here.'));
        data.queues.forEach(function (q) {
          var cells = [el('td', {}, [
            el('a', { href: queueUrl(q.name), text: q.name }),
            q.paused ? ' ' : null,
            q.paused ? el('span', { className: 'badge paused', text: 'paused' }) : null
          ])];
          REGISTRIES.forEach(function (r) {
            cells.push(el('td', { className: 'num' }, [el('a', {
              className: 'count count-' + r, 'data-registry': r, 'data-zero': q.counts[r] === 0,
              href: queueUrl(q.name, { registry: r }), text: q.counts[r]
            })]));
          });
          if (!readOnly) {
            cells.push(el('td', { className: 'actions' }, [
              actionForm(apiUrl('queues/' + enc(q.name) + '/requeue-failed'), 'Requeue failed',
                { confirm: 'Requeue every failed job of ' + q.name + '?' }),
              ' ',
              q.paused ? actionForm(apiUrl('queues/' + enc(q.name) + '/resume'), 'Resume')
                : actionForm(apiUrl('queues/' + enc(q.name) + '/pause'), 'Pause'),
              ' ',
              actionForm(apiUrl('queues/' + enc(q.name) + '/empty'), 'Empty',
                { confirm: 'Delete every queued job of ' + q.name + '?', danger: true })
            ]));
          }
          tbody.appendChild(el('tr', { 'data-queue': q.name }, cells));
        });
      });
    });
    refreshers.push(function () {
      return getJSON(apiUrl('stats?minutes=60')).then(function (data) {
        $('#processed-hour').textContent = data.processed;
        $('#failed-hour').textContent = data.failed;
        drawChart(chart, data.points);
      });
    });
  }

  var selected = {};

  function queuePage() {
    var name = body.dataset.queue;
    var registry = body.dataset.registry;
    var params = {
      registry: registry, page: body.dataset.listPage,
      per_page: body.dataset.perPage, order: body.dataset.order
    };
    var hasChecks = !!$('#select-all');
    var updateSelected = function () {
      var count = $('#selected-count');
      if (count) count.textContent = selectedIds().length + ' selected';
    };
    document.addEventListener('change', function (event) {
      var box = event.target;
      if (box.id === 'select-all') {
        $all('input[name="ids"]').forEach(function (b) {
          b.checked = box.checked;
          if (box.checked) selected[b.value] = true; else delete selected[b.value];
        });
      } else if (box.name === 'ids') {
        if (box.checked) selected[box.value] = true; else delete selected[box.value];
      }
      updateSelected();
    });
    refreshers.push(function () {
      return getJSON(apiUrl('queues')).then(function (data) {
        data.queues.forEach(function (q) {
          if (q.name !== name) return;
          $('#paused-badge').hidden = !q.paused;
          $all('.tab-count').forEach(function (node) {
            node.textContent = q.counts[node.dataset.registry];
          });
        });
      });
    });
    refreshers.push(function () {
      var query = Object.keys(params).map(function (k) { return k + '=' + enc(params[k]); }).join('&');
      return getJSON(apiUrl('queues/' + enc(name) + '/jobs?' + query)).then(function (data) {
        var tbody = $('#jobs-body');
        clear(tbody);
        if (!data.jobs.length) tbody.appendChild(emptyRow(9, 'No ' + registry + ' jobs.'));
        var present = {};
        data.jobs.forEach(function (j) {
          present[j.id] = true;
          var cells = [];
          if (hasChecks) {
            cells.push(el('td', { className: 'check' }, [el('input', {
              type: 'checkbox', name: 'ids', value: j.id, 'aria-label': 'Select ' + j.id,
              checked: !!selected[j.id]
            })]));
          }
          cells.push(
            el('td', { className: 'id' }, [el('a', { href: jobUrl(j.id), text: j.id })]),
            el('td', { className: 'call' }, [j.call !== null && j.call !== undefined ? el('code', { text: j.call }) : null, ' ', progressNode(j.progress)]),
            el('td', {}, [statusBadge(j.status)]),
            el('td', {}, [when(j.enqueued_at)]),
            el('td', {}, [when(j.started_at)]),
            el('td', {}, [when(j.ended_at)]),
            el('td', { className: 'num', text: duration(j.duration_s) }),
            el('td', { text: j.worker || '' })
          );
          tbody.appendChild(el('tr', { 'data-id': j.id }, cells));
        });
        Object.keys(selected).forEach(function (id) { if (!present[id]) delete selected[id]; });
        updateSelected();
        $('#pager-text').textContent = 'Page ' + data.page + ' of ' + data.pages + ' (' + data.total + ' jobs)';
      });
    });
  }

  function jobPage() {
    var id = body.dataset.jobId;
    refreshers.push(function () {
      return getJSON(apiUrl('jobs/' + enc(id))).then(function (job) {
        var set = function (field, node) {
          var target = $('[data-field="' + field + '"]');
          if (!target) return;
          clear(target);
          if (typeof node === 'string') target.textContent = node; else if (node) target.appendChild(node);
        };
        set('status', statusBadge(job.status));
        set('progress', progressNode(job.progress) || '–');
        set('enqueued_at', when(job.enqueued_at));
        set('started_at', when(job.started_at));
        set('ended_at', when(job.ended_at));
        set('duration_s', duration(job.duration_s));
        set('worker', job.worker || '–');
        set('retries_left', job.retries_left === null ? '–' : String(job.retries_left));
        set('orphaned_count', String(job.orphaned_count));
        set('attempts', String(job.attempts));
        set('result', job.result || '');
        set('exc_info', job.exc_info || '');
        set('exception_type', job.exception_type || '');
        $('[data-section="result"]').hidden = job.result === null;
        $('[data-section="exc_info"]').hidden = !job.exc_info;
        $all('form[data-when]').forEach(function (form) {
          form.hidden = form.dataset.when.split(' ').indexOf(job.status) < 0;
        });
      }).catch(function (error) {
        if (error.status === 404) {
          set404();
          return;
        }
        throw error;
      });
    });
    function set404() {
      var target = $('[data-field="status"]');
      clear(target);
      target.appendChild(statusBadge('gone'));
      $all('form[data-when]').forEach(function (form) { form.hidden = true; });
    }
  }

  function workersPage() {
    refreshers.push(function () {
      return getJSON(apiUrl('workers')).then(function (data) {
        $('#workers-total').textContent = data.workers.length;
        var tbody = $('#workers-body');
        clear(tbody);
        if (!data.workers.length) tbody.appendChild(emptyRow(11, 'No live workers. Start one with minirq worker.'));
        data.workers.forEach(function (w) {
          var queues = [];
          w.queues.forEach(function (q, i) {
            if (i) queues.push(', ');
            queues.push(el('a', { href: queueUrl(q), text: q }));
          });
          var job = w.current_job;
          tbody.appendChild(el('tr', {}, [
            el('td', { text: w.name }), el('td', { text: w.hostname }),
            el('td', { className: 'num', text: w.pid }),
            el('td', {}, [el('span', { className: 'status status-' + w.state, text: w.state })]),
            el('td', {}, queues),
            el('td', {}, job ? [el('a', { href: jobUrl(job.id), text: job.id }), ' ', job.call ? el('code', { text: job.call }) : null] : []),
            el('td', { className: 'num', text: duration(job ? job.running_s : null) }),
            el('td', { className: 'num', text: duration(w.heartbeat_age_s) + ' ago' }),
            el('td', { className: 'num', text: w.successful_job_count }),
            el('td', { className: 'num', text: w.failed_job_count }),
            el('td', { className: 'num', text: duration(w.total_working_time_s) })
          ]));
        });
      });
    });
  }

  function failedPage() {
    refreshers.push(function () {
      return getJSON(apiUrl('failed')).then(function (data) {
        $('#failed-total').textContent = data.total;
        var queues = $('#failed-queues-body');
        clear(queues);
        if (!data.queues.length) queues.appendChild(emptyRow(3, 'No failed jobs.'));
        data.queues.forEach(function (q) {
          queues.appendChild(el('tr', {}, [
            el('td', {}, [el('a', { href: queueUrl(q.name, { registry: 'failed' }), text: q.name })]),
            el('td', { className: 'num', text: q.failed }),
            readOnly ? null : el('td', { className: 'actions' }, [
              actionForm(apiUrl('queues/' + enc(q.name) + '/requeue-failed'), 'Requeue all',
                { confirm: 'Requeue every failed job of ' + q.name + '?' }),
              ' ',
              actionForm(apiUrl('queues/' + enc(q.name) + '/empty'), 'Delete all',
                { confirm: 'Delete every failed job of ' + q.name + '?', danger: true, registry: 'failed' })
            ])
          ]));
        });
        var groups = $('#failed-groups-body');
        clear(groups);
        if (!data.groups.length) groups.appendChild(emptyRow(4, 'No failed jobs.'));
        data.groups.forEach(function (g) {
          var qs = [], ids = [];
          Object.keys(g.queues).forEach(function (q, i) {
            if (i) qs.push(', ');
            qs.push(el('a', { href: queueUrl(q, { registry: 'failed' }), text: q }), ' (' + g.queues[q] + ')');
          });
          g.ids.forEach(function (id, i) {
            if (i) ids.push(', ');
            ids.push(el('a', { href: jobUrl(id), text: id }));
          });
          groups.appendChild(el('tr', {}, [
            el('td', {}, [el('code', { text: g.exception })]),
            el('td', { className: 'num', text: g.count }),
            el('td', {}, qs), el('td', {}, ids)
          ]));
        });
      });
    });
  }

  function scheduledPage() {
    refreshers.push(function () {
      return getJSON(apiUrl('scheduled')).then(function (data) {
        $('#scheduled-total').textContent = data.total;
        var tbody = $('#scheduled-body');
        clear(tbody);
        if (!data.jobs.length) tbody.appendChild(emptyRow(6, 'No scheduled jobs.'));
        data.jobs.forEach(function (j) {
          tbody.appendChild(el('tr', {}, [
            el('td', { className: 'id' }, [el('a', { href: jobUrl(j.id), text: j.id })]),
            el('td', { className: 'call' }, [j.call ? el('code', { text: j.call }) : null]),
            el('td', {}, [el('a', { href: queueUrl(j.origin, { registry: 'scheduled' }), text: j.origin })]),
            el('td', {}, [when(j.due_at)]),
            el('td', { className: 'num', text: duration(j.due_in_s, true) }),
            readOnly ? null : el('td', { className: 'actions' }, [
              actionForm(apiUrl('jobs/' + enc(j.id) + '/enqueue-now'), 'Enqueue now'),
              ' ',
              actionForm(apiUrl('jobs/' + enc(j.id) + '/cancel'), 'Cancel',
                { confirm: 'Cancel job ' + j.id + '?', danger: true })
            ])
          ]));
        });
        var cron = $('#cron-body');
        clear(cron);
        if (!data.cron.length) cron.appendChild(emptyRow(9, 'No cron entries.'));
        data.cron.forEach(function (c) {
          cron.appendChild(el('tr', {}, [
            el('td', { text: c.name }), el('td', {}, [el('code', { text: c.schedule })]),
            el('td', { text: c.timezone }), el('td', {}, [el('code', { text: c.func_name })]),
            el('td', { text: c.queue }),
            el('td', {}, [when(c.next_run)]),
            el('td', { className: 'num', text: duration(c.next_in_s, true) }),
            el('td', {}, [when(c.last_run)]),
            el('td', {}, [c.last_job_id ? el('a', { href: jobUrl(c.last_job_id), text: c.last_job_id })
              : el('span', { className: 'muted', text: 'never run' })])
          ]));
        });
      });
    });
  }

  var pages = {
    overview: overviewPage, queue: queuePage, job: jobPage,
    workers: workersPage, failed: failedPage, scheduled: scheduledPage
  };

  setupLiveToggle();
  var setup = pages[body.dataset.page];
  if (setup) {
    setup();
    tick();
  }
}());
