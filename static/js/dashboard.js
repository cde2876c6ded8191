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
  onCreated: () => schedule(300),
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
function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

// The polled jobs have the API's `job` shape; the page adds its link and label.
const statusLabel = (job) => config.status_labels[job.status] || job.status;
const pageUrl = (job) => `${config.job_page_url}${job.id}/`;

function newRow(job) {
  const row = el("li", { class: "job", "data-job": job.id, "data-status": job.status });
  const main = el("div", { class: "job-main" });
  main.append(el("a", { class: "job-name", href: pageUrl(job) }, job.filename));
  const meta = [job.model];
  if (job.two_stems) meta.push(`${job.two_stems} + rest`);
  meta.push(job.output_format.toUpperCase());
  main.append(el("span", { class: "job-meta" }, meta.join(" · ")));
  const state = el("div", { class: "job-state" });
  state.append(el("span", { class: `badge badge-${job.status}`, "data-status-label": "" }, statusLabel(job)));
  row.append(main, state);
  updateRow(row, job, true);
  return row;
}

function updateRow(row, job, fresh = false) {
  const state = row.querySelector(".job-state");
  let progress = row.querySelector("[data-progress]");
  if (ACTIVE.has(job.status)) {
    if (!progress) {
      progress = el("progress", { max: "100", "data-progress": "", "aria-label": `Progress of ${job.filename}` });
      state.append(progress);
    }
    progress.value = job.progress;
    progress.textContent = `${job.progress}%`;
  } else if (progress) {
    progress.remove();
  }
  if (row.dataset.status === job.status && !fresh) return;
  row.dataset.status = job.status;
  const label = row.querySelector("[data-status-label]");
  label.textContent = statusLabel(job);
  label.className = `badge badge-${job.status}`;
  state.querySelectorAll(".job-error, .muted").forEach((node) => node.remove());
  if (job.status === "failed" && job.error) state.append(el("span", { class: "job-error" }, job.error));
  if (job.expired) {
    row.classList.add("job-expired");
    state.append(el("span", { class: "muted" }, "Expired: stems deleted after 24 hours"));
  }
  if (!fresh) {
    announce(`${job.filename}: ${statusLabel(job)}${job.error ? `. ${job.error}` : ""}`);
  }
}

async function refresh() {
  const response = await fetch(list.dataset.statusUrl, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) return true;
  const data = await response.json();
  const account = data.account;
  credits.textContent = account.credits;
  activeCount.textContent = account.active_jobs;
  for (const job of [...data.jobs].reverse()) {
    const row = list.querySelector(`[data-job="${job.id}"]`);
    if (row) updateRow(row, job);
    else list.prepend(newRow(job));
  }
  emptyNote.hidden = list.children.length > 0;
  queue.setServerState({
    active: account.active_jobs,
    credits: account.credits,
    jobIds: data.jobs.map((job) => job.id),
  });
  return account.active_jobs > 0 || queue.busy();
}

let timer = null;
function schedule(delay = POLL_MS) {
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

async function poll() {
  let again = true;
  try {
    again = await refresh();
  } catch {
    again = true;
  }
  if (again) schedule();
}

if ([...list.querySelectorAll("[data-status]")].some((row) => ACTIVE.has(row.dataset.status))) {
  schedule(1000);
}

// Files still waiting live only in this tab: warn before leaving.
window.addEventListener("beforeunload", (event) => {
  if (queue.busy()) {
    event.preventDefault();
    event.returnValue = "";
  }
});
