/* The NPS widget (docs/api.md#website-widget). No dependencies, no requests but to
   the collector it came from. It builds its card with DOM calls in a Shadow DOM (no
   HTML parsed from strings, no inline style or script), styled by the collector's stylesheet, so a
   host page with a strict Content-Security-Policy, Trusted Types too, runs it. */
(function () {
  'use strict';
  if (window.NPSWidget) return;
  var me = document.currentScript;
  var base = me ? me.src.replace(/\/w\/widget\.js([?#].*)?$/, '') : '';
  var CSS = base + '/w/widget.css?v=__CSS_VERSION__';
  var SEEN = 'nps-widget:seen';
  var DAY = 864e5;
  var uid = 0;

  function warn(msg) {
    if (window.console) console.warn('NPS widget: ' + msg);
  }

  // A UUIDv7: the time in milliseconds, then random bits.
  function uuid7() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    for (var i = 5, t = Date.now(); i >= 0; i--, t = Math.floor(t / 256)) b[i] = t % 256;
    b[6] = (b[6] & 15) | 112;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }

  // The quiet period: when this browser last saw the widget on this site.
  function seenWithin(days) {
    try {
      var t = +localStorage.getItem(SEEN);
      return t > 0 && Date.now() - t < days * DAY;
    } catch (e) {
      return false;
    }
  }
  function markSeen() {
    try {
      localStorage.setItem(SEEN, String(Date.now()));
    } catch (e) { /* storage off: the shop's own rules decide */ }
  }

  // el makes an element: attributes (true for a bare one, null to leave out), then
  // children (elements, or strings as text).
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
    });
    (kids || []).forEach(function (c) {
      if (c != null) e.append(c);
    });
    return e;
  }

  function wait(ms) {
    return new Promise(function (ok) { setTimeout(ok, ms); });
  }

  // post sends an answer, retrying network errors, 429 and 5xx: the id makes a retry
  // harmless. It resolves to 'ok' or the error code.
  function post(key, body, tries) {
    tries = tries || 0;
    var again = function (ms) {
      return tries < 3 ? wait(ms).then(function () { return post(key, body, tries + 1); }) : null;
    };
    return fetch(base + '/w/v1/responses?key=' + encodeURIComponent(key), {
      method: 'POST', mode: 'cors', credentials: 'omit', keepalive: true,
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) return 'ok';
      if (r.status === 429 || r.status >= 500) {
        var s = +r.headers.get('Retry-After') || 1;
        var p = again(Math.min(s, 10) * 1000);
        if (p) return p;
      }
      return r.json().then(function (j) {
        warn(j.error + ': ' + j.detail);
        return j.error;
      }, function () { return 'error'; });
    }, function (e) {
      return again(1000 * Math.pow(2, tries)) || (warn(e.message), 'error');
    });
  }

  function Card(sv, opts, host, root) {
    this.sv = sv;
    this.t = sv.texts;
    this.opts = opts;
    this.host = host;
    this.inline = !!opts.target;
    this.id = uuid7();
    this.n = ++uid;
    this.card = el('div', {
      'class': 'nps-card ' + (this.inline ? 'nps-inline' : 'nps-slide'),
      role: this.inline ? 'region' : 'dialog', 'aria-label': this.t.survey, lang: sv.lang
    });
    root.append(this.card);
    var self = this;
    this.card.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape' && !self.inline) {
        ev.stopPropagation();
        self.close();
      }
    });
  }

  Card.prototype.answer = function (extra) {
    var o = this.opts;
    var a = { id: this.id, score: this.score, locale: this.sv.lang, survey_version: this.sv.survey_version };
    if (o.orderId) a.order_id = String(o.orderId);
    if (o.segment) a.segment = String(o.segment);
    return Object.assign(a, extra || {});
  };

  // step replaces the card's content and moves focus to its heading, so a screen
  // reader reads where the shopper is and Tab goes on from there.
  Card.prototype.step = function (kids, focus) {
    var c = this.card;
    c.replaceChildren();
    if (!this.inline) {
      var close = el('button', { type: 'button', 'class': 'nps-close' }, [
        el('span', { 'aria-hidden': 'true' }, ['\u00d7']), el('span', { 'class': 'nps-sr' }, [this.t.close])]);
      close.addEventListener('click', this.close.bind(this));
      c.append(close);
    }
    kids.forEach(function (k) { c.append(k); });
    if (focus !== false) {
      var h = c.querySelector('.nps-title');
      if (h) h.focus({ preventScroll: this.inline });
    }
  };

  Card.prototype.title = function (text) {
    return el('h2', { 'class': 'nps-title', id: 'nps-title-' + this.n, tabindex: '-1' }, [text]);
  };

  Card.prototype.scores = function (focus) {
    var self = this;
    var ends = 'nps-ends-' + this.n;
    var grid = el('div', { 'class': 'nps-scores', role: 'group', 'aria-labelledby': 'nps-title-' + this.n, 'aria-describedby': ends });
    for (var s = 0; s <= 10; s++) {
      var b = el('button', { type: 'button', 'class': 'nps-score', 'aria-pressed': 'false' }, [String(s)]);
      b.addEventListener('click', this.pick.bind(this, s, b));
      grid.append(b);
    }
    this.err = el('p', { 'class': 'nps-error', role: 'alert' });
    this.step([
      this.title(this.sv.question), grid,
      el('p', { 'class': 'nps-ends', id: ends }, [
        el('span', {}, ['0 \u00b7 ' + this.t.low]), el('span', {}, ['10 \u00b7 ' + this.t.high])]),
      this.err
    ], focus);
    self.grid = grid;
  };

  Card.prototype.pick = function (score, button) {
    var self = this;
    var all = this.grid.querySelectorAll('button');
    all.forEach(function (b) {
      b.setAttribute('aria-pressed', String(b === button));
      b.disabled = true;
    });
    this.score = score;
    post(this.opts.key, this.answer()).then(function (res) {
      if (res === 'ok') return self.more();
      all.forEach(function (b) { b.disabled = false; });
      self.err.textContent = self.t.error;
    });
  };

  Card.prototype.choices = function (type, name, legend, options, describedBy) {
    var set = el('fieldset', { 'class': 'nps-set', 'aria-describedby': describedBy ? describedBy.id : null },
      [el('legend', { 'class': 'nps-legend' }, [legend])]);
    if (describedBy) set.append(describedBy);
    var box = type === 'rating' ? el('div', { 'class': 'nps-rating' }) : set;
    options.forEach(function (o) {
      box.append(el('label', { 'class': 'nps-check' }, [
        el('input', { type: type === 'multi' || type === 'checkbox' ? 'checkbox' : 'radio', name: name, value: o.key }), ' ',
        el('span', {}, [o.label])]));
    });
    if (box !== set) set.append(box);
    return set;
  };

  Card.prototype.more = function () {
    var self = this, t = this.t, n = this.n;
    var reasons = this.sv.reasons[this.sv.category_of[this.score]] || [];
    var form = el('form', { 'class': 'nps-form', novalidate: true });
    if (reasons.length) form.append(this.choices('checkbox', 'reason', t.followup, reasons));
    (this.sv.questions || []).forEach(function (q) {
      var name = 'q.' + q.key;
      if (q.kind === 'text') {
        var id = 'nps-q-' + n + '-' + q.key;
        form.append(el('div', { 'class': 'nps-field' }, [
          el('label', { 'class': 'nps-legend', 'for': id }, [q.label]),
          el('input', { type: 'text', id: id, name: name, maxlength: '200' })]));
      } else if (q.kind === 'rating') {
        var opts = [1, 2, 3, 4, 5].map(function (v) { return { key: String(v), label: String(v) }; });
        form.append(self.choices('rating', name, q.label, opts,
          el('p', { 'class': 'nps-hint', id: 'nps-scale-' + n + '-' + q.key }, [t.rating_scale])));
      } else {
        form.append(self.choices(q.kind, name, q.label, q.options || []));
      }
    });
    var cid = 'nps-comment-' + n;
    form.append(el('div', { 'class': 'nps-field' }, [
      el('label', { 'class': 'nps-legend', 'for': cid }, [t.comment]),
      el('textarea', { id: cid, name: 'comment', maxlength: '1000', rows: '3' })]));
    var send = el('button', { type: 'submit', 'class': 'nps-primary' }, [t.send]);
    var skip = el('button', { type: 'button', 'class': 'nps-secondary' }, [t.skip]);
    form.append(el('div', { 'class': 'nps-actions' }, [send, skip]));
    var err = el('p', { 'class': 'nps-error', role: 'alert' });
    skip.addEventListener('click', function () { self.thanks(); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var answers = {};
      (self.sv.questions || []).forEach(function (q) {
        var vals = [];
        form.querySelectorAll('[name="q.' + q.key + '"]').forEach(function (i) {
          if ((i.type === 'text' && i.value.trim()) || i.checked) vals.push(i.type === 'text' ? i.value.trim() : i.value);
        });
        if (vals.length) answers[q.key] = vals;
      });
      var chosen = Array.prototype.map.call(form.querySelectorAll('[name=reason]:checked'), function (i) { return i.value; });
      send.disabled = skip.disabled = true;
      post(self.opts.key, self.answer({
        outcome: 'submitted', reasons: chosen, comment: form.elements.comment.value.trim(), answers: answers
      })).then(function (res) {
        if (res === 'ok') return self.thanks();
        send.disabled = skip.disabled = false;
        err.textContent = res === 'expired' ? t.expired : t.error;
      });
    });
    this.step([this.title(t.thanks_title), el('p', { 'class': 'nps-note' }, [t.saved]), err, form]);
  };

  Card.prototype.thanks = function () {
    var kids = [this.title(this.t.thanks_title), el('p', {}, [this.t.thanks_body])];
    if (!this.inline) {
      var done = el('button', { type: 'button', 'class': 'nps-secondary' }, [this.t.close]);
      done.addEventListener('click', this.close.bind(this));
      kids.push(el('div', { 'class': 'nps-actions' }, [done]));
    }
    this.step(kids);
  };

  Card.prototype.close = function () {
    this.host.remove();
    var back = this.opener;
    if (back && back.isConnected && back.focus) back.focus();
  };

  // show asks the survey of opts.key, unless this browser saw the widget within the
  // quiet period, and shows it: inline in opts.target (an element or a selector), or
  // as a card sliding in. It resolves to true when shown.
  function show(opts) {
    opts = Object.assign({}, opts);
    if (!opts.key) {
      warn('give a site key: data-key, or show({key: ...})');
      return Promise.resolve(false);
    }
    var quiet = opts.quietDays == null || opts.quietDays === '' ? 90 : +opts.quietDays;
    if (!opts.force && seenWithin(quiet)) return Promise.resolve(false);
    var target = opts.target;
    if (typeof target === 'string') {
      target = document.querySelector(target);
      if (!target) {
        warn('no element ' + opts.target + ' to show the survey in');
        return Promise.resolve(false);
      }
      opts.target = target;
    }
    var q = new URLSearchParams({ key: opts.key, lang: opts.lang || document.documentElement.lang || navigator.language || '' });
    if (opts.touchpoint) q.set('touchpoint', opts.touchpoint);
    return fetch(base + '/w/v1/survey?' + q, { mode: 'cors', credentials: 'omit' }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error + ': ' + j.detail);
        return j;
      });
    }).then(function (sv) {
      var host = el('nps-widget', { hidden: true });
      var root = host.attachShadow({ mode: 'open' });
      var link = el('link', { rel: 'stylesheet', href: CSS });
      root.append(link);
      var card = new Card(sv, opts, host, root);
      return new Promise(function (done) {
        link.addEventListener('load', function () {
          markSeen();
          card.opener = document.activeElement;
          host.hidden = false;
          card.scores(!card.inline);
          if (!card.inline) {
            requestAnimationFrame(function () {
              requestAnimationFrame(function () { card.card.classList.add('nps-open'); });
            });
          }
          done(true);
        });
        link.addEventListener('error', function () {
          warn('the stylesheet ' + CSS + ' did not load: the page\'s Content-Security-Policy needs style-src ' + new URL(CSS).origin);
          host.remove();
          done(false);
        });
        (target || document.body).append(host);
      });
    }).catch(function (e) {
      warn(e.message + (e instanceof TypeError ? ' (is this page\'s origin one of the key\'s, and connect-src ' + base + ' in its Content-Security-Policy?)' : ''));
      return false;
    });
  }

  window.NPSWidget = { show: show };
  var d = me && me.dataset;
  if (d && d.key) {
    var go = function () {
      show({ key: d.key, touchpoint: d.touchpoint, orderId: d.orderId, segment: d.segment, lang: d.lang,
        target: d.target, quietDays: d.quietDays });
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
    else go();
  }
})();
