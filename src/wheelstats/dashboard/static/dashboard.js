// Draws each chart from its spec URL and applies the period picker and toggles.
(function () {
  "use strict";
  const form = document.getElementById("controls");
  if (form) {
    const period = document.getElementById("period");
    const custom = document.getElementById("custom-range");
    const submit = () => {
      const params = new URLSearchParams();
      for (const [key, value] of new FormData(form)) {
        if ((key === "start" || key === "end") && period.value !== "custom") continue;
        if (key === "period" && value === "custom") continue;
        if (key === "country" && value.trim() === "") continue;
        params.append(key, value);
      }
      window.location.search = params.toString();
    };
    period.addEventListener("change", () => {
      if (period.value === "custom") { custom.hidden = false; return; }
      submit();
    });
    for (const box of form.querySelectorAll("input[type=checkbox]")) box.addEventListener("change", submit);
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  }
  const charts = document.querySelectorAll(".chart[data-spec]");
  let pending = charts.length;
  const done = () => { pending -= 1; if (pending === 0) document.body.dataset.chartsReady = "true"; };
  if (pending === 0) document.body.dataset.chartsReady = "true";
  for (const element of charts) {
    fetch(element.dataset.spec)
      .then((response) => response.ok ? response.json() : Promise.reject(new Error(response.statusText)))
      .then((spec) => {
        spec.width = "container";
        spec.height = element.classList.contains("wide") ? 300 : 260;
        return window.vegaEmbed(element, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" });
      })
      .then(() => { element.dataset.rendered = "true"; })
      .catch((error) => { element.textContent = "Chart unavailable: " + error.message; element.dataset.rendered = "error"; })
      .finally(done);
  }
})();
