// On small screens the main navigation folds behind a Menu button. Without
// JavaScript the links stay visible, stacked.
const header = document.querySelector(".site-header");
const toggle = header && header.querySelector("[data-nav-toggle]");
if (toggle) {
  const links = document.getElementById(toggle.getAttribute("aria-controls"));
  header.classList.add("nav-enhanced");
  toggle.hidden = false;
  const set = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("nav-open", open);
  };
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("nav-open")) {
      set(false);
      toggle.focus();
    }
  });
  links.addEventListener("click", (event) => {
    if (event.target.closest("a")) set(false);
  });
}
