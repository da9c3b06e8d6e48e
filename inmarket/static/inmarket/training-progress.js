// The backtest page follows a training job: every second it reads the job's API resource
// (data-api), shows its status and progress, and once the job has ended reloads the page,
// which then shows the new version and the outcome as a message. Without JavaScript the page
// reloads itself instead (a <noscript> refresh).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("training");
  const textsNode = document.getElementById("training-texts");
  if (!box || !box.dataset.api || !textsNode) return;
  const texts = JSON.parse(textsNode.textContent);
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const finished = (status) => status === "done" || status === "failed";

  function show(job) {
    const status = field("status");
    status.textContent = texts.statuses[job.status] || job.status;
    status.className = `status-${job.status}`;
    box.dataset.status = job.status;
    const bar = field("progress");
    bar.value = Math.round((job.progress || 0) * 100);
    bar.textContent = `${bar.value}%`;
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.api, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const job = await response.json();
        show(job);
        if (finished(job.status)) {
          // The page's own rendering says how it ended (and lists the new version).
          // (Reloaded as it is when it already names the job: a new URL differing only in its
          // #fragment would not load the page again.)
          const url = new URL(window.location.href);
          if (url.searchParams.get("job") === box.dataset.job) {
            window.location.reload();
          } else {
            url.searchParams.set("job", box.dataset.job);
            url.hash = "training";
            window.location.replace(url.toString());
          }
          return;
        }
      } else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        // Signed out, or the job is gone: asking again will not change the answer, so stop
        // (the page's own refresh without JavaScript, or a reload, shows where it is).
        return;
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, 1000);
  }

  if (!finished(box.dataset.status)) poll();
});
