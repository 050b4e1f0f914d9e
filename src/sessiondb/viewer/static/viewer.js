// sessiondb viewer: lazy paging, permalinks into collapsed blocks, live updates (server-sent events).
// Fragments come from the same server and hold escaped text only; they are parsed in an inert
// <template> and moved into the page as nodes.
"use strict";

(function () {
  function parse(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content.querySelector(".fragment");
  }

  function openTo(el) {
    for (let node = el; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
  }

  function revealHash() {
    if (!location.hash || location.hash.length < 2) return;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    openTo(target);
    document.querySelectorAll(".target").forEach((el) => el.classList.remove("target"));
    target.classList.add("target");
    target.scrollIntoView({ block: "start" });
  }

  function label(el, text) {
    el.textContent = text;
  }

  // A result that arrived after its call was shown goes into that call.
  function adoptResults(root) {
    root.querySelectorAll("article.role-tool[data-call-id]").forEach((article) => {
      const callId = article.getAttribute("data-call-id");
      const call = document.querySelector('details.tool[data-call-id="' + CSS.escape(callId) + '"]');
      const result = article.querySelector(".tool-result");
      if (!call || !result || call.querySelector(".tool-result")) return;
      result.id = article.id;
      call.querySelector(".tool-body").insertBefore(result, call.querySelector(".tool-args").nextSibling);
      const state = call.querySelector(".tool-state");
      const failed = result.classList.contains("error");
      state.className = "tool-state " + (failed ? "error" : "ok");
      label(state, failed ? "error" : "done");
      if (failed) call.classList.add("failed");
      article.remove();
    });
  }

  function transcript() {
    const box = document.getElementById("transcript");
    if (!box) return;
    const sid = box.dataset.session;
    const limit = parseInt(box.dataset.limit, 10) || 200;
    const state = {
      offset: parseInt(box.dataset.offset, 10) || 0,
      end: parseInt(box.dataset.end, 10) || 0,
      total: parseInt(box.dataset.total, 10) || 0,
      busy: false,
    };
    const list = box.querySelector(".messages");
    const base = "/session/" + encodeURIComponent(sid) + "/messages";
    const counter = document.getElementById("msg-count");

    async function fetchFragment(offset, count, tail) {
      const url = base + "?offset=" + offset + "&limit=" + count + (tail ? "&tail=1" : "");
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      return parse(await response.text());
    }

    function setTotal(total) {
      state.total = total;
      box.dataset.total = String(total);
      if (counter) label(counter, String(total));
    }

    async function loadAfter(tail) {
      if (state.busy || state.end >= state.total) return;
      state.busy = true;
      try {
        const frag = await fetchFragment(state.end, tail ? 1000 : limit, tail);
        if (!frag) return;
        const nodes = Array.from(frag.children);
        nodes.forEach((n) => {
          if (tail) n.classList.add("fresh");
          list.appendChild(n);
        });
        adoptResults(list);
        state.end = parseInt(frag.dataset.stop, 10);
        setTotal(Math.max(state.total, parseInt(frag.dataset.total, 10)));
        box.dataset.end = String(state.end);
      } finally {
        state.busy = false;
        const after = box.querySelector(".load-after");
        if (after && state.end >= state.total) after.remove();
        else if (after) {
          label(after, "↓ Later messages (" + (state.total - state.end) + " more)");
          // Still in view after a short page: the observer will not fire again by itself.
          if (after.getBoundingClientRect().top < window.innerHeight + 600) setTimeout(() => loadAfter(false), 0);
        }
      }
    }

    async function loadBefore(link) {
      if (state.busy || state.offset <= 0) return;
      state.busy = true;
      try {
        const start = Math.max(0, state.offset - limit);
        const frag = await fetchFragment(start, state.offset - start, false);
        if (!frag) return;
        const anchor = list.firstElementChild;
        const top = anchor ? anchor.getBoundingClientRect().top : 0;
        const nodes = Array.from(frag.children);
        nodes.reverse().forEach((n) => list.insertBefore(n, list.firstChild));
        if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - top);
        state.offset = start;
        box.dataset.offset = String(start);
        if (start <= 0) link.remove();
        else label(link, "↑ Earlier messages (" + start + " before)");
      } finally {
        state.busy = false;
      }
    }

    const after = box.querySelector(".load-after");
    if (after) {
      after.addEventListener("click", (ev) => { ev.preventDefault(); loadAfter(false); });
      if ("IntersectionObserver" in window) {
        const watcher = new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting)) loadAfter(false);
        }, { rootMargin: "600px 0px" });
        watcher.observe(after);
      }
    }
    const before = box.querySelector(".load-before");
    if (before) before.addEventListener("click", (ev) => { ev.preventDefault(); loadBefore(before); });

    // Live: the server sends the session's message count whenever it changes.
    if (box.dataset.live && "EventSource" in window) {
      const note = document.getElementById("live-note");
      const events = new EventSource(box.dataset.live);
      box.dataset.liveState = "connecting";
      events.addEventListener("open", () => { box.dataset.liveState = "open"; });
      events.addEventListener("count", (ev) => {
        const total = JSON.parse(ev.data).total;
        if (typeof total !== "number" || total <= state.total) return;
        if (state.end >= state.total && !box.querySelector(".load-after")) {
          setTotal(total);
          loadAfter(true);
        } else {
          const more = total - state.total;
          setTotal(total);
          note.hidden = false;
          note.textContent = "";
          const link = document.createElement("a");
          link.href = "/session/" + encodeURIComponent(sid) + "?offset=" + Math.max(0, total - limit);
          link.textContent = more + " new message" + (more === 1 ? "" : "s") + " — show the latest";
          note.appendChild(link);
        }
      });
      window.addEventListener("pagehide", () => events.close());
    }
  }

  function subagents() {
    document.addEventListener("toggle", async (ev) => {
      const details = ev.target;
      if (!(details instanceof HTMLDetailsElement) || !details.classList.contains("subagent")) return;
      if (!details.open || details.dataset.loaded) return;
      details.dataset.loaded = "1";
      const body = details.querySelector(".subagent-body");
      try {
        const url = "/session/" + encodeURIComponent(details.dataset.session) + "/messages?offset=0&limit=200";
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) return;
        const frag = parse(await response.text());
        if (!frag) return;
        const list = document.createElement("div");
        list.className = "messages";
        Array.from(frag.children).forEach((n) => list.appendChild(n));
        body.insertBefore(list, body.firstChild);
      } catch (e) {
        details.dataset.loaded = "";
      }
    }, true);
  }

  function toggleAll() {
    const button = document.querySelector("button.toggle-all");
    if (!button) return;
    button.hidden = false;
    let open = false;
    button.addEventListener("click", () => {
      open = !open;
      document.querySelectorAll("details.tool").forEach((d) => { d.open = open; });
      label(button, open ? "Collapse tool calls" : "Expand tool calls");
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    transcript();
    subagents();
    toggleAll();
    revealHash();
    window.addEventListener("hashchange", revealHash);
  });
})();
