// The job page: the stem player, live progress while separating, delete confirm.
import { jobStateText, showStage } from "./job-state.js";
import { initPlayers } from "./player.js";
import { initPractice } from "./practice.js";

const players = initPlayers();
const [practice] = initPractice(players);
const player = players[0];

// Shortcuts also work when nothing in particular has the focus.
document.addEventListener("keydown", (event) => {
  if (player && (event.target === document.body || event.target.id === "main-content")) {
    if (!player.handleKey(event) && practice) practice.handleKey(event);
  }
});

const confirmForm = document.querySelector("form[data-confirm]");
if (confirmForm) {
  confirmForm.addEventListener("submit", (event) => {
    if (!window.confirm(confirmForm.dataset.confirm)) event.preventDefault();
  });
}

const box = document.querySelector("[data-job-progress]");
if (box) {
  const progress = box.querySelector("[data-progress]");
  const text = box.querySelector("[data-progress-text]");
  const stages = box.querySelector("[data-stages]");
  const live = box.querySelector("[data-live-region]");
  const label = document.querySelector("[data-status-label]");
  const labels = JSON.parse(document.getElementById("status-labels").textContent);
  let stage = stages.querySelector("[aria-current]")?.dataset.stage || "waiting";
  showStage(stages, stage);
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.status === 404) {
        text.textContent = "This job was deleted.";
        return;
      }
      if (!response.ok) throw new Error(`status ${response.status}`);
      const job = await response.json(); // the API's `job`
      progress.value = job.progress;
      progress.textContent = `${job.progress}%`;
      text.textContent = jobStateText(job);
      showStage(stages, job.stage);
      // As Job.status_label: the badge agrees with the stage text beside it.
      const status = job.stage === "encoding" ? "Encoding" : labels[job.status] || job.status;
      if (label.textContent !== status) {
        label.textContent = status;
        label.className = `badge badge-${job.status}`;
      }
      if (job.stage !== stage) {
        stage = job.stage;
        live.textContent = `${stages.querySelector(`[data-stage="${stage}"]`)?.textContent || status}.`;
      }
      if (job.status !== "queued" && job.status !== "running") {
        window.location.reload();
        return;
      }
    } catch {
      // try again on the next tick
    }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1000);
}
