// Torq operator dashboard: one WebSocket (/ws) that pushes a full snapshot a few times a second.
// No build step, no external resources. The API token comes from the URL fragment (#token=…), which
// browsers never send to the server in requests, and is passed to /ws as ?token=.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { updates: 0, ws: null, retryMs: 500 };

function token() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fillRows(tableSel, rows, cells) {
  const body = $(tableSel + ' tbody');
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = el('tr');
    for (const c of cells(r)) {
      if (c instanceof Node) { const td = el('td'); td.appendChild(c); tr.appendChild(td); }
      else tr.appendChild(el('td', c));
    }
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
}

function dl(sel, pairs) {
  const frag = document.createDocumentFragment();
  for (const [k, v, cls] of pairs) { frag.appendChild(el('dt', k)); frag.appendChild(el('dd', v, cls)); }
  $(sel).replaceChildren(frag);
}

const usd = (s) => (s === null || s === undefined) ? '—' : Number(s).toFixed(2);
const money = (s) => (s === null || s === undefined) ? '—' : (Number(s) < 0 ? '-$' : '$') + Math.abs(Number(s)).toFixed(2);
const short = (h) => h && h.length > 14 ? h.slice(0, 8) + '…' + h.slice(-4) : h;

function renderHealth(st) {
  const lagCls = st.block_lag > 3 ? 'bad' : st.block_lag > 1 ? 'warn' : 'ok';
  dl('#health-list', [
    ['mode', st.mode + (st.roles ? ' (' + st.roles + ')' : '')],
    ['chain', st.chain + ' / ' + st.chain_id],
    ['head block', st.head_block],
    ['block lag', st.block_lag, lagCls],
    ['last event', st.last_event_age_ms === null ? '—' : st.last_event_age_ms + ' ms ago'],
    ['breaker', st.breaker, st.breaker === 'closed' ? 'ok' : 'bad'],
    ['kill switch', st.kill_switch ? 'ENGAGED (' + st.kill_reason + ')' : 'off', st.kill_switch ? 'bad' : 'ok'],
    ['ready', st.ready ? 'yes' : 'no', st.ready ? 'ok' : 'warn'],
  ]);
  fillRows('#endpoints', st.endpoints, (e) => [e.url, el('span', e.connected ? 'up' : 'down', e.connected ? 'ok' : 'bad'), e.reconnects, e.last_block]);
  const ups = st.upstreams || [];
  $('#upstreams').hidden = ups.length === 0;  // only a standalone dashboard has upstreams
  fillRows('#upstreams', ups, (u) => [u.url, u.roles, el('span', u.up ? 'up' : 'down', u.up ? 'ok' : 'bad'),
                                      u.last_ok_age_ms === null ? '—' : u.last_ok_age_ms + ' ms', u.error]);
  fillRows('#rings', st.rings, (r) => [r.name, el('span', r.fill_pct.toFixed(1) + '%', r.fill_pct > 80 ? 'bad' : r.fill_pct > 50 ? 'warn' : 'ok'), r.drops]);
  const links = st.links || [];
  $('#links').hidden = links.length === 0;  // only a process with udp:// link bridges has rows
  fillRows('#links', links, (l) => [l.name, l.direction, l.frames, el('span', String(l.gaps), l.gaps > 0 ? 'bad' : 'ok'),
                                    el('span', String(l.late), l.late > 0 ? 'warn' : 'ok'),
                                    l.direction === 'out' ? l.resent + ' / ' + l.resend_unavailable : '—']);
}

function renderPnl(p) {
  $('#pnl-total').textContent = money(p.cumulative_usd);
  dl('#pnl-list', [['daily', money(p.daily_usd)], ['peak', money(p.peak_usd)],
                   ['drawdown', money(p.drawdown_usd)], ['won / lost', p.trades_won + ' / ' + p.trades_lost]]);
  drawLine($('#pnl-chart'), p.series.map((pt) => [pt[0], Number(pt[1])]));
}

function setupCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth || c.width, h = c.clientHeight || c.height;
  if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  const g = c.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

function drawLine(c, pts) {
  const { g, w, h } = setupCanvas(c);
  c.dataset.points = String(pts.length);
  const pad = 36;
  g.strokeStyle = '#26313c'; g.lineWidth = 1;
  g.strokeRect(pad, 8, w - pad - 8, h - 8 - 20);
  if (pts.length === 0) { g.fillStyle = '#7d8a99'; g.fillText('no realized P&L yet', pad + 8, h / 2); return; }
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
  let lo = Math.min(0, ...pts.map((p) => p[1])), hi = Math.max(0, ...pts.map((p) => p[1]));
  if (hi === lo) hi = lo + 1;
  const x = (t) => pad + (t1 === t0 ? (w - pad - 8) : ((t - t0) / (t1 - t0)) * (w - pad - 8));
  const y = (v) => 8 + (1 - (v - lo) / (hi - lo)) * (h - 28);
  g.strokeStyle = '#7d8a99'; g.setLineDash([3, 3]);
  g.beginPath(); g.moveTo(pad, y(0)); g.lineTo(w - 8, y(0)); g.stroke(); g.setLineDash([]);
  g.fillStyle = '#7d8a99'; g.font = '11px system-ui';
  g.fillText(hi.toFixed(2), 2, 16); g.fillText(lo.toFixed(2), 2, h - 20);
  g.strokeStyle = pts[pts.length - 1][1] >= 0 ? '#3fb950' : '#f85149'; g.lineWidth = 2;
  g.beginPath();
  pts.forEach((p, i) => { const px = x(p[0]), py = y(p[1]); if (i === 0) g.moveTo(px, py); else g.lineTo(px, py); });
  g.stroke();
}

function drawHistogram(c, stage) {
  const { g, w, h } = setupCanvas(c);
  const b = stage.buckets;
  if (b.length === 0) return;
  // Buckets are log-linear: place them on a log2 axis from the smallest to the largest bound.
  const lo = Math.log2(Math.max(1, b[0][0])), hi = Math.log2(Math.max(2, b[b.length - 1][1] + 1));
  const span = Math.max(1e-9, hi - lo);
  const maxC = Math.max(...b.map((x) => x[2]));
  g.fillStyle = '#58a6ff';
  for (const [l, u, n] of b) {
    const x0 = 4 + ((Math.log2(Math.max(1, l)) - lo) / span) * (w - 8);
    const x1 = 4 + ((Math.log2(u + 1) - lo) / span) * (w - 8);
    const bh = (n / maxC) * (h - 20);
    g.fillRect(x0, h - 14 - bh, Math.max(1, x1 - x0 - 1), bh);
  }
  g.fillStyle = '#7d8a99'; g.font = '10px system-ui';
  g.fillText(fmtNs(b[0][0]), 2, h - 2);
  const right = fmtNs(b[b.length - 1][1]);
  g.fillText(right, w - g.measureText(right).width - 2, h - 2);
}

function fmtNs(ns) {
  if (ns < 1e3) return ns + ' ns';
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' µs';
  if (ns < 1e9) return (ns / 1e6).toFixed(1) + ' ms';
  return (ns / 1e9).toFixed(2) + ' s';
}

function renderLatency(stages) {
  const host = $('#latency');
  for (const s of stages) {
    let box = host.querySelector('[data-stage="' + CSS.escape(s.stage) + '"]');
    if (!box) {
      box = el('div', null, 'hist');
      box.dataset.stage = s.stage;
      box.appendChild(el('div'));
      box.appendChild(el('canvas'));
      host.appendChild(box);
    }
    box.firstChild.textContent = s.stage + ' — n=' + s.count + '  p50 ' + fmtNs(s.p50_ns) + '  p99 ' + fmtNs(s.p99_ns) +
      '  p99.9 ' + fmtNs(s.p999_ns) + '  max ' + fmtNs(s.max_ns);
    drawHistogram(box.lastChild, s);
  }
}

function render(snap) {
  renderHealth(snap.status);
  renderPnl(snap.pnl);
  fillRows('#opportunities', snap.opportunities.slice(0, 50), (o) =>
    [o.id, o.path, o.size + ' ' + o.size_token, money(o.size_usd), money(o.expected_profit_usd),
     el('span', o.decision, o.decision === 'taken' ? 'ok' : 'muted')]);
  fillRows('#trades', snap.trades.slice(0, 50), (t) => {
    const r = t.realized_pnl_usd;
    return [short(t.hash), t.nonce, el('span', t.status, t.status === 'mined' ? 'ok' : t.status === 'reverted' ? 'bad' : 'warn'),
            t.block || '—', money(t.expected_pnl_usd), el('span', r === null ? '—' : money(r), r !== null && Number(r) < 0 ? 'bad' : 'ok'), t.path];
  });
  fillRows('#pools', snap.pools, (p) =>
    [short(p.address), p.venue, p.pair, p.fee_ppm, p.last_update_block, p.age_blocks + ' blk',
     el('span', p.quarantined ? 'quarantined' + (p.quarantine_reason ? ' (' + p.quarantine_reason + ')' : '') : p.stale ? 'stale' : 'fresh',
        p.quarantined ? 'bad' : p.stale ? 'warn' : 'ok')]);
  renderLatency(snap.latency);
  state.updates += 1;
  $('#updates').textContent = state.updates + ' updates (v' + snap.version + ')';
  document.body.dataset.version = String(snap.version);
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(proto + '//' + location.host + '/ws?token=' + encodeURIComponent(token()));
  state.ws = ws;
  ws.onopen = () => { $('#conn').textContent = 'live'; $('#conn').className = 'badge ok'; state.retryMs = 500; };
  ws.onmessage = (ev) => {
    try { const m = JSON.parse(ev.data); if (m.type === 'snapshot') render(m); }
    catch (e) { console.error('bad snapshot', e); }
  };
  ws.onclose = () => {
    $('#conn').textContent = 'disconnected — retrying'; $('#conn').className = 'badge bad';
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(10000, state.retryMs * 2);
  };
}

connect();
