// The program menu: a recipient chosen for one item becomes the default of the other
// recipient pickers the rep has not touched yet ("the last one chosen"). Without this
// script each picker keeps its own default.
document.addEventListener("DOMContentLoaded", () => {
  const pickers = Array.from(document.querySelectorAll("select[data-recipient]"));
  const touched = new Set();
  pickers.forEach((picker) => {
    picker.addEventListener("change", () => {
      touched.add(picker);
      pickers.forEach((other) => {
        if (!touched.has(other)) other.value = picker.value;
      });
    });
  });
});
