// Keeps the job list current while jobs run, and announces changes politely.
const list = document.querySelector("[data-job-list]");
const live = document.querySelector("[data-live-region]");
const credits = document.querySelector("[data-credits]");
const activeCount = document.querySelector("[data-active-count]");
const ACTIVE = new Set(["queued", "running"]);

async function refresh() {
  const response = await fetch(list.dataset.statusUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return true;
  const data = await response.json();
  credits.textContent = data.credits;
  let active = 0;
  for (const job of data.jobs) {
    if (ACTIVE.has(job.status)) active += 1;
    const row = list.querySelector(`[data-job="${job.id}"]`);
    if (!row) continue;
    const before = row.dataset.status;
    const progress = row.querySelector("[data-progress]");
    if (progress) progress.value = job.progress;
    if (before !== job.status) {
      row.dataset.status = job.status;
      const label = row.querySelector("[data-status-label]");
      label.textContent = job.status_label;
      label.className = `badge badge-${job.status}`;
      if (progress && !ACTIVE.has(job.status)) progress.remove();
      live.textContent = `${job.filename}: ${job.status_label}${job.error ? ". " + job.error : ""}`;
    }
  }
  activeCount.textContent = active;
  return active > 0;
}

async function poll() {
  let again = true;
  try { again = await refresh(); } catch { again = true; }
  if (again) setTimeout(poll, 2000);
}

if (list && [...list.querySelectorAll("[data-status]")].some((row) => ACTIVE.has(row.dataset.status))) {
  setTimeout(poll, 1000);
}
