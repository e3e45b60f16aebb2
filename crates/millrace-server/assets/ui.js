// Millrace's web UI: what changes while you look. No framework, no build step.
"use strict";

// A run page follows its run: every node's state, from /runs/{run}/events.
function followRun(element) {
  const source = new EventSource(element.dataset.events);
  source.addEventListener("state", (message) => {
    const update = JSON.parse(message.data);
    const states = new Map(update.nodes.map((node) => [node.node, node]));
    for (const shown of document.querySelectorAll("[data-node]")) {
      const node = states.get(shown.getAttribute("data-node"));
      if (!node) continue;
      shown.setAttribute("data-state", node.state);
      const badge = shown.querySelector(".badge");
      if (badge) { badge.setAttribute("data-state", node.state); badge.textContent = node.label; }
      const took = shown.querySelector("[data-duration]");
      if (took) took.textContent = node.duration || "";
      const detail = shown.querySelector("text.detail");
      if (detail) {
        detail.textContent = node.duration && node.state !== "cached"
          ? `${node.label} · ${node.duration}` : node.label;
      }
    }
    for (const badge of document.querySelectorAll("[data-run-state]")) {
      badge.setAttribute("data-state", update.run.state);
      badge.textContent = update.run.label;
    }
  });
  source.addEventListener("end", () => {
    source.close();
    element.textContent = "The run has ended.";
    element.setAttribute("data-ended", "");
  });
}

// A log follows its file: appended text from /runs/{run}/nodes/{node}/log.
function tailLog(element) {
  const source = new EventSource(element.dataset.tail);
  source.addEventListener("chunk", (message) => {
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - 4;
    element.textContent += JSON.parse(message.data);
    if (atBottom) element.scrollTop = element.scrollHeight;
  });
  source.addEventListener("end", () => { source.close(); element.setAttribute("data-ended", ""); });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-events]").forEach(followRun);
  document.querySelectorAll("[data-tail]").forEach(tailLog);
});
