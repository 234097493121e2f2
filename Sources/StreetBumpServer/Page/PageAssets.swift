// The review page's files. Everything the page shows from the store goes through textContent
// (never innerHTML), so a trip name or a reason with markup stays text.
enum PageAssets {
    static let html = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>streetbump review</title>
    <link rel="stylesheet" href="/vendor/leaflet/leaflet.css">
    <link rel="stylesheet" href="/review.css">
    </head>
    <body>
    <header>
      <h1>streetbump: pothole candidates</h1>
      <label>Class <select id="class">
        <option value="pothole">potholes</option>
        <option value="pothole,casting,speed_hump,rail_crossing">all but noise</option>
        <option value="casting">castings</option>
        <option value="speed_hump">speed humps</option>
        <option value="rail_crossing">rail crossings</option>
        <option value="noise">noise</option>
      </select></label>
      <label>State <select id="state">
        <option value="">any</option>
        <option value="candidate">to review</option>
        <option value="confirmed">confirmed</option>
        <option value="rejected">rejected</option>
        <option value="known_asset">known asset</option>
      </select></label>
      <span id="status" role="status"></span>
    </header>
    <main>
      <div id="map" aria-label="map of candidates"></div>
      <section id="side">
        <table id="queue">
          <thead><tr><th>id</th><th>class</th><th>confidence</th><th>severity</th><th>hit / passed</th><th>state</th></tr></thead>
          <tbody></tbody>
        </table>
        <div id="detail"></div>
      </section>
    </main>
    <script src="/vendor/leaflet/leaflet.js"></script>
    <script src="/review.js"></script>
    </body>
    </html>
    """

    static let style = """
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #222; }
    header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #f3f3f3; border-bottom: 1px solid #ccc; }
    header h1 { font-size: 1.1em; margin: 0 1em 0 0; }
    main { display: flex; height: calc(100vh - 3em); }
    #map { flex: 3; min-height: 300px; background: #fafafa; }
    #side { flex: 2; overflow: auto; padding: .5em; border-left: 1px solid #ccc; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; }
    #queue tbody tr { cursor: pointer; }
    #queue tbody tr:hover, #queue tbody tr.selected { background: #fff3c4; }
    .pothole { color: #d7301f; } .casting { color: #2b8cbe; } .speed_hump { color: #c07b00; } .rail_crossing { color: #756bb1; } .noise { color: #777; }
    #detail h2 { font-size: 1.05em; }
    #detail .actions { display: flex; flex-wrap: wrap; gap: .5em; margin: .5em 0; }
    #detail button { padding: .3em .8em; }
    #status { margin-left: auto; color: #555; }
    #queue tbody tr:focus { outline: 2px solid #d7301f; outline-offset: -2px; }
    #detail h2:focus { outline: none; }
    """

    static let script = """
    'use strict';
    const $ = (s) => document.querySelector(s);
    const colours = { pothole: '#d7301f', casting: '#2b8cbe', speed_hump: '#feb24c', rail_crossing: '#756bb1', noise: '#969696' };
    let map = null, markers = null, fitted = false;

    // Every value from the store becomes text, never markup.
    function el(tag, text, className) {
      const e = document.createElement(tag);
      if (text !== undefined && text !== null) e.textContent = String(text);
      if (className) e.className = className;
      return e;
    }
    function percent(x) { return Math.round(x * 100) + '%'; }
    function say(text) { $('#status').textContent = text; }
    // With API tokens configured the server wants one; it is kept for this tab only.
    function authHeaders(extra) {
      const h = Object.assign({ Accept: 'application/json' }, extra || {});
      const token = sessionStorage.getItem('streetbump-token');
      if (token) h.Authorization = 'Bearer ' + token;
      return h;
    }
    // The server's own words for a refusal, else its status.
    async function refusal(r) {
      const body = await r.json().catch(() => null);
      const e = new Error(body && body.error ? body.error : r.url + ' answered ' + r.status);
      e.status = r.status;
      return e;
    }
    async function api(url, options) {
      const r = await fetch(url, Object.assign({}, options, { headers: authHeaders(options && options.headers) }));
      if (r.status === 401 || r.status === 403) {
        const e = await refusal(r);
        // A 403 on an action is about that action; anywhere else the token is not a staff token.
        if (r.status === 401) askForToken('Sign in with a staff token.');
        else if (!(options && options.method === 'POST')) askForToken(e.message + '.');
        throw e;
      }
      return r;
    }
    async function getJSON(url) {
      const r = await api(url);
      if (!r.ok) throw await refusal(r);
      return r.json();
    }
    function askForToken(why) {
      if ($('#signin')) return;
      const form = el('form');
      form.id = 'signin';
      const input = el('input');
      input.type = 'password';
      input.placeholder = 'staff token';
      input.autocomplete = 'off';
      const label = el('label', (why ? why + ' ' : '') + 'Token: ');
      label.append(input);
      form.append(label, el('button', 'Sign in'));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        sessionStorage.setItem('streetbump-token', input.value);
        // A fresh start with the token: the map and the queue are built once per page.
        location.reload();
      });
      $('header').append(form);
      input.focus();
    }
    function signOutButton() {
      if (!sessionStorage.getItem('streetbump-token')) return;
      const b = el('button', 'Sign out');
      b.id = 'signout';
      b.addEventListener('click', () => { sessionStorage.removeItem('streetbump-token'); location.reload(); });
      $('header').append(b);
    }

    async function init() {
      signOutButton();
      const config = await getJSON('/api/v1/config');
      if (window.L) {
        map = L.map('map', { preferCanvas: true }).setView([0, 0], 2);
        // Where trips drove (darker where more trips passed): without a base map it draws the
        // streets; with one it shows where nobody drove. Only the squares in view, finer as
        // the map zooms in, so a whole city is never one answer.
        const coverage = L.layerGroup();
        const overlays = { 'driven (trips per square)': coverage };
        if (config.tiles) {
          L.tileLayer(config.tiles, { maxZoom: 20 }).addTo(map);
        } else {
          coverage.addTo(map);
        }
        L.control.layers(null, overlays).addTo(map);
        markers = L.layerGroup().addTo(map);
        map.on('moveend', () => drawCoverage(coverage).catch(failed));
      } else {
        $('#map').append(el('p', 'The map needs Leaflet (Debian package libjs-leaflet); the queue works without it.'));
      }
      $('#class').addEventListener('change', () => load().catch(failed));
      $('#state').addEventListener('change', () => load().catch(failed));
      window.addEventListener('hashchange', () => followHash().catch(failed));
      await load();
      await followHash();
    }

    let coverageAsked = 0;
    async function drawCoverage(layer) {
      const zoom = map.getZoom();
      if (zoom < 12) { layer.clearLayers(); return; }
      const cell = zoom >= 16 ? 25 : zoom >= 14 ? 100 : 400;
      const b = map.getBounds();
      const asked = ++coverageAsked;
      const covered = await getJSON('/api/v1/coverage?cell=' + cell + '&bbox=' + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(','));
      // A later pan already asked again: its answer is the one to draw.
      if (asked !== coverageAsked) return;
      layer.clearLayers();
      for (const f of covered.features) {
        const ring = f.geometry.coordinates[0];
        const lats = ring.map((c) => c[1]), lons = ring.map((c) => c[0]);
        L.rectangle([[Math.min(...lats), Math.min(...lons)], [Math.max(...lats), Math.max(...lons)]], {
          stroke: false, fillColor: '#6a7f99', fillOpacity: Math.min(0.15 + 0.05 * f.properties.trips, 0.6), interactive: false,
        }).addTo(layer);
      }
    }

    async function followHash() {
      const wanted = /^#cluster=(\\d+)$/.exec(location.hash);
      if (wanted) await show(Number(wanted[1]));
    }

    // A failed call: say so (a queue that could not be reloaded was emptied by loadPage).
    function failed(e) {
      say(String(e.message || e));
    }

    // The queue comes a page at a time, most confident first (the API's order); "show more"
    // fetches the next page, so the least confident clusters of a big city can be reached.
    const pageSize = 2000;
    let shown = [];

    async function load() {
      shown = [];
      await loadPage(0);
    }

    async function loadPage(offset) {
      let url = '/api/v1/clusters?limit=' + pageSize + '&offset=' + offset + '&class=' + encodeURIComponent($('#class').value);
      if ($('#state').value) url += '&state=' + encodeURIComponent($('#state').value);
      let data;
      try {
        data = await getJSON(url);
      } catch (e) {
        shown = [];
        renderQueue([], 0);
        renderMap([]);
        throw new Error('could not load the queue: ' + (e.message || e));
      }
      shown = shown.concat(data.features);
      renderQueue(shown, data.total);
      renderMap(shown);
      say(shown.length + ' of ' + data.total + ' shown');
    }

    function renderQueue(features, total) {
      const body = $('#queue tbody');
      body.replaceChildren();
      const more = $('#more');
      if (more) more.remove();
      if (features.length < total) {
        const b = el('button', 'Show ' + Math.min(pageSize, total - features.length) + ' more');
        b.id = 'more';
        b.addEventListener('click', () => { b.disabled = true; loadPage(features.length).catch(failed); });
        $('#queue').after(b);
      }
      for (const f of features) {
        const p = f.properties;
        const row = el('tr');
        row.dataset.id = String(p.id);
        // Rows take the keyboard too: Tab to one, Enter opens it.
        row.tabIndex = 0;
        row.append(el('td', p.id), el('td', p['class'], p['class']), el('td', percent(p.confidence)), el('td', p.severity),
                   el('td', p.hits + ' / ' + p.passes), el('td', p.state));
        row.addEventListener('click', () => show(p.id).catch(failed));
        row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(p.id).catch(failed); } });
        body.append(row);
      }
    }

    function renderMap(features) {
      if (!markers) return;
      markers.clearLayers();
      const points = [];
      for (const f of features) {
        const [lon, lat] = f.geometry.coordinates;
        points.push([lat, lon]);
        L.circleMarker([lat, lon], { radius: 4 + 2 * f.properties.severity, color: colours[f.properties['class']] || '#000', fillOpacity: 0.7 })
          .on('click', () => show(f.properties.id).catch(failed)).addTo(markers);
      }
      if (points.length && !fitted) { map.fitBounds(points, { padding: [20, 20] }); fitted = true; }
    }

    async function show(id) {
      let d;
      try {
        d = await getJSON('/api/v1/clusters/' + id);
      } catch (e) {
        if (e.status !== 404) throw e;
        // Merged, split or re-clustered away: its buttons must not act on it any more.
        $('#detail').replaceChildren(el('p', 'Cluster ' + id + ' no longer exists: ' + e.message));
        await load().catch(failed);
        say('cluster ' + id + ' no longer exists; the queue is reloaded');
        return;
      }
      const p = d.cluster.properties;
      for (const r of document.querySelectorAll('#queue tr.selected')) r.classList.remove('selected');
      const row = document.querySelector('#queue tr[data-id="' + id + '"]');
      if (row) row.classList.add('selected');
      const box = $('#detail');
      box.replaceChildren();
      const heading = el('h2', 'Cluster ' + p.id + ': ' + p['class'] + ' (' + percent(p.confidence) + '), ' + p.state);
      heading.tabIndex = -1;
      box.append(heading);
      box.append(el('p', 'Hit by ' + p.hits + ' of ' + p.passes + ' trips that passed (' + percent(p.hit_ratio) + '); ' +
                          p.trips + ' trips, severity ' + p.severity + ' of 5; seen ' + p.first_seen + ' to ' + p.last_seen + '.'));
      const why = el('ul');
      for (const r of p.reasons) why.append(el('li', r));
      box.append(el('h3', 'Why'), why);

      const actions = el('div', null, 'actions');
      const reason = el('input');
      reason.placeholder = 'reason (for reject)';
      reason.setAttribute('aria-label', 'reason for rejecting');
      const kind = el('select');
      kind.setAttribute('aria-label', 'kind of known asset');
      for (const k of ['casting', 'speed_hump', 'rail_crossing']) { const o = el('option', k); o.value = k; kind.append(o); }
      // Each action says what the reviewer saw, so the server refuses it when someone else
      // changed the cluster meanwhile.
      const seen = { expected_state: p.state, events: p.events };
      const button = (label, body) => {
        const b = el('button', label);
        b.addEventListener('click', () => {
          const request = body();
          if (request) act(id, Object.assign(request, seen)).catch(failed);
        });
        return b;
      };
      actions.append(button('Confirm: file it', () => ({ action: 'confirm' })),
                     reason, button('Reject', () => ({ action: 'reject', reason: reason.value })),
                     kind, button('Mark known asset', () => ({ action: 'known_asset', kind: kind.value })),
                     button('Reopen', () => ({ action: 'reopen' })));
      const other = el('input');
      other.placeholder = 'other cluster id';
      other.setAttribute('aria-label', 'id of the cluster to merge with');
      other.size = 8;
      const merge = () => {
        if (!/^\\s*\\d+\\s*$/.test(other.value)) { say('type the id of the cluster to merge with'); return null; }
        return { action: 'merge', with: Number(other.value) };
      };
      actions.append(el('br'), other, button('Merge with it', merge), button('Split in two', () => ({ action: 'split' })));
      box.append(actions);

      box.append(el('h3', 'Requests'));
      if (!d.requests.length) box.append(el('p', 'none filed'));
      for (const r of d.requests) box.append(el('p', 'generation ' + r.generation + ': ' + r.state + (r.service_request_id ? ', request ' + r.service_request_id : '') + (r.status ? ' (' + r.status + ')' : '') + (r.last_error ? ': ' + r.last_error : '')));
      box.append(el('h3', 'Decisions'));
      if (!d.reviews.length) box.append(el('p', 'none yet'));
      for (const r of d.reviews) {
        box.append(el('p', r.at + ' ' + r.actor + ': ' + r.action + (r.detail ? ' (' + r.detail + ')' : '') + (r.cluster_id !== p.id ? ' [as cluster ' + r.cluster_id + ']' : '')));
      }

      box.append(el('h3', d.events.length < d.events_total ? 'Events (the first ' + d.events.length + ' of ' + d.events_total + ')' : 'Events'));
      const table = el('table');
      const head = el('tr');
      for (const h of ['trip', 'time', 'speed m/s', 'peak m/s²', 'lateral', 'signature', 'dip→strike m', 'kind']) head.append(el('th', h));
      table.append(head);
      for (const e of d.events) {
        const tr = el('tr');
        tr.append(el('td', e.trip, 'trip'), el('td', e.t), el('td', e.speed), el('td', e.peak), el('td', e.lateral_ratio), el('td', e.signature),
          el('td', e.dip_to_strike ?? '–'), el('td', e.kind));
        table.append(tr);
      }
      box.append(table);
      // The panel is below the queue: bring it into view, and the keyboard with it.
      heading.scrollIntoView({ block: 'start' });
      heading.focus({ preventScroll: true });
    }

    async function act(id, body) {
      // One request at a time: a double-click must not split twice.
      const buttons = [...document.querySelectorAll('#detail button')];
      for (const b of buttons) b.disabled = true;
      try {
        const r = await api('/api/v1/clusters/' + id + '/actions', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        // A refusal may not be JSON (a proxy's error page): say its status.
        const answer = await r.json().catch(() => ({ error: 'the server answered ' + r.status }));
        await load();
        // A merge or split may renumber the cluster: show what it became.
        await show(r.ok && answer.clusters && answer.clusters.length ? answer.clusters[0] : id);
        // Last, so the queue's count does not overwrite it.
        say(r.ok ? 'saved: ' + body.action : answer.error);
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    }

    init().catch(failed);
    """
}
