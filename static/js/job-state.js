// Where an active job stands, in a person's words, from the API's `job`:
// the same sentences as jobs/delivery/presenters.job_state_text.

export function ordinal(n) {
  const rest = n % 100;
  if (rest >= 11 && rest <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"}`;
}

export function about(seconds) {
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min`;
  return `about ${Math.round(minutes / 60)} h`;
}

const secondsUntil = (iso, now) => (Date.parse(iso) - now) / 1000;

export function jobStateText(job, now = Date.now()) {
  if (job.stage === "waiting") {
    if (!job.queue_position) return "Waiting for a free slot.";
    const place = job.queue_position === 1 ? "Next in line" : `${ordinal(job.queue_position)} in line`;
    if (job.estimated_start && job.estimated_finish) {
      const starts = secondsUntil(job.estimated_start, now);
      const ready = secondsUntil(job.estimated_finish, now);
      const startText = starts >= 30 ? `starts in ${about(starts)}` : "starts soon";
      return `${place}, ${startText}; stems ready in ${about(ready)}.`;
    }
    return `${place}.`;
  }
  if (job.stage === "separating") {
    let text = `Separating: ${job.progress}%`;
    if (job.estimated_finish) text += `, ${about(secondsUntil(job.estimated_finish, now))} left`;
    return `${text}.`;
  }
  if (job.stage === "encoding") return "Encoding the stems: almost ready.";
  return "";
}

export const STAGES = ["waiting", "separating", "encoding", "ready"];

// Mark the current stage of an <ol data-stages> and those before it as done.
export function showStage(list, stage) {
  const current = STAGES.indexOf(stage);
  for (const item of list.querySelectorAll("[data-stage]")) {
    const index = STAGES.indexOf(item.dataset.stage);
    item.classList.toggle("is-done", index < current);
    if (index === current) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
}
