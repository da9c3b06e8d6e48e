// The ICP criterion builder: choosing an attribute shows its values (the page reloads with
// them), and every change of values, minimum or maximum updates the count of matching
// accounts at once. Without this script, "Show its values" and "Count matching accounts"
// do the same through the server.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("criterion-form");
  if (!form) return;
  const attribute = document.getElementById("attribute");
  const output = document.getElementById("match-count");
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const template = output.dataset.template;

  attribute.addEventListener("change", () => {
    const url = new URL(window.location.href);
    url.search = "";
    url.searchParams.set("attribute", attribute.value);
    window.location.assign(url.toString());
  });

  let pending = null;
  async function count() {
    const params = new URLSearchParams(new FormData(form));
    params.delete("csrfmiddlewaretoken");
    const asked = params.toString();
    pending = asked;
    try {
      const response = await fetch(`${form.dataset.countUrl}?${asked}`,
                                    { headers: { Accept: "application/json" } });
      const answer = await response.json();
      if (pending !== asked) return;  // a newer change is on its way
      output.textContent = answer.count === null ? "" : output.dataset.template
        .replace("{count}", numbers.format(answer.count))
        .replace("{total}", numbers.format(answer.total));
    } catch (error) {
      output.textContent = "";
    }
  }
  form.addEventListener("change", (event) => {
    if (event.target !== attribute) count();
  });
  form.addEventListener("input", (event) => {
    if (event.target.type === "number") count();
  });
  if (template !== undefined) count();
});
