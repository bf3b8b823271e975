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
  var ZONE_KEY = 'minirq.dashboard.zone';
  // Requests go to absolute URLs built from location.origin: a page opened at
  // user:password@host/ in the address bar gives a base URL with credentials, and fetch() refuses any
  // URL resolved against it. The origin never holds credentials.
  var origin = window.location.origin;
  var zone = 'utc';
  try { zone = window.localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc'; } catch (e) { zone = 'utc'; }

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
  function absolute(url) { return url.charAt(0) === '/' ? origin + url : url; }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function zoneName() {
    if (zone === 'utc') return 'UTC';
    var offset = -new Date().getTimezoneOffset();
    var name = '';
    try { name = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { name = ''; }
    var sign = offset >= 0 ? '+' : '-';
    var abs = Math.abs(offset);
    var utcOffset = 'UTC' + sign + pad2(Math.floor(abs / 60)) + ':' + pad2(abs % 60);
    return name ? name + ' (' + utcOffset + ')' : utcOffset;
  }
  // "2026-12-01 09:00:05.120 UTC", or the same moment in the browser's zone.
  function timeText(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    if (zone === 'utc') return iso.replace('T', ' ').replace('Z', '') + ' UTC';
    var ms = String(date.getMilliseconds());
    while (ms.length < 3) ms = '0' + ms;
    return date.getFullYear() + '-' + pad2(date.getMonth() + 1) + '-' + pad2(date.getDate()) +
      ' ' + pad2(date.getHours()) + ':' + pad2(date.getMinutes()) + ':' + pad2(date.getSeconds()) +
      '.' + ms + ' ' + zoneName();
  }
  function clockText(iso) {
    var date = new Date(iso);
    if (zone === 'utc') return iso.slice(11, 16) + ' UTC';
    return pad2(date.getHours()) + ':' + pad2(date.getMinutes());
  }
  function localizeTimes(scope) {
    $all('time[datetime]', scope).forEach(function (node) {
      node.textContent = timeText(node.getAttribute('datetime'));
    });
  }

  function when(iso) {
    if (!iso) return el('span', { className: 'muted', text: '–' });
    return el('time', { datetime: iso, title: iso, text: timeText(iso) });
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

  function statusNode(value, retrying) {
    var badge = statusBadge(value);
    if (!retrying) return badge;
    return el('span', {}, [badge, ' ', el('span', { className: 'status status-retrying', text: 'retrying' })]);
  }

  function progressNode(p) {
    if (!p) return null;
    return el('span', { className: 'progress' + (p.stale ? ' stale' : '') }, [
      el('progress', { max: 100, value: p.percent }),
      ' ' + Math.round(p.percent) + '%',
      p.stale ? ' ' : null,
      p.stale ? el('span', { className: 'muted', text: '(last reported; not running)' }) : null,
      p.message ? ' ' : null,
      p.message ? el('span', { className: 'muted', text: p.message }) : null
    ]);
  }

  function errorNode(e) {
    if (!e) return null;
    return el('span', { className: 'error' }, [
      el('code', { className: 'error-type', text: e.type }),
      e.message ? ' ' : null,
      e.message ? el('span', { className: 'error-text', text: e.message }) : null
    ]);
  }

  function problemsNode(list) {
    if (!list || !list.length) return null;
    var text = 'broken: ' + list.join('; ');
    return el('span', { className: 'broken', title: list.join('; '), text: text });
  }

  function jobLink(j) {
    if (j.bad_id) return el('span', { className: 'broken', text: j.id });
    return el('a', { href: jobUrl(j.id), text: j.id });
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
    return fetch(absolute(url), {
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
    return fetch(absolute(url), {
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

  // -- time zone switch ---------------------------------------------------------------

  var zoneListeners = [];
  function setupZoneToggle() {
    var button = $('#tz-toggle');
    if (!button) return;
    var render = function () {
      button.textContent = 'Times: ' + (zone === 'utc' ? 'UTC' : 'local');
      button.setAttribute('aria-pressed', zone === 'local' ? 'true' : 'false');
      button.title = 'Times are shown in ' + zoneName() + '; click to switch to ' +
        (zone === 'utc' ? "this browser's time zone" : 'UTC');
      body.dataset.zone = zone;
      localizeTimes(document);
      zoneListeners.forEach(function (listener) { listener(); });
    };
    button.addEventListener('click', function () {
      zone = zone === 'utc' ? 'local' : 'utc';
      try { window.localStorage.setItem(ZONE_KEY, zone); } catch (e) { /* private mode */ }
      render();
    });
    render();
  }

  // -- the chart -----------------------------------------------------------------------

  var WINDOW_TITLES = {
    hour: 'Jobs per minute, last hour',
    day: 'Jobs per 10 minutes, last day',
    week: 'Jobs per hour, last week'
  };

  function drawChart(container, points, window_) {
    // Drawn at the container's own size so that labels keep their shape at any width.
    var W = Math.max(container.clientWidth - 16, 200), H = 164, left = 34, bottom = 18, top = 8;
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.processed, p.failed); });
    var plotH = H - top - bottom;
    var step = (W - left) / Math.max(points.length, 1);
    var bars = [];
    points.forEach(function (p, i) {
      var x = left + i * step;
      var hp = (p.processed / max) * plotH;
      var hf = (p.failed / max) * plotH;
      var label = timeText(p.start) + ': ' + p.processed + ' processed, ' + p.failed + ' failed';
      bars.push(svg('g', {}, [
        svg('title', {}, [label]),
        svg('rect', { x: x + 0.5, y: top + plotH - hp, width: Math.max(step - 1, 0.5), height: hp, 'class': 'bar-processed' }),
        svg('rect', { x: x + 0.5, y: top + plotH - hf, width: Math.max(step - 1, 0.5), height: hf, 'class': 'bar-failed' })
      ]));
    });
    var n = points.length;
    var first = n ? clockText(points[0].start) : '';
    var middle = n ? clockText(points[Math.floor(n / 2)].start) : '';
    if (window_ !== 'hour' && n) {
      first = timeText(points[0].start).slice(5, 16);
      middle = timeText(points[Math.floor(n / 2)].start).slice(5, 16);
    }
    var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, id: 'chart-svg', 'data-points': n, 'data-window': window_ }, [
      svg('line', { x1: left, y1: top + plotH, x2: W, y2: top + plotH, 'class': 'axis' }),
      svg('line', { x1: left, y1: top, x2: left, y2: top + plotH, 'class': 'axis' }),
      svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, [String(max)]),
      svg('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end' }, ['0']),
      svg('text', { x: left, y: H - 4 }, [first]),
      svg('text', { x: left + (W - left) / 2, y: H - 4, 'text-anchor': 'middle' }, [middle]),
      svg('text', { x: W, y: H - 4, 'text-anchor': 'end' }, ['now'])
    ].concat(bars));
    clear(container);
    container.appendChild(chart);
  }

  // -- pages ---------------------------------------------------------------------------

  function queueRow(q) {
    var cells = [el('td', { className: 'queue-name' }, [
      el('a', { href: queueUrl(q.name), text: q.name }),
      q.paused ? ' ' : null,
      q.paused ? el('span', { className: 'badge paused', text: 'paused' }) : null,
      q.no_worker ? ' ' : null,
      q.no_worker ? el('span', {
        className: 'badge no-worker', title: 'No live worker listens to this queue',
        text: q.counts.queued + ' waiting, no worker'
      }) : null,
      q.problems && q.problems.length ? ' ' : null,
      problemsNode(q.problems)
    ])];
    REGISTRIES.forEach(function (r) {
      var count = q.counts[r];
      cells.push(el('td', { className: 'num' }, [el('a', {
        className: 'count count-' + r, 'data-registry': r, 'data-zero': count === 0,
        href: queueUrl(q.name, { registry: r }), text: count === null ? '?' : count
      })]));
    });
    cells.push(el('td', { className: 'num latency', text: duration(q.latency_s) }));
    if (!readOnly) {
      var base = 'queues/' + enc(q.name);
      cells.push(el('td', { className: 'actions' }, [
        actionForm(apiUrl(base + '/requeue-failed'), 'Requeue failed',
          { confirm: 'Requeue every failed job of ' + q.name + '?' }),
        ' ',
        q.paused ? actionForm(apiUrl(base + '/resume'), 'Resume')
          : actionForm(apiUrl(base + '/pause'), 'Pause'),
        ' ',
        actionForm(apiUrl(base + '/empty'), 'Empty',
          { confirm: 'Delete every queued job of ' + q.name + '?', danger: true })
      ]));
    }
    return el('tr', { 'data-queue': q.name }, cells);
  }

  function limitRow(l) {
    var waiting = [String(l.waiting) + (l.waiting_more ? '+' : '')];
    l.waiting_ids.forEach(function (id) {
      waiting.push(' ', el('a', { className: 'waiting-job', href: jobUrl(id), text: id }));
    });
    return el('tr', { 'data-limit': l.key }, [
      el('td', { className: 'limit-key', text: l.key }),
      el('td', { className: 'num limit-running' }, [l.concurrency
        ? String(l.running) + ' / ' + l.concurrency
        : el('span', { className: 'muted', text: l.running + ' (no concurrency)' })]),
      el('td', { className: 'num limit-starts' }, [l.rate
        ? String(l.starts_in_window) + ' / ' + l.rate
        : el('span', { className: 'muted', text: 'no rate' })]),
      el('td', { className: 'num limit-waiting' }, waiting),
      el('td', { className: 'limit-queues', text: l.queues.join(', ') })
    ]);
  }

  function overviewPage() {
    var chart = $('#chart');
    var chartWindow = 'hour';
    var lastPoints = null;
    $all('.window-button').forEach(function (button) {
      button.addEventListener('click', function () {
        chartWindow = button.dataset.window;
        $all('.window-button').forEach(function (b) {
          var on = b === button;
          b.classList.toggle('current', on);
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
        $('#chart-title').textContent = WINDOW_TITLES[chartWindow];
        refreshNow();
      });
    });
    zoneListeners.push(function () {
      $('#chart-zone').textContent = '(times in ' + zoneName() + ')';
      if (lastPoints) drawChart(chart, lastPoints, chartWindow);
    });
    refreshers.push(function () {
      return getJSON(apiUrl('queues')).then(function (data) {
        $('#workers-count').textContent = data.workers;
        var redis = data.redis;
        $('#redis-version').textContent = redis.unavailable ? 'unavailable' : (redis.version || '');
        $('#redis-memory').textContent = redis.unavailable ? redis.unavailable
          : (redis.used_memory_human || '') + ' used';
        var s = data.scheduler;
        var holder = $('#scheduler-holder');
        clear(holder);
        holder.appendChild(s.active ? document.createTextNode(s.holder)
          : el('span', { className: 'warn-text', text: 'none active' }));
        $('#scheduler-pass').textContent = s.last_pass ? 'last pass ' + duration(s.last_pass_age_s) + ' ago' : 'no pass recorded';
        var tbody = $('#queues-body');
        clear(tbody);
        if (!data.queues.length && !data.broken_queues.length) tbody.appendChild(emptyRow(10, 'No queues yet: enqueue a job to see one here.'));
        data.queues.forEach(function (q) { tbody.appendChild(queueRow(q)); });
        data.broken_queues.forEach(function (b) {
          tbody.appendChild(el('tr', { className: 'broken-row' }, [el('td', { colspan: 10 }, [
            el('span', { className: 'broken', text: 'broken queue name: ' + b })
          ])]));
        });
      });
    });
    refreshers.push(function () {
      return getJSON(apiUrl('limits')).then(function (data) {
        var tbody = $('#limits-body');
        if (!tbody) return;
        clear(tbody);
        if (!data.limits.length && !data.problems.length) {
          tbody.appendChild(emptyRow(5, 'No limits yet: enqueue a job with limit=Limit(...) to see one here.'));
        }
        data.limits.forEach(function (l) { tbody.appendChild(limitRow(l)); });
        data.problems.forEach(function (p) {
          tbody.appendChild(el('tr', { className: 'broken-row' }, [el('td', { colspan: 5 }, [
            el('span', { className: 'broken', text: p })
          ])]));
        });
      });
    });
    refreshers.push(function () {
      return getJSON(apiUrl('history?window=' + chartWindow)).then(function (data) {
        if (data.window === 'hour') {
          $('#processed-hour').textContent = data.processed;
          $('#failed-hour').textContent = data.failed;
        }
        lastPoints = data.points;
        drawChart(chart, data.points, data.window);
      });
    });
  }

  var selected = {};

  function jobRow(j, hasChecks, showError) {
    var cells = [];
    if (hasChecks) {
      cells.push(el('td', { className: 'check' }, [j.bad_id ? null : el('input', {
        type: 'checkbox', name: 'ids', value: j.id, 'aria-label': 'Select ' + j.id,
        checked: !!selected[j.id]
      })]));
    }
    cells.push(
      el('td', { className: 'id' }, [jobLink(j)]),
      el('td', { className: 'call' }, [
        j.call !== null && j.call !== undefined ? el('code', { text: j.call }) : null, ' ',
        progressNode(j.progress), ' ', problemsNode(j.problems)
      ]),
      el('td', {}, [statusNode(j.status, j.retrying)])
    );
    if (showError) cells.push(el('td', { className: 'error-cell' }, [errorNode(j.error)]));
    cells.push(
      el('td', {}, [when(j.enqueued_at)]),
      el('td', {}, [when(j.started_at)]),
      el('td', {}, [when(j.ended_at)]),
      el('td', { className: 'num', text: duration(j.duration_s) }),
      el('td', { className: 'worker', text: j.worker || '' })
    );
    return el('tr', { 'data-id': j.id, className: j.problems && j.problems.length ? 'broken-row' : null }, cells);
  }

  function queuePage() {
    var name = body.dataset.queue;
    var registry = body.dataset.registry;
    var params = {
      registry: registry, page: body.dataset.listPage,
      per_page: body.dataset.perPage, order: body.dataset.order
    };
    if (body.dataset.func) params.func = body.dataset.func;
    if (body.dataset.status) params.status = body.dataset.status;
    var hasChecks = !!$('#select-all');
    var table = $('table.jobs');
    var showError = table && table.dataset.showError === '1';
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
            var count = q.counts[node.dataset.registry];
            node.textContent = count === null ? '?' : count;
          });
        });
      });
    });
    refreshers.push(function () {
      var query = Object.keys(params).map(function (k) { return k + '=' + enc(params[k]); }).join('&');
      return getJSON(apiUrl('queues/' + enc(name) + '/jobs?' + query)).then(function (data) {
        var tbody = $('#jobs-body');
        clear(tbody);
        var filtered = params.func || params.status;
        if (!data.jobs.length) tbody.appendChild(emptyRow(10, 'No ' + registry + ' jobs' + (filtered ? ' match the filter.' : '.')));
        var present = {};
        data.jobs.forEach(function (j) {
          present[j.id] = true;
          tbody.appendChild(jobRow(j, hasChecks, showError));
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
        set('status', statusNode(job.status, job.retrying));
        set('progress', progressNode(job.progress) || '–');
        set('error', errorNode(job.error) || '–');
        set('enqueued_at', when(job.enqueued_at));
        set('started_at', when(job.started_at));
        set('ended_at', when(job.ended_at));
        set('duration_s', duration(job.duration_s));
        set('worker', job.worker || '–');
        set('retries_left', job.retries_left === null ? '–' : String(job.retries_left));
        set('orphaned_count', job.orphaned_count === null ? '–' : String(job.orphaned_count));
        set('attempts', job.attempts === null ? '–' : String(job.attempts));
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

  function workerRow(w) {
    var queues = [];
    w.queues.forEach(function (q, i) {
      if (i) queues.push(', ');
      queues.push(el('a', { href: queueUrl(q), text: q }));
    });
    var job = w.current_job;
    var cells = [
      el('td', { className: 'worker-name' }, [w.name, ' ', problemsNode(w.problems)]),
      el('td', { text: w.hostname }),
      el('td', { className: 'num', text: w.pid === null ? '–' : w.pid }),
      el('td', {}, [el('span', { className: 'status status-' + w.state, text: w.state })]),
      el('td', {}, queues),
      el('td', {}, job ? [el('a', { href: jobUrl(job.id), text: job.id }), ' ', job.call ? el('code', { text: job.call }) : null] : []),
      el('td', { className: 'num', text: duration(job ? job.running_s : null) }),
      el('td', { className: 'num', text: duration(w.uptime_s) }),
      el('td', { className: 'num', text: duration(w.heartbeat_age_s) + ' ago' }),
      el('td', { className: 'num', text: w.successful_job_count }),
      el('td', { className: 'num', text: w.failed_job_count }),
      el('td', { className: 'num', text: duration(w.total_working_time_s) })
    ];
    if (!readOnly) {
      cells.push(el('td', { className: 'actions' }, [
        job ? actionForm(apiUrl('jobs/' + enc(job.id) + '/stop'), 'Stop job', {
          confirm: 'Stop job ' + job.id + '? Its worker kills it and records it as stopped.', danger: true
        }) : null,
        job ? ' ' : null,
        actionForm(apiUrl('workers/' + enc(w.name) + '/shutdown'), 'Shut down', {
          confirm: 'Shut down worker ' + w.name + '? It finishes its current job, then exits.', danger: true
        })
      ]));
    }
    return el('tr', { className: w.problems && w.problems.length ? 'broken-row' : null }, cells);
  }

  function schedulerLine(s) {
    var line = $('#scheduler-status');
    if (!line) return;
    clear(line);
    line.appendChild(document.createTextNode('Scheduler: '));
    if (s.active) {
      line.appendChild(el('strong', { text: s.holder }));
      line.appendChild(document.createTextNode(' is active'));
    } else {
      line.appendChild(el('span', { className: 'warn-text', text: 'no scheduler is active' }));
      line.appendChild(document.createTextNode(' (scheduled jobs and retries wait)'));
    }
    if (s.last_pass) {
      line.appendChild(document.createTextNode('; last pass ' + duration(s.last_pass_age_s) + ' ago by ' + s.last_pass_by));
    }
    line.appendChild(document.createTextNode('.'));
  }

  function workersPage() {
    refreshers.push(function () {
      return getJSON(apiUrl('workers')).then(function (data) {
        $('#workers-total').textContent = data.workers.length;
        schedulerLine(data.scheduler);
        var tbody = $('#workers-body');
        clear(tbody);
        if (!data.workers.length) tbody.appendChild(emptyRow(13, 'No live workers. Start one with minirq worker.'));
        data.workers.forEach(function (w) { tbody.appendChild(workerRow(w)); });
      });
    });
  }

  function failedPage() {
    var func = body.dataset.func || '';
    refreshers.push(function () {
      return getJSON(apiUrl('failed' + (func ? '?func=' + enc(func) : ''))).then(function (data) {
        $('#failed-total').textContent = data.total;
        var recent = $('#recent-failures-body');
        clear(recent);
        if (!data.recent.length) recent.appendChild(emptyRow(5, 'No failed jobs.'));
        data.recent.forEach(function (j) {
          recent.appendChild(el('tr', { className: j.problems && j.problems.length ? 'broken-row' : null }, [
            el('td', { className: 'id' }, [jobLink(j)]),
            el('td', { className: 'call' }, [el('code', { text: j.func || '' }), ' ', problemsNode(j.problems)]),
            el('td', { className: 'error-cell' }, [errorNode(j.error)]),
            el('td', {}, [el('a', { href: queueUrl(j.origin, { registry: 'failed' }), text: j.origin })]),
            el('td', {}, [when(j.ended_at)])
          ]));
        });
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
            el('td', {}, qs), el('td', { className: 'id' }, ids)
          ]));
        });
      });
    });
  }

  function scheduledRow(j, retry) {
    var cells = [
      el('td', { className: 'id' }, [jobLink(j)]),
      el('td', { className: 'call' }, [j.call ? el('code', { text: j.call }) : null, ' ', problemsNode(j.problems)])
    ];
    if (retry) cells.push(el('td', { className: 'error-cell' }, [errorNode(j.error)]));
    cells.push(
      el('td', {}, [el('a', { href: queueUrl(j.origin, { registry: 'scheduled' }), text: j.origin })]),
      el('td', {}, [when(j.due_at)]),
      el('td', { className: 'num', text: duration(j.due_in_s, true) })
    );
    if (!readOnly) {
      cells.push(el('td', { className: 'actions' }, [
        actionForm(apiUrl('jobs/' + enc(j.id) + '/enqueue-now'), retry ? 'Retry now' : 'Enqueue now'),
        ' ',
        actionForm(apiUrl('jobs/' + enc(j.id) + '/cancel'), 'Cancel',
          { confirm: 'Cancel job ' + j.id + '?', danger: true })
      ]));
    }
    return el('tr', {}, cells);
  }

  function cronRow(c) {
    if (c.problem) {
      return el('tr', { className: 'broken-row' }, [
        el('td', { text: c.name }),
        el('td', { colspan: 8 }, [el('span', { className: 'broken', text: 'broken entry: ' + c.problem })])
      ]);
    }
    return el('tr', {}, [
      el('td', { text: c.name }), el('td', {}, [el('code', { text: c.schedule })]),
      el('td', { text: c.timezone }), el('td', {}, [el('code', { text: c.func_name })]),
      el('td', { text: c.queue }),
      el('td', {}, [when(c.next_run)]),
      el('td', { className: 'num', text: duration(c.next_in_s, true) }),
      el('td', {}, [when(c.last_run)]),
      el('td', {}, [c.last_job_id ? el('a', { href: jobUrl(c.last_job_id), text: c.last_job_id })
        : el('span', { className: 'muted', text: 'never run' })])
    ]);
  }

  function scheduledPage() {
    refreshers.push(function () {
      return getJSON(apiUrl('scheduled')).then(function (data) {
        $('#scheduled-total').textContent = data.total;
        $('#retrying-count').textContent = data.retrying.length;
        var retrying = $('#retrying-body');
        clear(retrying);
        if (!data.retrying.length) retrying.appendChild(emptyRow(7, 'No job is waiting to retry.'));
        data.retrying.forEach(function (j) { retrying.appendChild(scheduledRow(j, true)); });
        var tbody = $('#scheduled-body');
        clear(tbody);
        if (!data.jobs.length) tbody.appendChild(emptyRow(6, 'No scheduled jobs.'));
        data.jobs.forEach(function (j) { tbody.appendChild(scheduledRow(j, false)); });
        var cron = $('#cron-body');
        clear(cron);
        if (!data.cron.length) cron.appendChild(emptyRow(9, 'No cron entries.'));
        data.cron.forEach(function (c) { cron.appendChild(cronRow(c)); });
      });
    });
  }

  function functionsPage() {
    var query = 'window=' + enc(body.dataset.window || 'hour');
    if (body.dataset.func) query += '&func=' + enc(body.dataset.func);
    refreshers.push(function () {
      return getJSON(apiUrl('functions?' + query)).then(function (data) {
        var tbody = $('#functions-body');
        clear(tbody);
        if (!data.functions.length) tbody.appendChild(emptyRow(7, 'No job ended in the last ' + data.window + '.'));
        data.functions.forEach(function (f) {
          tbody.appendChild(el('tr', { 'data-func': f.func }, [
            el('td', { className: 'func' }, [el('code', { text: f.func })]),
            el('td', { className: 'num', text: f.run }),
            el('td', { className: 'num' + (f.failed ? ' failed-count' : ''), text: f.failed }),
            el('td', { className: 'num', text: f.run ? (100 * f.failed / f.run).toFixed(1) : '–' }),
            el('td', { className: 'num', text: duration(f.mean_s) }),
            el('td', { className: 'num', text: duration(f.p50_s) }),
            el('td', { className: 'num', text: duration(f.p95_s) })
          ]));
        });
      });
    });
  }

  var pages = {
    overview: overviewPage, queue: queuePage, job: jobPage, workers: workersPage,
    failed: failedPage, scheduled: scheduledPage, functions: functionsPage
  };

  setupLiveToggle();
  var setup = pages[body.dataset.page];
  if (setup) setup();
  setupZoneToggle();
  if (setup) tick();
}());
