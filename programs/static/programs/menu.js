// The program menu: a recipient chosen for one item becomes the choice of the other
// recipient pickers that are still empty and untouched ("the last one chosen"); a picker
// that already shows someone keeps them. Without this script each picker keeps its own
// default (the account's last recipient).
document.addEventListener("DOMContentLoaded", () => {
  const pickers = Array.from(document.querySelectorAll("select[data-recipient]"));
  const touched = new Set();
  pickers.forEach((picker) => {
    picker.addEventListener("change", () => {
      touched.add(picker);
      pickers.forEach((other) => {
        if (!touched.has(other) && other.value === "") other.value = picker.value;
      });
    });
  });
});
