// The dashboard's client-side upload queue: takes any number of files and sends
// them one per POST to the API, only while fewer than `maxActive` jobs are in
// progress on the server, showing each file's upload progress and place in line.

import { ordinal } from "./job-state.js";

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

let nextId = 1;

// One key per file, kept across retries: a retried upload that had in fact
// arrived gets its job back instead of a second one (and a second charge).
function idempotencyKey() {
  if (window.crypto && crypto.randomUUID) return `queue-${crypto.randomUUID()}`;
  return `queue-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
const PARALLEL = 2; // uploads at once: the first songs start sooner than with all at once

export class UploadQueue {
  constructor({ config, list, section, summary, notice, csrfToken, announce, onCreated }) {
    this.config = config;
    this.list = list;
    this.section = section;
    this.summary = summary;
    this.notice = notice;
    this.csrfToken = csrfToken;
    this.announce = announce || (() => {});
    this.onCreated = onCreated || (() => {});
    this.items = [];
    this.serverActive = 0;
    this.credits = null;
    this.pendingIds = new Set(); // jobs we created that the last poll did not list yet
    this.blockedUntil = 0;
    this.pausedReason = null;
    this.timer = null;
  }

  get uploading() {
    return this.items.filter((item) => item.state === "uploading").length;
  }

  get waiting() {
    return this.items.filter((item) => item.state === "waiting");
  }

  busy() {
    return this.items.some((item) => item.state === "waiting" || item.state === "uploading");
  }

  add(files, options) {
    const added = [];
    for (const file of files) {
      const item = {
        id: nextId++, key: idempotencyKey(), file, options: { ...options }, state: "waiting", xhr: null,
      };
      this.items.push(item);
      this.render(item);
      if (file.size > this.config.max_upload_bytes) {
        const mb = Math.round(this.config.max_upload_bytes / 1048576);
        this.fail(item, `Too large: each file can be at most ${mb} MB.`, false);
      }
      added.push(item);
    }
    this.section.hidden = false;
    this.announce(`${added.length} file${added.length === 1 ? "" : "s"} added to the upload queue.`);
    if (this.pausedReason === "credits" && this.credits > 0) this.resume();
    this.pump();
    return added;
  }

  // What the latest poll of the status endpoint said.
  setServerState({ active, credits, jobIds }) {
    const listed = new Set(jobIds);
    for (const id of [...this.pendingIds]) if (listed.has(id)) this.pendingIds.delete(id);
    this.serverActive = active + this.pendingIds.size;
    const before = this.credits;
    this.credits = credits;
    if (this.pausedReason === "credits" && credits > 0 && before !== credits) this.resume();
    this.pump();
  }

  freeSlots() {
    return this.config.max_active - this.serverActive - this.uploading;
  }

  pump() {
    clearTimeout(this.timer);
    const now = Date.now();
    if (this.blockedUntil > now) {
      this.timer = setTimeout(() => this.pump(), this.blockedUntil - now + 50);
    } else if (!this.pausedReason) {
      while (this.freeSlots() > 0 && this.waiting.length && this.uploading < PARALLEL) {
        if (this.credits !== null && this.credits - this.uploading < 1) {
          // Out of credits once the uploads in flight land: wait for them, then pause.
          if (!this.uploading) this.pause("credits");
          break;
        }
        this.send(this.waiting[0]);
      }
    }
    this.refresh();
  }

  pause(reason) {
    this.pausedReason = reason;
    this.notice.replaceChildren();
    if (reason === "credits") {
      const how = this.config.payments ? "Buy a credit pack" : "How to get credits";
      this.notice.append(
        "You are out of credits, so the files below wait. ",
        element("a", { href: this.config.credits_url }, how),
        ": the queue goes on by itself when your credits arrive.",
      );
    } else {
      this.notice.append(reason);
    }
    const resume = element("button", { type: "button", class: "link-button" }, "Try again");
    resume.addEventListener("click", () => this.resume());
    this.notice.append(" ", resume);
    this.notice.hidden = false;
  }

  resume() {
    this.pausedReason = null;
    this.notice.hidden = true;
    this.pump();
  }

  send(item) {
    item.state = "uploading";
    item.progress = 0;
    const body = new FormData();
    body.append("file", item.file, item.file.name);
    body.append("model", item.options.model);
    if (item.options.two_stems) body.append("two_stems", item.options.two_stems);
    body.append("output_format", item.options.output_format);
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", this.config.api_url);
    xhr.setRequestHeader("X-CSRFToken", this.csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Idempotency-Key", item.key);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        item.progress = Math.round((event.loaded / event.total) * 100);
        this.renderState(item);
      }
    });
    xhr.addEventListener("load", () => this.answered(item, xhr));
    xhr.addEventListener("error", () => this.fail(item, "The upload failed: the connection was lost.", true));
    xhr.addEventListener("abort", () => {});
    xhr.send(body);
    this.renderState(item);
  }

  answered(item, xhr) {
    let data = {};
    try {
      data = JSON.parse(xhr.responseText || "{}");
    } catch {
      data = {};
    }
    const detail = data.detail || "";
    const status = xhr.status;
    if (status === 201) {
      item.state = "done";
      const jobs = Array.isArray(data) ? data : [];
      item.jobIds = jobs.map((job) => String(job.id));
      for (const id of item.jobIds) this.pendingIds.add(id);
      this.serverActive += jobs.length || 1;
      if (this.credits !== null) this.credits -= jobs.length || 1;
      item.jobUrl = jobs[0] ? `/jobs/${jobs[0].id}/` : null;
      this.announce(`${item.file.name} uploaded; it is now in your jobs below.`);
      this.onCreated(jobs);
    } else if (status === 429) {
      const seconds = Number(xhr.getResponseHeader("Retry-After")) || 5;
      // Back to the front of the line; the server's count was ahead of ours.
      this.items.splice(this.items.indexOf(item), 1);
      const first = this.items.findIndex((other) => other.state === "waiting");
      this.items.splice(first < 0 ? this.items.length : first, 0, item);
      item.state = "waiting";
      this.serverActive = Math.max(this.serverActive, this.config.max_active);
      this.blockedUntil = Date.now() + seconds * 1000;
    } else if (status === 402) {
      this.fail(item, `Not enough credits. ${detail}`.trim(), true);
      this.credits = 0;
      this.pause("credits");
    } else if (status === 403) {
      this.fail(item, detail || "Your account cannot upload yet.", true);
      this.pause(detail || "Uploads are not allowed for this account yet.");
    } else if (status === 413) {
      const mb = Math.round(this.config.max_upload_bytes / 1048576);
      this.fail(item, `Too large: ${detail || `each file can be at most ${mb} MB.`}`, false);
    } else if (status === 400 || status === 422) {
      this.fail(item, `Not accepted: ${detail || "this file or these options were refused."}`, false);
    } else if (status === 401 || status === 0) {
      this.fail(item, "You were signed out. Reload the page and log in again.", true);
    } else {
      this.fail(item, `The upload failed (server error ${status}). Try again in a moment.`, true);
    }
    this.renderState(item);
    this.pump();
  }

  fail(item, message, retryable) {
    item.state = "error";
    item.message = message;
    item.retryable = retryable;
    this.announce(`${item.file.name}: ${message}`);
    this.renderState(item);
  }

  // The job list now shows these jobs: their uploads leave the queue, so that a
  // song is never described in two places at once.
  jobsShown(ids) {
    const shown = new Set(ids);
    for (const item of [...this.items]) {
      if (item.state === "done" && item.jobIds && item.jobIds.every((id) => shown.has(id))) {
        this.items.splice(this.items.indexOf(item), 1);
        item.node.remove();
      }
    }
    if (!this.items.length) this.section.hidden = true;
    this.refresh();
  }

  remove(item) {
    if (item.state === "uploading") return;
    this.items.splice(this.items.indexOf(item), 1);
    item.node.remove();
    this.announce(`${item.file.name} removed from the queue.`);
    if (!this.items.length) this.section.hidden = true;
    this.pump();
  }

  retry(item) {
    item.state = "waiting";
    item.message = "";
    this.pump();
  }

  render(item) {
    const node = element("li", { class: "queue-item", "data-queue-item": "" });
    const name = element("span", { class: "queue-name" }, item.file.name);
    const progress = element("progress", { max: "100", value: "0", "aria-label": `Upload of ${item.file.name}` });
    const status = element("span", { class: "queue-status", "data-queue-status": "" });
    const actions = element("span", { class: "queue-actions" });
    node.append(name, progress, status, actions);
    item.node = node;
    this.list.append(node);
    this.renderState(item);
  }

  renderState(item) {
    const node = item.node;
    if (!node) return;
    node.dataset.state = item.state;
    const progress = node.querySelector("progress");
    const status = node.querySelector("[data-queue-status]");
    const actions = node.querySelector(".queue-actions");
    actions.replaceChildren();
    progress.hidden = item.state !== "uploading" && item.state !== "done";
    if (item.state === "waiting") {
      const place = this.waiting.indexOf(item) + 1;
      status.textContent = `Waiting, ${ordinal(place)} in line`;
      progress.value = 0;
    } else if (item.state === "uploading") {
      progress.value = item.progress || 0;
      status.textContent = `Uploading ${item.progress || 0}%`;
    } else if (item.state === "done") {
      progress.value = 100;
      status.replaceChildren("Uploaded");
    } else if (item.state === "error") {
      status.textContent = item.message;
    }
    if (item.state === "error" && item.retryable) {
      const retry = element("button", { type: "button", class: "link-button" }, "Retry");
      retry.append(element("span", { class: "visually-hidden" }, ` ${item.file.name}`));
      retry.addEventListener("click", () => this.retry(item));
      actions.append(retry);
    }
    if (item.state === "waiting" || item.state === "error" || item.state === "done") {
      const label = item.state === "done" ? "Dismiss" : "Remove";
      const remove = element("button", { type: "button", class: "link-button" }, label);
      remove.append(element("span", { class: "visually-hidden" }, ` ${item.file.name}`));
      remove.addEventListener("click", () => this.remove(item));
      actions.append(remove);
    }
  }

  refresh() {
    for (const item of this.items) if (item.state === "waiting") this.renderState(item);
    const waiting = this.waiting.length;
    const uploading = this.uploading;
    const parts = [];
    if (uploading) parts.push(`${uploading} uploading`);
    if (waiting) parts.push(`${waiting} waiting`);
    let text = parts.join(", ");
    if (waiting && this.freeSlots() <= 0) {
      text += `: ${this.config.max_active} songs are in progress, the next starts when one finishes.`;
    } else if (!text) {
      text = "All files are uploaded.";
    }
    this.summary.textContent = text;
    this.section.dataset.waiting = String(waiting);
    this.section.dataset.uploading = String(uploading);
  }
}
