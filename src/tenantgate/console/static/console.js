// tenantgate console: copy buttons and the live chart. Everything works without it.
"use strict";

function announce(button, text) {
  const card = button.closest("section, main");
  const status = card && card.querySelector(".copy-status");
  if (status) status.textContent = text;
  const label = button.textContent;
  button.textContent = text.startsWith("Copied") ? "Copied" : label;
  setTimeout(() => { button.textContent = label; }, 1500);
}

async function copy(button) {
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = target.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch (_error) {
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  announce(button, "Copied to the clipboard.");
}

function refreshChart() {
  const chart = document.getElementById("token-chart");
  if (!chart || document.hidden) return;
  fetch(chart.dataset.refresh, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
    .then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("token-chart");
      const open = chart.querySelector("details[open]") !== null;
      if (fresh) {
        if (open && fresh.querySelector("details")) fresh.querySelector("details").open = true;
        chart.replaceWith(fresh);
      }
    })
    .catch(() => {});
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (button) copy(button);
});

document.addEventListener("DOMContentLoaded", () => {
  if (document.getElementById("token-chart")) setInterval(refreshChart, 30000);
  const error = document.getElementById("form-error");
  if (error) {
    error.setAttribute("tabindex", "-1");
    error.focus();
  }
});
