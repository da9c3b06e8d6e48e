// Approvals: "Select all" ticks or clears every order on the page, and shows itself
// half-ticked when only some are. Without this script the boxes are ticked one by one.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-select-all]").forEach((all) => {
    const boxes = Array.from(document.querySelectorAll(
      `input[type=checkbox][name="${all.dataset.selectAll}"]`));
    const sync = () => {
      const ticked = boxes.filter((box) => box.checked).length;
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    };
    all.closest("label").hidden = false;
    all.addEventListener("change", () => {
      boxes.forEach((box) => { box.checked = all.checked; });
    });
    boxes.forEach((box) => box.addEventListener("change", sync));
    sync();
  });
});
