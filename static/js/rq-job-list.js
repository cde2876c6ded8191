// django-rq's job lists in the Django admin: the header's box selects every job
// on the page, and follows the rows' boxes. It replaces django-rq 4.2's set-up,
// which calls jQuery's `.actions()` (gone from Django's admin) and loads
// Django's actions.js, which needs the selection counter of Django's own
// changelists that these pages lack: both threw on every load.
const toggle = document.getElementById("action-toggle");
const boxes = Array.from(document.querySelectorAll("#result_list input.action-select"));

const mark = (box) => box.closest("tr")?.classList.toggle("selected", box.checked);

if (toggle && boxes.length) {
  toggle.addEventListener("change", () => {
    for (const box of boxes) {
      box.checked = toggle.checked;
      mark(box);
    }
  });
  for (const box of boxes) {
    box.addEventListener("change", () => {
      mark(box);
      toggle.checked = boxes.every((each) => each.checked);
    });
  }
}
