// The Copy button next to a secret shown once (a new API token). The button
// appears only with JavaScript; where the Clipboard API is missing or refused
// (plain http, no permission) the text is selected for Ctrl+C / ⌘C instead.
for (const button of document.querySelectorAll("[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
  if (!field) continue;
  button.hidden = false;

  const say = (text) => {
    if (!status) return;
    // Emptied first, so saying the same thing twice is announced twice.
    status.textContent = "";
    window.setTimeout(() => { status.textContent = text; }, 50);
  };
  const select = () => {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    say("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
  };

  button.addEventListener("click", async () => {
    if (!navigator.clipboard || !window.isSecureContext) {
      select();
      return;
    }
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
      say("Copied");
      window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
    } catch {
      select();
    }
  });
}
