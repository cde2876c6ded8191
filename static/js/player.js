// A synced multi-stem player: one <audio> per stem, one transport, per-stem
// mute, solo and volume, and a waveform per stem drawn from server peaks.
// Markup: templates/includes/player.html. Data: a json_script whose id is in
// the root's data-player-data attribute ({duration, stems: [{name, peaks}]}).

const DRIFT = 0.06; // seconds a stem may drift from the first before it is moved
const SKIP = 5; // seconds per arrow key
const READY_TIMEOUT = 15000;
const RECONNECT_PAUSE = 10000; // ms between two reloads of one stem after an error

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function cssVar(element, name, fallback) {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

function whenReady(audio) {
  if (audio.readyState >= 3) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      audio.removeEventListener("canplay", done);
      audio.removeEventListener("error", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, READY_TIMEOUT);
    audio.addEventListener("canplay", done);
    audio.addEventListener("error", done);
  });
}

function drawWave(canvas, peaks, fraction, disabled) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  const played = cssVar(canvas, "--wave-played", "#4b2bd6");
  const rest = cssVar(canvas, "--wave", "#9aa0b4");
  const head = cssVar(canvas, "--playhead", "#16161d");
  const bar = Math.max(1, Math.round(2 * ratio));
  const gap = Math.max(1, Math.round(ratio));
  const count = Math.max(1, Math.floor(width / (bar + gap)));
  const middle = height / 2;
  const split = fraction * width;
  for (let i = 0; i < count; i += 1) {
    const from = Math.floor((i / count) * peaks.length);
    const to = Math.max(from + 1, Math.floor(((i + 1) / count) * peaks.length));
    let peak = 0;
    for (let j = from; j < to && j < peaks.length; j += 1) peak = Math.max(peak, peaks[j]);
    const x = i * (bar + gap);
    const h = Math.max(ratio, peak * (height - 2 * ratio));
    context.fillStyle = !disabled && x < split ? played : rest;
    context.fillRect(x, middle - h / 2, bar, h);
  }
  if (!disabled && fraction > 0) {
    context.fillStyle = head;
    context.fillRect(Math.min(width - ratio * 2, split), 0, Math.max(1, ratio * 2), height);
  }
}

export class Player {
  constructor(root) {
    this.root = root;
    const dataNode = document.getElementById(root.dataset.playerData);
    this.data = dataNode ? JSON.parse(dataNode.textContent) : { duration: 0, stems: [] };
    this.disabled = root.dataset.disabled === "true";
    this.rows = [...root.querySelectorAll("[data-stem]")];
    // The stems' own elements; `audios` is what plays: the stems, or one
    // rendered mix while the key is changed (practice.js).
    this.stemAudios = this.rows.map((row) => row.querySelector("audio")).filter(Boolean);
    this.audios = this.stemAudios;
    this.tickHooks = [];
    this.mixHooks = [];
    this.muted = new Set();
    this.soloed = new Set();
    this.playing = false;
    this.position = 0;
    this.duration = this.data.duration || 0;
    this.playButton = root.querySelector("[data-play]");
    this.seekInput = root.querySelector("[data-seek]");
    this.currentLabel = root.querySelector("[data-current]");
    this.durationLabel = root.querySelector("[data-duration]");
    this.status = root.querySelector("[data-player-status]");
    this.frame = null;
    this.canvases = this.rows.map((row) => row.querySelector("canvas"));
    this.peaks = this.rows.map((row) => {
      const stem = this.data.stems.find((s) => s.name === row.dataset.stem);
      return stem ? stem.peaks : [];
    });
    // Scale every waveform by the loudest peak of the set: a quiet song fills the
    // height, and the stems keep their loudness relative to each other.
    // The full mix's waveform: the stems' peaks added up (an upper bound of the
    // song's, close enough to see where it is loud).
    this.mixRow = root.querySelector("[data-full-mix]");
    this.mixButton = root.querySelector("[data-full-mix-toggle]");
    this.mixCanvas = root.querySelector("[data-full-mix-wave]");
    this.fullMix = false;
    const longest = Math.max(0, ...this.peaks.map((peaks) => peaks.length));
    const summed = Array.from({ length: longest }, (_, i) =>
      this.peaks.reduce((total, peaks) => total + (peaks[i] || 0), 0));
    const loudest = Math.max(0.05, ...this.peaks.flat());
    this.peaks = this.peaks.map((peaks) => peaks.map((peak) => Math.min(1, peak / loudest)));
    const loudestMix = Math.max(0.05, ...summed);
    this.mixPeaks = summed.map((peak) => peak / loudestMix);
    this.enhance();
  }

  enhance() {
    this.root.classList.add("player-enhanced");
    this.root.querySelectorAll("[data-enhanced-only]").forEach((el) => { el.hidden = false; });
    this.draw();
    new ResizeObserver(() => this.draw()).observe(this.root);
    if (this.disabled) return;
    for (const audio of this.audios) {
      audio.controls = false;
      audio.addEventListener("loadedmetadata", () => {
        if (!this.duration && audio.duration && Number.isFinite(audio.duration)) {
          this.duration = audio.duration;
          this.updateTime();
        }
      });
    }
    for (const audio of this.stemAudios) this.keepConnected(audio);
    if (this.stemAudios[0]) this.stemAudios[0].addEventListener("ended", () => this.stop());
    this.playButton.addEventListener("click", () => this.toggle());
    this.seekInput.max = String(this.duration || 0);
    this.seekInput.addEventListener("input", () => this.seek(Number(this.seekInput.value)));
    this.rows.forEach((row, index) => {
      row.querySelector("[data-mute]").addEventListener("click", () => this.toggleMute(index));
      row.querySelector("[data-solo]").addEventListener("click", () => this.toggleSolo(index));
      const volume = row.querySelector("[data-volume]");
      volume.addEventListener("input", () => {
        for (const hook of this.mixHooks) hook();
        if (!this.fullMix) this.stemAudios[index].volume = Number(volume.value);
        volume.setAttribute("aria-valuetext", `${Math.round(Number(volume.value) * 100)}%`);
      });
      this.canvases[index].addEventListener("click", (event) => {
        const box = this.canvases[index].getBoundingClientRect();
        this.seek(((event.clientX - box.left) / box.width) * this.duration);
      });
    });
    if (this.mixButton) {
      this.mixButton.addEventListener("click", () => this.toggleFullMix());
      this.mixCanvas.addEventListener("click", (event) => {
        const box = this.mixCanvas.getBoundingClientRect();
        this.seek(((event.clientX - box.left) / box.width) * this.duration);
      });
    }
    this.root.addEventListener("keydown", (event) => this.handleKey(event));
    window.addEventListener("player:play", (event) => {
      if (event.detail !== this && this.playing) this.pause();
    });
    this.updateTime();
  }

  handleKey(event) {
    if (this.disabled || event.ctrlKey || event.metaKey || event.altKey) return false;
    const target = event.target;
    const tag = target.tagName;
    const onButton = tag === "BUTTON" || tag === "A";
    const onSeek = target === this.seekInput;
    const onOtherInput = (tag === "INPUT" && !onSeek) || tag === "SELECT" || tag === "TEXTAREA";
    const key = event.key;
    if ((key === " " || key === "k") && !onButton && !onOtherInput) {
      event.preventDefault();
      this.toggle();
      return true;
    }
    if ((key === "ArrowLeft" || key === "ArrowRight") && !onOtherInput) {
      event.preventDefault();
      this.seek(this.position + (key === "ArrowLeft" ? -SKIP : SKIP));
      return true;
    }
    if (key === "f" && this.mixButton && !onOtherInput) {
      event.preventDefault();
      this.toggleFullMix();
      return true;
    }
    if ((key === "m" || key === "s") && !onOtherInput) {
      const row = target.closest && target.closest("[data-stem]");
      const index = this.rows.indexOf(row);
      if (index < 0) return false;
      event.preventDefault();
      if (key === "m") this.toggleMute(index);
      else this.toggleSolo(index);
      return true;
    }
    return false;
  }

  // On object storage a stem's link redirects to a presigned URL that works
  // for a few minutes, and the browser asks that URL for the rest of the file:
  // a stem left paused past it fails at its next range. Loading it again goes
  // through our link (a fresh URL), and it carries on where the player is. At
  // most once per RECONNECT_PAUSE, so a stem that is really gone stays failed.
  keepConnected(audio) {
    audio.addEventListener("error", () => {
      const error = audio.error;
      const now = Date.now();
      if (!error || error.code === MediaError.MEDIA_ERR_ABORTED) return;
      if (now - (audio.reconnectedAt || 0) < RECONNECT_PAUSE) return;
      audio.reconnectedAt = now;
      audio.addEventListener("loadedmetadata", () => {
        audio.currentTime = this.position;
        if (this.playing && this.audios.includes(audio)) audio.play().catch(() => {});
      }, { once: true });
      audio.load();
    });
  }

  async toggle() {
    if (this.playing) this.pause();
    else await this.play();
  }

  async play() {
    if (this.disabled || !this.audios.length) return;
    this.playing = true;
    window.dispatchEvent(new CustomEvent("player:play", { detail: this }));
    this.setPlayButton();
    const start = this.position >= this.duration - 0.05 ? 0 : this.position;
    const waiting = this.audios.filter((audio) => audio.readyState < 3);
    if (waiting.length) {
      this.announce("Loading…");
      for (const audio of this.audios) {
        audio.preload = "auto";
        if (audio.readyState === 0) audio.load();
      }
      await Promise.all(this.audios.map(whenReady));
      this.announce("");
      if (!this.playing) return;
    }
    for (const audio of this.audios) audio.currentTime = start;
    this.position = start;
    try {
      await Promise.all(this.audios.map((audio) => audio.play()));
    } catch (error) {
      this.pause();
      this.announce("The browser did not start playback. Press play again.");
      return;
    }
    this.tick();
  }

  pause() {
    this.playing = false;
    for (const audio of this.audios) audio.pause();
    if (this.audios[0]) this.position = this.audios[0].currentTime;
    cancelAnimationFrame(this.frame);
    this.setPlayButton();
    this.updateTime();
  }

  stop() {
    this.pause();
    this.seek(0);
  }

  seek(seconds) {
    if (this.disabled) return;
    const limit = this.duration || 0;
    this.position = Math.min(Math.max(0, seconds || 0), limit);
    for (const audio of this.audios) {
      if (audio.readyState > 0) audio.currentTime = this.position;
    }
    this.updateTime();
  }

  tick() {
    const master = this.audios[0];
    if (!this.playing || !master) return;
    this.position = master.currentTime;
    for (const hook of this.tickHooks) hook(this.position);
    const now = performance.now();
    for (const audio of this.audios.slice(1)) {
      // Re-align a stem that drifted, at most once a second (a seek stalls briefly).
      const drifted = Math.abs(audio.currentTime - this.position) > DRIFT;
      if (drifted && !audio.paused && !audio.seeking && now - (audio.alignedAt || 0) > 1000) {
        audio.alignedAt = now;
        audio.currentTime = this.position;
      }
    }
    this.updateTime();
    this.frame = requestAnimationFrame(() => this.tick());
  }

  toggleMute(index) {
    if (this.muted.has(index)) this.muted.delete(index);
    else this.muted.add(index);
    this.applyMix();
  }

  toggleSolo(index) {
    if (this.soloed.has(index)) this.soloed.delete(index);
    else this.soloed.add(index);
    this.applyMix();
  }

  // A/B: every stem at full volume (the song as it was), then back to the
  // person's own mutes, solos and volumes, which are kept meanwhile.
  toggleFullMix() {
    this.fullMix = !this.fullMix;
    this.mixButton.setAttribute("aria-pressed", String(this.fullMix));
    this.mixButton.textContent = this.fullMix ? "Back to your mix" : "Hear the full mix";
    this.root.classList.toggle("is-full-mix", this.fullMix);
    this.applyMix();
    this.announce(this.fullMix ? "Playing the full mix." : "Playing your mix.");
  }

  // What the person hears, as gains for a server mix: {stem: 0..1}, silent
  // stems left out.
  effectiveGains() {
    const gains = {};
    this.rows.forEach((row, index) => {
      const silent = this.soloed.size ? !this.soloed.has(index) : this.muted.has(index);
      const volume = this.fullMix ? 1 : Number(row.querySelector("[data-volume]").value);
      if (this.fullMix || (!silent && volume > 0)) gains[row.dataset.stem] = volume;
    });
    return gains;
  }

  applyMix() {
    for (const hook of this.mixHooks) hook();
    this.rows.forEach((row, index) => {
      const chosenSilent = this.soloed.size ? !this.soloed.has(index) : this.muted.has(index);
      const silent = !this.fullMix && chosenSilent;
      const audio = this.stemAudios[index];
      if (audio) {
        audio.muted = silent;
        audio.volume = this.fullMix ? 1 : Number(row.querySelector("[data-volume]").value);
      }
      row.classList.toggle("is-silent", silent);
      row.dataset.audible = String(!silent);
      row.querySelector("[data-mute]").setAttribute("aria-pressed", String(this.muted.has(index)));
      row.querySelector("[data-solo]").setAttribute("aria-pressed", String(this.soloed.has(index)));
    });
  }

  setPlayButton() {
    if (!this.playButton) return;
    this.playButton.setAttribute("aria-label", this.playing ? "Pause" : "Play");
    this.playButton.dataset.state = this.playing ? "playing" : "paused";
    this.root.dataset.state = this.playing ? "playing" : "paused";
  }

  updateTime() {
    const fraction = this.duration ? this.position / this.duration : 0;
    if (this.currentLabel) this.currentLabel.textContent = formatTime(this.position);
    if (this.durationLabel) this.durationLabel.textContent = formatTime(this.duration);
    if (this.seekInput) {
      this.seekInput.value = String(this.position);
      this.seekInput.setAttribute(
        "aria-valuetext",
        `${formatTime(this.position)} of ${formatTime(this.duration)}`,
      );
    }
    this.root.dataset.position = this.position.toFixed(2);
    this.canvases.forEach((canvas, index) => {
      if (canvas) drawWave(canvas, this.peaks[index], fraction, this.disabled);
    });
    if (this.mixCanvas) drawWave(this.mixCanvas, this.mixPeaks, fraction, this.disabled);
  }

  draw() {
    this.updateTime();
  }

  announce(text) {
    if (this.status) this.status.textContent = text;
  }
}

export function initPlayers(scope = document) {
  return [...scope.querySelectorAll("[data-player]")].map((root) => new Player(root));
}
