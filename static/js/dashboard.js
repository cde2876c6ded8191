// The dashboard: the upload queue (drop zone + file input), and the job list kept
// current by polling the status endpoint, with changes announced politely.
import { UploadQueue } from "./upload-queue.js";

const ACTIVE = new Set(["queued", "running"]);
const POLL_MS = 2000;

const config = JSON.parse(document.getElementById("upload-config").textContent);
const form = document.querySelector("[data-upload-form]");
const fileInput = document.querySelector("[data-file-input]");
const dropzone = document.querySelector("[data-dropzone]");
const list = document.querySelector("[data-job-list]");
const emptyNote = document.querySelector("[data-empty-jobs]");
const live = document.querySelector("[data-live-region]");
const credits = document.querySelector("[data-credits]");
const activeCount = document.querySelector("[data-active-count]");
const modelSelect = form.elements.model;
const stemsSelect = form.elements.two_stems;
const formatSelect = form.elements.output_format;

function announce(text) {
  // Re-setting the same text is not announced: clear first.
  live.textContent = "";
  window.setTimeout(() => { live.textContent = text; }, 50);
}

const queue = new UploadQueue({
  config,
  list: document.querySelector("[data-queue]"),
  section: document.querySelector("[data-queue-section]"),
  summary: document.querySelector("[data-queue-summary]"),
  notice: document.querySelector("[data-queue-notice]"),
  csrfToken: form.elements.csrfmiddlewaretoken.value,
  announce,
  onCreated: (jobs) => {
    for (const job of jobs) wanted.add(String(job.id));
    schedule(0);
  },
});
queue.serverActive = Number(activeCount.textContent) || 0;
queue.credits = Number(credits.textContent);

// --- Progressive enhancement of the form -----------------------------------
document.querySelectorAll("[data-enhanced-only]").forEach((el) => { el.hidden = false; });
document.querySelector("[data-no-js-submit]").hidden = true;

function options() {
  return { model: modelSelect.value, two_stems: stemsSelect.value, output_format: formatSelect.value };
}

function limitStemChoices() {
  const model = config.models.find((m) => m.name === modelSelect.value);
  if (!model) return;
  for (const option of stemsSelect.options) {
    option.disabled = Boolean(option.value) && !model.stems.includes(option.value);
  }
  if (stemsSelect.selectedOptions[0] && stemsSelect.selectedOptions[0].disabled) stemsSelect.value = "";
}
modelSelect.addEventListener("change", limitStemChoices);
limitStemChoices();

function addFiles(files) {
  if (!files || !files.length) return;
  queue.add([...files], options());
  schedule(0);
}

fileInput.addEventListener("change", () => {
  addFiles(fileInput.files);
  fileInput.value = "";
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  addFiles(fileInput.files);
  fileInput.value = "";
});
for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("is-dragging");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, () => dropzone.classList.remove("is-dragging"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  addFiles(event.dataTransfer && event.dataTransfer.files);
});

// --- The job list ------------------------------------------------------------
// The server renders every row (jobs/_job_row*.html); polling jobs:status
// returns the rows shown, re-rendered, so the list, the upload queue and the
// credit notice always follow the same answer.
const firstPage = list.dataset.firstPage === "true";
const noCredits = document.querySelector("[data-no-credits-notice]");
const deleteForm = document.querySelector("[data-delete-form]");
const deleteSelected = deleteForm.querySelector("[data-delete-selected]");
const selectAll = deleteForm.querySelector("[data-select-all]");
const bodies = new Map(); // job id -> the row body's HTML as last rendered
const wanted = new Set(); // jobs just created, asked for by id until listed

function rows() {
  return [...list.querySelectorAll(":scope > [data-job]")];
}

function fromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

function stageName(row) {
  const label = row.querySelector("[data-status-label]");
  return label ? label.textContent : row.dataset.status;
}

function deleteLabel(button, job) {
  const active = ACTIVE.has(job.status);
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = active ? ` and delete ${job.filename}` : ` ${job.filename}`;
  button.replaceChildren(active ? "Cancel" : "Delete", hidden);
}

function updateRow(row, job, rendered) {
  const body = row.querySelector("[data-job-body]");
  if (bodies.get(job.id) === rendered.body) return;
  // Never pull a control from under the keyboard focus: the next poll does it.
  if (body.contains(document.activeElement)) return;
  const before = row.dataset.stage;
  const fresh = document.createElement("div");
  fresh.innerHTML = rendered.body;
  body.replaceChildren(...fresh.childNodes);
  deleteLabel(row.querySelector("[data-delete-one]"), job);
  row.classList.toggle("job-expired", Boolean(job.expired));
  row.dataset.status = job.status;
  row.dataset.stage = job.stage;
  bodies.set(job.id, rendered.body);
  if (before !== job.stage) {
    announce(`${job.filename}: ${stageName(row)}${job.error ? `. ${job.error}` : ""}`);
  }
}

function syncList(data) {
  const listed = new Set(data.jobs.map((job) => job.id));
  for (const row of rows()) {
    if (!listed.has(row.dataset.job)) {
      announce(`${row.querySelector(".job-name").textContent} was deleted.`);
      bodies.delete(row.dataset.job);
      row.remove();
    }
  }
  let previous = null;
  for (const job of data.jobs) {
    const rendered = data.rows[job.id];
    let row = list.querySelector(`:scope > [data-job="${job.id}"]`);
    if (row) {
      updateRow(row, job, rendered);
    } else {
      row = fromHtml(rendered.row);
      bodies.set(job.id, null);
      if (previous) previous.after(row);
      else list.prepend(row);
    }
    previous = row;
    wanted.delete(job.id);
  }
  emptyNote.hidden = rows().length > 0;
  deleteForm.hidden = rows().length === 0;
  updateSelection();
}

function showAccount(account) {
  credits.textContent = account.credits;
  activeCount.textContent = account.active_jobs;
  noCredits.hidden = account.credits >= 1;
}

async function refresh() {
  const ids = rows().map((row) => row.dataset.job);
  const fresh = [...wanted].filter((id) => !ids.includes(id));
  const query = new URLSearchParams({
    ids: ids.join(","), new: fresh.join(","), newest: firstPage ? "1" : "0",
  });
  const response = await fetch(`${list.dataset.statusUrl}?${query}`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) return true;
  const data = await response.json();
  const account = data.account;
  showAccount(account);
  syncList(data);
  const shown = rows().map((row) => row.dataset.job);
  queue.jobsShown(shown);
  queue.setServerState({ active: account.active_jobs, credits: account.credits, jobIds: shown });
  return account.active_jobs > 0 || queue.busy() || wanted.size > 0;
}

// Busy: every 2 s. Idle: every 20 s, and at once when the person comes back to
// the tab (from a checkout in another tab, say).
const IDLE_POLL_MS = 20000;
let timer = null;
function schedule(delay = POLL_MS) {
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

async function poll() {
  let busy = true;
  try {
    busy = await refresh();
  } catch {
    busy = true;
  }
  schedule(busy ? POLL_MS : IDLE_POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") schedule(0);
});
window.addEventListener("focus", () => schedule(0));

for (const row of rows()) {
  bodies.set(row.dataset.job, null); // first poll re-renders what the page had
}
schedule(rows().some((row) => ACTIVE.has(row.dataset.status)) ? 1000 : IDLE_POLL_MS);

// --- Deleting one or several --------------------------------------------------
function selected() {
  return rows().filter((row) => row.querySelector("[data-select]").checked);
}

function updateSelection() {
  const count = selected().length;
  deleteSelected.disabled = count === 0;
  deleteSelected.textContent = count ? `Delete selected (${count})` : "Delete selected";
  const all = rows().length;
  selectAll.checked = all > 0 && count === all;
  selectAll.indeterminate = count > 0 && count < all;
}

list.addEventListener("change", (event) => {
  if (event.target.matches("[data-select]")) updateSelection();
});
selectAll.addEventListener("change", () => {
  for (const row of rows()) row.querySelector("[data-select]").checked = selectAll.checked;
  updateSelection();
});
updateSelection();

deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const submitter = event.submitter;
  const one = submitter && submitter.name === "only";
  const targets = one ? rows().filter((row) => row.dataset.job === submitter.value) : selected();
  if (!targets.length) return;
  const active = targets.filter((row) => ACTIVE.has(row.dataset.status)).length;
  const names = targets.map((row) => row.querySelector(".job-name").textContent);
  let question = targets.length === 1 ? `Delete “${names[0]}” and its stems?` : `Delete ${targets.length} songs and their stems?`;
  if (active) question += " Songs still in progress are cancelled and their credits come back.";
  if (!window.confirm(`${question} This cannot be undone.`)) return;
  const body = new FormData();
  body.append("csrfmiddlewaretoken", deleteForm.elements.csrfmiddlewaretoken.value);
  for (const row of targets) body.append("ids", row.dataset.job);
  try {
    const response = await fetch(deleteForm.action, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const { deleted } = await response.json();
    for (const id of deleted) {
      const row = list.querySelector(`:scope > [data-job="${id}"]`);
      if (row) row.remove();
      bodies.delete(id);
    }
    announce(deleted.length === 1 ? `Deleted ${names[0]}.` : `Deleted ${deleted.length} songs.`);
    document.getElementById("jobs-heading").focus();
  } catch {
    announce("Deleting failed. Try again in a moment.");
  }
  schedule(0);
});

// Files still waiting live only in this tab: warn before leaving.
window.addEventListener("beforeunload", (event) => {
  if (queue.busy()) {
    event.preventDefault();
    event.returnValue = "";
  }
});
