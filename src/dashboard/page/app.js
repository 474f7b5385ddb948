/* switchyard dashboard: the page's script. Plain browser JavaScript, no build step.
 *
 * Data: GET ./api/snapshot once, then ./api/events (server-sent events: `snapshot` every
 * second, `state` per change). Every URL is relative, so the page works under any mount
 * point (/, /lb/, …). Everything it shows comes from the server and is untrusted (endpoint
 * ids come from configuration): it is written with textContent and DOM APIs only. */
/* global uPlot */
(() => {
  /** Seconds of history kept for the charts: a ring of the last five minutes. */
  const HISTORY_S = 300;
  /** The charts show at least this many seconds. */
  const MIN_WINDOW_S = 60;
  /** Entries kept in "What changed". */
  const MAX_EVENTS = 200;
  /** A snapshot older than this marks the connection stale. */
  const STALE_MS = 3_500;
  /** Retries within this many ms of the last retry entry are counted into it. */
  const RETRY_MERGE_MS = 5_000;
  const TOKEN_KEY = 'switchyard.adminToken';
  /** Chart height in px; a lone pool's charts grow into the free height of the window. */
  const CHART_HEIGHT = 180;
  const MAX_CHART_HEIGHT = 340;
  const SERIES_COLOURS = 8;
  const KNOWN_STATES = new Set(['healthy', 'unhealthy', 'ejected', 'draining', 'disabled']);

  const byId = (id) => document.getElementById(id);
  const ui = {
    connection: byId('connection'),
    connectionText: byId('connection-text'),
    updated: byId('updated'),
    pools: byId('pools'),
    empty: byId('empty'),
    notice: byId('notice'),
    adminOpen: byId('admin-open'),
    adminForm: byId('admin-form'),
    adminToken: byId('admin-token'),
    adminCancel: byId('admin-cancel'),
    adminOn: byId('admin-on'),
    adminLock: byId('admin-lock'),
  };

  /** @type {Map<string, PoolView>} */
  const views = new Map();
  let palette = readPalette();
  let token = readToken();

  // ---- small helpers ----

  function h(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  const finite = (v) => typeof v === 'number' && Number.isFinite(v);

  function fixed(v, digits) {
    return v.toLocaleString('en', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }

  function formatRate(v) {
    if (!finite(v)) return '–';
    return v >= 100 ? fixed(v, 0) : fixed(v, 1);
  }

  function formatMs(v) {
    if (!finite(v)) return '–';
    if (v >= 100) return `${fixed(v, 0)} ms`;
    return `${fixed(v, 1)} ms`;
  }

  function formatPercent(fraction) {
    if (!finite(fraction)) return '–';
    const p = fraction * 100;
    if (p > 0 && p < 0.1) return '<0.1 %';
    return `${fixed(p, p >= 10 || p === 0 ? 0 : 1)} %`;
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
  }

  /** 17:05 on a whole minute, 17:05:30 otherwise. */
  function tickTime(seconds) {
    const text = clock(seconds * 1000);
    return text.endsWith(':00') ? text.slice(0, 5) : text;
  }

  function readPalette() {
    const style = getComputedStyle(document.documentElement);
    const get = (name) => style.getPropertyValue(name).trim();
    const series = [];
    for (let i = 0; i < SERIES_COLOURS; i++) series.push(get(`--series-${i}`) || '#888');
    const states = {};
    for (const s of KNOWN_STATES) states[s] = get(`--${s}`) || '#888';
    return { series, states, axis: get('--muted'), grid: get('--grid'), panel: get('--panel') };
  }

  function readToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return '';
    }
  }

  function saveToken(value) {
    token = value;
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage refused (private mode): the token lives in memory only
    }
  }

  function stateBadge(state) {
    const known = KNOWN_STATES.has(state);
    const badge = h('span', `state state-${known ? state : 'gone'}`, state ?? 'gone');
    return badge;
  }

  /** What a change's reason means, in words. */
  function explain(reason, to) {
    switch (reason) {
      case 'health-check':
        return to === 'healthy' ? 'passed its health checks' : 'failed its health checks';
      case 'consecutive-failures':
        return 'ejected after failures in a row';
      case 'latency':
        return 'ejected as a latency outlier';
      case 'ejection-expired':
        return 'ejection time over';
      case 'retry-after':
        return 'asked to back off (Retry-After)';
      case 'drain':
        return 'drained';
      case 'disable':
        return 'disabled by an operator';
      case 'enable':
        return 'enabled by an operator';
      case 'admin':
        return 'by an operator';
      case 'added':
        return 'joined the pool';
      case 'removed':
        return 'left the pool';
      default:
        return '';
    }
  }

  /**
   * The health-check facts an endpoint's snapshot carries, if any: a monitor's status
   * (`{ healthy, last: { ok, durationMs, ageMs, error } | null, passed, failed }`).
   */
  function healthStatus(ep) {
    const status = ep.health ?? ep.check ?? ep.healthCheck;
    return status && typeof status === 'object' ? status : null;
  }

  function checkText(status) {
    if (!status) return { text: '–', className: '', title: 'no health checks for this pool' };
    const last = 'last' in status ? status.last : status;
    if (!last || typeof last !== 'object') {
      return { text: 'pending', className: '', title: 'not checked yet' };
    }
    const took = finite(last.durationMs) ? ` ${formatMs(last.durationMs)}` : '';
    const ago = finite(last.ageMs) ? `, ${fixed(last.ageMs / 1000, 0)} s ago` : '';
    const counts =
      finite(status.passed) && finite(status.failed)
        ? `; ${status.passed} passed, ${status.failed} failed in all`
        : '';
    if (last.ok === true) {
      return { text: `ok${took}`, className: '', title: `passed${took}${ago}${counts}` };
    }
    if (last.ok === false) {
      const why = last.error == null ? '' : `: ${String(last.error)}`;
      return {
        text: `failed${why}`,
        className: 'bad',
        title: `failed${took}${ago}${why}${counts}`,
      };
    }
    return { text: '–', className: '', title: '' };
  }

  // ---- notices ----

  let noticeTimer = 0;
  function notify(message, kind) {
    clearTimeout(noticeTimer);
    ui.notice.textContent = message;
    ui.notice.dataset.kind = kind === 'ok' ? 'ok' : 'error';
    ui.notice.hidden = false;
    if (kind === 'ok') noticeTimer = setTimeout(() => (ui.notice.hidden = true), 4_000);
  }

  // ---- "What changed" ----

  function logEntry(view, kind, at, id, build, why) {
    const li = h('li');
    li.dataset.kind = kind;
    const time = h('time', '', clock(at));
    time.dateTime = new Date(at).toISOString();
    const what = h('div', 'what');
    if (id !== undefined) what.append(h('span', 'who', id));
    build(what);
    li.append(time, what);
    if (why) li.append(h('div', 'why', why));
    view.events.prepend(li);
    while (view.events.childElementCount > MAX_EVENTS) view.events.lastElementChild.remove();
    view.eventsEmpty.hidden = true;
    return li;
  }

  function logChange(view, at, id, from, to, reason, detail) {
    const words = explain(reason, to);
    let why = words && reason ? `${words} (${reason})` : words || reason || '';
    if (detail) why = why ? `${why}: ${detail}` : detail;
    logEntry(
      view,
      'state',
      at,
      id,
      (what) => {
        if (from === undefined || from === null) {
          what.append(h('span', '', 'joined as'), stateBadge(to));
        } else if (to === undefined || to === null) {
          what.append(stateBadge(from), h('span', '', '→ left'));
        } else {
          what.append(stateBadge(from), h('span', '', '→'), stateBadge(to));
        }
      },
      why,
    );
    view.lastRetry = null;
  }

  function logRetries(view, at, count, byEndpoint) {
    const top = [...byEndpoint]
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([id, n]) => `${id} ${n}`)
      .join(' · ');
    const entry = view.lastRetry;
    if (entry && at - entry.last <= RETRY_MERGE_MS) {
      entry.count += count;
      entry.last = at;
      entry.text.textContent = `${entry.count} retries`;
      entry.time.textContent = `${clock(entry.first)}–${clock(at).slice(3)}`;
      if (top) entry.why.textContent = `latest went to ${top}`;
      return;
    }
    const record = {
      count,
      first: at,
      last: at,
      text: null,
      time: null,
      why: null,
    };
    const li = logEntry(
      view,
      'retry',
      at,
      undefined,
      (what) => {
        record.text = h('span', '', `${count} ${count === 1 ? 'retry' : 'retries'}`);
        what.append(record.text);
      },
      top ? `went to ${top}` : 'requests tried again on another endpoint',
    );
    record.time = li.querySelector('time');
    record.why = li.querySelector('.why');
    view.lastRetry = record;
  }

  // ---- charts ----

  function makeChart(target, view, kind) {
    const percent = kind === 'share';
    const axis = {
      stroke: palette.axis,
      grid: { stroke: palette.grid, width: 1 },
      ticks: { stroke: palette.grid, width: 1 },
      font: '11px system-ui, sans-serif',
    };
    const series = [
      { value: (_u, v) => (v == null ? '–' : clock(v * 1000)) },
      ...view.order.map((id) => ({
        label: id,
        stroke: palette.series[view.colour(id)],
        width: 1.5,
        points: { show: false },
        value: (_u, v) => (v == null ? '–' : percent ? `${Math.round(v)} %` : formatMs(v)),
      })),
    ];
    const options = {
      width: Math.max(200, target.clientWidth),
      height: view.chartHeight(),
      cursor: { drag: { x: false, y: false, setScale: false } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          // The last five minutes, at least one: a young page does not squeeze its lines.
          range: () => {
            const { times } = view;
            const last = times.length ? times[times.length - 1] : Date.now() / 1000;
            const span = times.length ? last - times[0] : 0;
            return [last - Math.min(HISTORY_S, Math.max(MIN_WINDOW_S, span)), last];
          },
        },
        y: {
          range: percent
            ? [0, 100]
            : (_u, _min, max) => [0, finite(max) && max > 0 ? max * 1.15 : 10],
        },
      },
      axes: [
        { ...axis, values: (_u, splits) => splits.map(tickTime) },
        {
          ...axis,
          // Wide enough for the longest label ("1,250 ms").
          size: (_u, values) =>
            14 + 7 * Math.max(4, ...(values ?? []).map((v) => String(v).length)),
          values: (_u, splits) => splits.map((v) => (percent ? `${v} %` : `${v} ms`)),
        },
      ],
      series,
      hooks: { draw: [(u) => drawMarks(u, view, percent)] },
    };
    return new uPlot(options, view.chartData(kind), target);
  }

  /**
   * Dashed vertical lines where state changes happened: why the lines move. The share chart
   * also names them ("fast ejected"), stacking labels that would overlap.
   */
  function drawMarks(u, view, labelled) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const ratio = window.devicePixelRatio || 1;
    const lineHeight = 13 * ratio;
    ctx.save();
    ctx.lineWidth = 1.5 * ratio;
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    // uPlot leaves its axis text settings on the context.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    const shown = [];
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    for (const mark of view.marks) {
      const x = Math.round(u.valToPos(mark.t, 'x', true));
      if (x < left || x > left + width) continue;
      const colour = palette.states[mark.state] ?? palette.axis;
      shown.push({ mark, x, colour });
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
    if (!labelled) {
      ctx.restore();
      return;
    }
    // Labels over every line, on the panel's colour, so no line crosses a text.
    const placed = [];
    for (const { mark, x, colour } of shown) {
      const text = `${mark.id.length > 18 ? `${mark.id.slice(0, 17)}…` : mark.id} ${mark.state}`;
      const w = ctx.measureText(text).width;
      // Right of its line; near the right edge, left of it and of the lines just before it
      // (changes a second apart), so no label hides the line it names.
      let anchor = x;
      for (const other of shown) {
        if (other.x < anchor && other.x >= x - 24 * ratio) anchor = other.x;
      }
      const right = x + 4 * ratio + w <= left + width;
      const x0 = right ? x + 4 * ratio : Math.max(left, anchor - 4 * ratio - w);
      let row = 0;
      while (placed.some((p) => p.row === row && x0 < p.x1 && x0 + w > p.x0)) row++;
      if (row > 5) continue;
      placed.push({ row, x0: x0 - 2 * ratio, x1: x0 + w + 2 * ratio });
      const y = top + 2 * ratio + row * lineHeight;
      ctx.fillStyle = palette.panel;
      ctx.fillRect(x0 - 2 * ratio, y - ratio, w + 4 * ratio, lineHeight);
      ctx.fillStyle = colour;
      ctx.fillText(text, x0, y);
    }
    ctx.restore();
  }

  // ---- one pool ----

  const COLUMNS = [
    ['endpoint', '', 'id and URL'],
    ['state', 'state-cell', 'state now; a change shows here at once'],
    ['weight', '', 'effective weight (configured weight while slow start ramps)'],
    ['share', '', "share of the pool's requests over the last 10 s"],
    ['req/s', '', 'requests per second over the last 10 s'],
    ['errors', '', 'share of requests that failed over the last 10 s'],
    ['p50', '', 'median latency over the last 60 s'],
    ['p99', '', '99th percentile latency over the last 60 s'],
    ['in flight', '', 'requests in progress now'],
    ['retries/s', '', 'retries per second counted on this endpoint'],
    ['health check', 'health', 'the last active health check'],
    ['actions', 'actions', 'admin actions'],
  ];

  class PoolView {
    constructor(name) {
      this.name = name;
      this.order = [];
      this.colours = new Map();
      this.rows = new Map();
      this.states = new Map();
      this.previous = new Map();
      this.previousAt = 0;
      this.snapshotTime = 0;
      this.times = [];
      this.series = new Map();
      this.marks = [];
      this.latencyKind = 'p50';
      this.chartKey = null;
      this.charts = [];

      const headingId = `pool-${views.size}`;
      this.el = h('section', 'pool');
      this.el.setAttribute('aria-labelledby', headingId);
      const head = h('div', 'pool-head');
      const title = h('h2', '', name);
      title.id = headingId;
      this.totals = h('p', 'totals');
      head.append(title, this.totals);

      const table = h('table', 'endpoints');
      const caption = h('caption', 'visually-hidden', `Endpoints of pool ${name}`);
      const headRow = h('tr');
      this.actionsHeader = null;
      for (const [label, className, tip] of COLUMNS) {
        const th = h('th', className, label);
        th.scope = 'col';
        th.title = tip;
        if (className === 'actions') {
          this.actionsHeader = th;
          th.hidden = !token;
        }
        headRow.append(th);
      }
      const thead = h('thead');
      thead.append(headRow);
      this.tbody = h('tbody');
      table.append(caption, thead, this.tbody);
      const wrap = h('div', 'table-wrap');
      wrap.append(table);

      const charts = h('div', 'charts');
      const share = this.chartBox('Traffic share per second', null);
      const select = h('select');
      select.setAttribute('aria-label', `latency figure for pool ${name}`);
      for (const [value, label] of [
        ['p50', 'p50 · 60 s'],
        ['p90', 'p90 · 60 s'],
        ['p99', 'p99 · 60 s'],
        ['latency', 'peak EWMA'],
      ]) {
        const option = h('option', '', label);
        option.value = value;
        select.append(option);
      }
      select.addEventListener('change', () => {
        this.latencyKind = select.value;
        this.charts[1]?.setData(this.chartData('latency'));
      });
      const latency = this.chartBox('Latency', select);

      // Why traffic moves, next to where it goes.
      const changes = h('section', 'changes');
      const changesId = `${headingId}-changes`;
      changes.setAttribute('aria-labelledby', changesId);
      const changesTitle = h('h3', '', 'What changed');
      changesTitle.id = changesId;
      changesTitle.title =
        'state changes with their reasons, ejections and retries, newest first; also marked on the charts';
      this.eventsEmpty = h('p', 'muted small', 'Nothing yet: changes are listed as they happen.');
      this.events = h('ol', 'events');
      this.events.setAttribute('role', 'log');
      this.lastRetry = null;
      changes.append(changesTitle, this.eventsEmpty, this.events);
      charts.append(share.box, latency.box, changes);
      this.chartTargets = [share.target, latency.target];
      this.resizer = new ResizeObserver(() => this.fit());
      this.resizer.observe(share.target);
      this.resizer.observe(latency.target);
      this.el.append(head, wrap, charts);
    }

    chartBox(title, control) {
      const box = h('figure', 'chart-box');
      const head = h('figcaption', 'chart-head');
      head.append(h('h3', '', title));
      if (control) head.append(control);
      const target = h('div', 'chart');
      box.append(head, target);
      return { box, target };
    }

    chartHeight() {
      if (views.size > 1) return CHART_HEIGHT;
      // Room left under the charts' top, less their axis, legend and the page's margin.
      const top = this.chartTargets[0].getBoundingClientRect().top + window.scrollY;
      const free = Math.floor(window.innerHeight - top - 90);
      return Math.max(CHART_HEIGHT, Math.min(MAX_CHART_HEIGHT, free));
    }

    /** Sizes the charts to their boxes and the list of changes to the charts. */
    fit() {
      const height = this.chartHeight();
      for (const [i, chart] of this.charts.entries()) {
        const width = Math.max(200, this.chartTargets[i].clientWidth);
        if (chart.width !== width || chart.height !== height) chart.setSize({ width, height });
      }
      this.events.style.maxHeight = `${height + 60}px`;
    }

    colour(id) {
      let index = this.colours.get(id);
      if (index === undefined) {
        index = this.colours.size % SERIES_COLOURS;
        this.colours.set(id, index);
      }
      return index;
    }

    chartData(kind) {
      const key = kind === 'share' ? 'share' : this.latencyKind;
      return [this.times, ...this.order.map((id) => this.series.get(id)[key])];
    }

    ensureCharts() {
      const key = this.order.join('\n');
      if (key === this.chartKey && this.charts.length > 0) {
        for (const [i, chart] of this.charts.entries()) {
          chart.setData(this.chartData(i === 0 ? 'share' : 'latency'));
        }
        return;
      }
      this.destroyCharts();
      if (typeof uPlot !== 'function') return;
      this.chartKey = key;
      this.charts = [
        makeChart(this.chartTargets[0], this, 'share'),
        makeChart(this.chartTargets[1], this, 'latency'),
      ];
      this.fit();
    }

    destroyCharts() {
      for (const chart of this.charts) chart.destroy();
      this.charts = [];
      this.chartKey = null;
    }

    redrawCharts() {
      for (const chart of this.charts) chart.redraw(false);
    }

    restyle() {
      for (const [id, row] of this.rows) {
        row.swatch.style.background = palette.series[this.colour(id)];
      }
      this.destroyCharts();
      this.ensureCharts();
    }

    remove() {
      this.resizer.disconnect();
      this.destroyCharts();
      this.el.remove();
    }

    setAdmin(on) {
      if (this.actionsHeader) this.actionsHeader.hidden = !on;
      for (const row of this.rows.values()) row.actions.hidden = !on;
    }

    makeRow(id) {
      const tr = h('tr');
      const cells = COLUMNS.map(([, className]) => h('td', className));
      tr.append(...cells);
      const [endpoint, state, weight, share, rate, errors, p50, p99, inflight, retries] = cells;
      const [check, actions] = cells.slice(10);

      const box = h('div', 'endpoint');
      const swatch = h('span', 'swatch');
      swatch.style.background = palette.series[this.colour(id)];
      swatch.setAttribute('aria-hidden', 'true');
      const text = h('div', 'endpoint-text');
      const idText = h('span', 'endpoint-id', id);
      const urlText = h('span', 'endpoint-url');
      text.append(idText, urlText);
      box.append(swatch, text);
      endpoint.append(box);

      actions.hidden = !token;
      const buttons = {};
      for (const action of ['drain', 'disable', 'enable']) {
        const button = h('button', '', action[0].toUpperCase() + action.slice(1));
        button.type = 'button';
        button.dataset.action = action;
        button.setAttribute('aria-label', `${action} ${id}`);
        button.addEventListener('click', () => act(this.name, id, action, button));
        buttons[action] = button;
        actions.append(button);
      }
      return {
        tr,
        swatch,
        text,
        urlText,
        state,
        weight,
        share,
        rate,
        errors,
        p50,
        p99,
        inflight,
        retries,
        check,
        actions,
        buttons,
        shown: undefined,
      };
    }

    showState(row, state, note) {
      const key = `${state}\n${note}`;
      if (row.shown === key) return;
      row.shown = key;
      row.tr.dataset.state = state;
      row.state.replaceChildren(stateBadge(state));
      if (note) row.state.append(h('span', 'state-note', note));
      const off = state === 'draining' || state === 'disabled';
      const focused = Object.values(row.buttons).find((b) => b === document.activeElement);
      row.buttons.drain.hidden = off;
      row.buttons.disable.hidden = state === 'disabled';
      row.buttons.enable.hidden = !off;
      // The button just used may have gone (Drain → Enable): the focus moves to the undo.
      if (focused?.hidden) {
        const { enable, drain, disable } = row.buttons;
        [enable, drain, disable].find((button) => !button.hidden)?.focus();
      }
    }

    /**
     * A state event: logged and marked on the charts; shown in the table at once unless the
     * last snapshot is newer (a change replayed to a stream that just connected).
     */
    onState(id, from, to, reason, detail, at) {
      logChange(this, at, id, from, to, reason, detail);
      if (to) this.marks.push({ t: at / 1000, state: to, id });
      if (at >= this.snapshotTime) {
        if (to === undefined) this.states.delete(id);
        else this.states.set(id, to);
        const row = this.rows.get(id);
        if (row && to) this.showState(row, to, '');
      }
      this.redrawCharts();
    }

    /** A snapshot taken at `now` (ms since the epoch, on the server's clock). */
    update(snapshot, now) {
      const endpoints = Array.isArray(snapshot.endpoints) ? snapshot.endpoints : [];
      const first = this.previousAt === 0;
      const seconds = first ? 0 : (now - this.previousAt) / 1000;
      const t = now / 1000;
      this.snapshotTime = now;

      // Deltas since the previous snapshot: per-second share and retries.
      const deltas = new Map();
      const retries = new Map();
      let total = 0;
      let retryTotal = 0;
      for (const ep of endpoints) {
        const before = this.previous.get(ep.id);
        if (before && finite(ep.requests) && finite(before.requests)) {
          const d = Math.max(0, ep.requests - before.requests);
          deltas.set(ep.id, d);
          total += d;
        }
        if (before && finite(ep.retries) && finite(before.retries)) {
          const d = Math.max(0, ep.retries - before.retries);
          retries.set(ep.id, d);
          retryTotal += d;
        }
      }

      // Membership and state, in case a state event was missed (reconnect).
      const ids = endpoints.map((ep) => String(ep.id));
      for (const ep of endpoints) {
        const id = String(ep.id);
        const known = this.states.get(id);
        if (known === undefined && !first) {
          logChange(this, now, id, undefined, ep.state, 'added', '');
        } else if (known !== undefined && known !== ep.state) {
          logChange(this, now, id, known, ep.state, '', 'seen in a snapshot');
          this.marks.push({ t, state: ep.state, id });
        }
        this.states.set(id, ep.state);
      }
      for (const id of [...this.states.keys()]) {
        if (!ids.includes(id)) {
          logChange(this, now, id, this.states.get(id), undefined, 'removed', '');
          this.states.delete(id);
        }
      }
      if (retryTotal > 0) logRetries(this, now, retryTotal, retries);

      // Rows, in the pool's order.
      const rates = endpoints.map((ep) => (finite(ep.rate) ? ep.rate : 0));
      const rateSum = rates.reduce((a, b) => a + b, 0);
      let weightedErrors = 0;
      for (const [i, ep] of endpoints.entries()) {
        const id = String(ep.id);
        let row = this.rows.get(id);
        if (!row) {
          row = this.makeRow(id);
          this.rows.set(id, row);
        }
        this.fillRow(row, ep, snapshot, rateSum ? rates[i] / rateSum : null, retries, seconds);
        if (finite(ep.errorRate)) weightedErrors += rates[i] * ep.errorRate;
      }
      for (const [id, row] of this.rows) {
        if (!ids.includes(id)) {
          row.tr.remove();
          this.rows.delete(id);
        }
      }
      if (ids.join('\n') !== this.order.join('\n') || this.tbody.childElementCount !== ids.length) {
        this.tbody.replaceChildren(...ids.map((id) => this.rows.get(id).tr));
      }

      // Totals line.
      const totals = snapshot.totals ?? {};
      const parts = [
        `${totals.eligible ?? '–'} of ${totals.endpoints ?? endpoints.length} eligible`,
        `${formatRate(rateSum)} req/s`,
        `${formatPercent(rateSum ? weightedErrors / rateSum : 0)} errors`,
        `${totals.inflight ?? '–'} in flight`,
      ];
      if (!first) parts.push(`${formatRate(seconds ? retryTotal / seconds : 0)} retries/s`);
      if (snapshot.tier !== null && snapshot.tier !== undefined)
        parts.push(`tier ${snapshot.tier} serving`);
      else parts.push('no tier serving');
      this.totals.replaceChildren(parts.join(' · '));
      if (snapshot.panic) {
        this.totals.append(
          ' · ',
          h('span', 'panic', 'PANIC: too few healthy, every endpoint of the tier gets traffic'),
        );
      }

      // The ring for the charts (two snapshots less than half a second apart make one point).
      const lastT = this.times[this.times.length - 1];
      this.order = ids;
      for (const id of ids) {
        if (!this.series.has(id)) {
          const blank = () => this.times.map(() => null);
          this.series.set(id, {
            share: blank(),
            p50: blank(),
            p90: blank(),
            p99: blank(),
            latency: blank(),
          });
        }
      }
      for (const id of [...this.series.keys()]) if (!ids.includes(id)) this.series.delete(id);
      if (lastT === undefined || t - lastT >= 0.5) {
        this.times.push(t);
        for (const ep of endpoints) {
          const s = this.series.get(String(ep.id));
          const d = deltas.get(ep.id);
          s.share.push(total > 0 && d !== undefined ? (100 * d) / total : null);
          const l = ep.latencyMs ?? {};
          s.p50.push(finite(l.p50) ? l.p50 : null);
          s.p90.push(finite(l.p90) ? l.p90 : null);
          s.p99.push(finite(l.p99) ? l.p99 : null);
          s.latency.push(finite(ep.latency) && ep.latency > 0 ? ep.latency : null);
        }
        while (this.times.length > 0 && this.times[0] < t - HISTORY_S) {
          this.times.shift();
          for (const s of this.series.values()) {
            for (const values of Object.values(s)) values.shift();
          }
        }
        this.marks = this.marks.filter((mark) => mark.t >= t - HISTORY_S);
      }
      this.previous = new Map(endpoints.map((ep) => [ep.id, ep]));
      this.previousAt = now;
      this.ensureCharts();
    }

    fillRow(row, ep, snapshot, share, retries, seconds) {
      const set = (cell, text, className) => {
        if (cell.textContent !== text) cell.textContent = text;
        const wanted = className ?? '';
        if ((cell.dataset.level ?? '') !== wanted) {
          cell.dataset.level = wanted;
          cell.classList.remove('warn', 'bad');
          if (wanted) cell.classList.add(wanted);
        }
      };
      const url = typeof ep.url === 'string' && ep.url !== ep.id ? ep.url : '';
      if (row.urlText.textContent !== url) row.urlText.textContent = url;
      row.text.title = url ? `${ep.id}\n${url}` : String(ep.id);

      const notes = [];
      if (ep.state === 'healthy' && ep.eligible === false) notes.push('standby');
      if (ep.state === 'ejected' && finite(ep.ejectedUntil) && finite(snapshot.at)) {
        notes.push(`back in ${Math.max(0, Math.ceil((ep.ejectedUntil - snapshot.at) / 1000))} s`);
      }
      if (finite(ep.slowStart) && ep.slowStart < 1) {
        notes.push(`ramping ${Math.round(ep.slowStart * 100)} %`);
      }
      if (finite(ep.ejections) && ep.ejections > 0) {
        notes.push(`ejected ${ep.ejections}×`);
      }
      this.showState(row, String(ep.state), notes.join(' · '));

      const weight =
        finite(ep.configuredWeight) && ep.configuredWeight !== ep.weight
          ? `${fixed(ep.weight, 2)} / ${ep.configuredWeight}`
          : formatRate(ep.weight);
      set(row.weight, weight);
      set(row.share, formatPercent(share));
      set(row.rate, formatRate(ep.rate));
      const errorRate = finite(ep.errorRate) ? ep.errorRate : null;
      set(
        row.errors,
        formatPercent(errorRate),
        errorRate >= 0.05 ? 'bad' : errorRate > 0 ? 'warn' : '',
      );
      const l = ep.latencyMs ?? {};
      set(row.p50, formatMs(l.p50));
      set(row.p99, formatMs(l.p99));
      set(row.inflight, finite(ep.inflight) ? String(ep.inflight) : '–');
      const r = retries.get(ep.id);
      set(
        row.retries,
        r !== undefined && seconds > 0 ? formatRate(r / seconds) : '–',
        r ? 'warn' : '',
      );
      const check = checkText(healthStatus(ep));
      set(row.check, check.text, check.className);
      row.check.title = check.title;
    }
  }

  // ---- data in ----

  let lastData = 0;
  let connection = 'connecting';

  function setConnection(state, text) {
    connection = state;
    ui.connection.dataset.state = state;
    ui.connectionText.textContent = text ?? state;
  }

  let shownPools = 0;

  function applySnapshot(payload) {
    const pools = payload && typeof payload.pools === 'object' ? payload.pools : null;
    if (!pools) return;
    lastData = Date.now();
    // The server's clock when it has one: state events carry the same clock.
    const now = finite(payload.time) ? payload.time : lastData;
    if (connection === 'stale') setConnection('live');
    const names = Object.keys(pools);
    ui.empty.textContent = names.length === 0 ? 'This dashboard has no pools.' : '';
    ui.empty.hidden = names.length > 0;
    for (const name of names) {
      const snapshot = pools[name];
      if (!snapshot || typeof snapshot !== 'object') continue;
      let view = views.get(name);
      if (!view) {
        view = new PoolView(name);
        views.set(name, view);
        ui.pools.append(view.el);
      }
      view.update(snapshot, now);
    }
    for (const [name, view] of views) {
      if (!names.includes(name)) {
        view.remove();
        views.delete(name);
      }
    }
    if (views.size !== shownPools) {
      shownPools = views.size;
      for (const view of views.values()) view.fit();
    }
    const waiting = pending.splice(0);
    for (const change of waiting) applyState(change);
    ui.updated.textContent = `updated ${clock(now)}`;
  }

  /** State events already shown: a stream opened again without Last-Event-ID replays them. */
  const seen = new Set();
  /** State events of pools no snapshot has shown yet. */
  const pending = [];

  function applyState(change) {
    if (!change || typeof change !== 'object') return;
    const endpoint = change.endpoint;
    const id = String(
      change.id ?? (endpoint && typeof endpoint === 'object' ? endpoint.id : endpoint) ?? '',
    );
    const poolName = typeof change.pool === 'string' ? change.pool : 'default';
    const to = typeof change.to === 'string' ? change.to : undefined;
    const from = typeof change.from === 'string' ? change.from : undefined;
    const reason = typeof change.reason === 'string' ? change.reason : '';
    const detail = typeof change.detail === 'string' ? change.detail : '';
    const view = views.get(poolName);
    if (!view) {
      pending.push(change);
      if (pending.length > MAX_EVENTS) pending.shift();
      return;
    }
    const at = finite(change.time) ? change.time : Date.now();
    const key = `${change.seq}|${at}|${poolName}|${id}|${to}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > 10 * MAX_EVENTS) seen.delete(seen.values().next().value);
    view.onState(id, from, to, reason, detail, at);
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  let source = null;
  let retryTimer = 0;
  let retryDelay = 1_000;

  function connect() {
    clearTimeout(retryTimer);
    source = new EventSource('./api/events');
    source.addEventListener('open', () => {
      retryDelay = 1_000;
      setConnection('live');
    });
    source.addEventListener('snapshot', (event) => applySnapshot(parse(event.data)));
    source.addEventListener('state', (event) => applyState(parse(event.data)));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error answer): retry ourselves, backing off.
        source.close();
        const s = Math.round(retryDelay / 1000);
        setConnection('offline', `offline: retrying in ${s} s`);
        retryTimer = setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30_000);
      } else {
        setConnection('reconnecting', 'reconnecting…');
      }
    });
  }

  setInterval(() => {
    if (connection === 'live' && lastData && Date.now() - lastData > STALE_MS) {
      const s = Math.round((Date.now() - lastData) / 1000);
      setConnection('stale', `stale: no update for ${s} s`);
    } else if (connection === 'stale') {
      const s = Math.round((Date.now() - lastData) / 1000);
      ui.connectionText.textContent = `stale: no update for ${s} s`;
    }
  }, 1_000);

  // ---- admin ----

  async function act(poolName, id, action, button) {
    const url = `./api/pools/${encodeURIComponent(poolName)}/endpoints/${encodeURIComponent(id)}/${action}`;
    // Busy, not disabled: a disabled button would drop the keyboard focus.
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        cache: 'no-store',
      });
      if (response.ok) {
        notify(`${action}: ${id} — done`, 'ok');
      } else if (response.status === 401) {
        saveToken('');
        setAdmin(false);
        notify(`${action} ${id} refused: wrong admin token (401). Enter it again.`);
        openAdminForm();
      } else if (response.status === 404) {
        notify(
          `${action} ${id}: not found (404) — admin actions are off on this dashboard, or the endpoint is gone.`,
        );
      } else {
        notify(`${action} ${id} failed: HTTP ${response.status}`);
      }
    } catch (error) {
      notify(`${action} ${id} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  function setAdmin(on) {
    ui.adminOn.hidden = !on;
    ui.adminOpen.hidden = on;
    ui.adminForm.hidden = true;
    ui.adminOpen.setAttribute('aria-expanded', 'false');
    for (const view of views.values()) view.setAdmin(on);
  }

  function openAdminForm() {
    ui.adminForm.hidden = false;
    ui.adminOpen.hidden = true;
    ui.adminOpen.setAttribute('aria-expanded', 'true');
    ui.adminToken.focus();
  }

  ui.adminOpen.addEventListener('click', openAdminForm);
  ui.adminCancel.addEventListener('click', () => {
    ui.adminForm.hidden = true;
    ui.adminOpen.hidden = false;
    ui.adminOpen.setAttribute('aria-expanded', 'false');
    ui.adminOpen.focus();
  });
  ui.adminForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = ui.adminToken.value.trim();
    if (!value) return;
    ui.adminToken.value = '';
    saveToken(value);
    setAdmin(true);
    ui.adminLock.focus();
  });
  ui.adminLock.addEventListener('click', () => {
    saveToken('');
    setAdmin(false);
    ui.adminOpen.focus();
  });

  // ---- start ----

  window.addEventListener('resize', () => {
    for (const view of views.values()) view.fit();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    palette = readPalette();
    for (const view of views.values()) view.restyle();
  });
  setAdmin(Boolean(token));
  fetch('./api/snapshot', { cache: 'no-store' })
    .then((response) => (response.ok ? response.json() : null))
    .then((payload) => {
      if (payload && lastData === 0) applySnapshot(payload);
    })
    .catch(() => {
      // the event stream brings the next one
    });
  connect();
})();
