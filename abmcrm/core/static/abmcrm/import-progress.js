// An import's page follows the import as it runs: every second it reads the import's API
// resource (data-api) and fills the elements marked data-field, until the import has ended.
// Without JavaScript the page reloads itself instead (a <noscript> refresh).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("import");
  const textsNode = document.getElementById("import-texts");
  if (!box || !textsNode) return;
  const texts = JSON.parse(textsNode.textContent);
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  const setText = (name, value) => {
    const node = field(name);
    if (node) node.textContent = value === null || value === undefined ? "—" : value;
  };
  const finished = (status) => status === "done" || status === "failed";

  function showMessage(job) {
    const list = field("message");
    list.replaceChildren();
    if (!job.message) return;
    const item = document.createElement("li");
    if (job.status === "failed") {
      item.className = "error";
      item.textContent = job.message;
    } else {
      item.className = "warning";
      const label = document.createElement("strong");
      label.textContent = texts.warning;
      item.append(label, " ", job.message);
    }
    list.append(item);
  }

  function showErrors(job) {
    const body = field("errors");
    body.replaceChildren();
    (job.errors || []).forEach((error) => {
      const row = document.createElement("tr");
      const line = document.createElement("td");
      line.dataset.label = texts.line;
      line.textContent = error.line ?? error.index ?? "";
      const what = document.createElement("td");
      what.dataset.label = texts.wrong;
      Object.entries(error.errors || {}).forEach(([name, problems]) => {
        const div = document.createElement("div");
        const strong = document.createElement("strong");
        strong.textContent = name;
        div.append(strong, ": ", [].concat(problems).join(" "));
        what.append(div);
      });
      row.append(line, what);
      body.append(row);
    });
    document.getElementById("bad-rows").hidden = !(job.errors || []).length;
  }

  function show(job) {
    const status = field("status");
    status.textContent = texts.statuses[job.status] || job.status;
    status.className = `status-${job.status}`;
    box.dataset.status = job.status;
    ["rows_done", "total_rows", "created", "updated", "error_count"].forEach((name) => {
      setText(name, job[name] === null ? null : numbers.format(job[name]));
    });
    const bar = field("progress");
    bar.value = Math.round((job.progress || 0) * 100);
    bar.textContent = `${bar.value}%`;
    showMessage(job);
    showErrors(job);
    if (finished(job.status)) setText("hint", texts.done);
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.api, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const job = await response.json();
        show(job);
        if (finished(job.status)) return;
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, 1000);
  }

  if (!finished(box.dataset.status)) poll();
});
