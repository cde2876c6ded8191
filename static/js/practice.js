// Practice tools of a player (static/js/player.js): tempo with the pitch kept,
// an A/B loop, minus-one presets heard at once, and, on a job's page (the
// panel has data-mixes-url), a key change and "Download this mix", rendered on
// the server by the mixes API (POST {gains, start, end, tempo, semitones,
// output_format}, then poll the mix until it is ready).
// Markup: templates/includes/player.html, [data-practice].

import { formatTime } from "./player.js";

const POLL_MS = 1000;
const MIN_LOOP = 0.1; // seconds between A and B

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

async function answerOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    throw new Error((body && body.detail) || `The server answered ${response.status}. Try again.`);
  }
  return body;
}

// A mix of this job's stems: the one already rendered, or a new render.
async function mixRequest(url, parameters) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(parameters),
    });
  } catch (error) {
    throw new Error("No connection to the server: check your network and try again.");
  }
  return answerOf(response);
}

async function mixReady(mix, onProgress) {
  let current = mix;
  while (current.status === "queued" || current.status === "running") {
    onProgress(current);
    await sleep(POLL_MS);
    try {
      current = await answerOf(
        await fetch(current.url, { credentials: "same-origin", headers: { Accept: "application/json" } }),
      );
    } catch (error) {
      await sleep(POLL_MS); // a lost poll is asked again
    }
  }
  if (current.status !== "succeeded") {
    throw new Error(current.error || "The mix could not be rendered. Try again.");
  }
  return current;
}

function save(url) {
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

function keyWords(steps) {
  if (!steps) return "the original key";
  const size = Math.abs(steps) === 1 ? "semitone" : "semitones";
  return `${Math.abs(steps)} ${size} ${steps > 0 ? "up" : "down"}`;
}

export class Practice {
  constructor(player) {
    this.player = player;
    this.panel = player.root.querySelector("[data-practice]");
    if (!this.panel || player.disabled) return;
    this.tempo = 1;
    this.loopStart = null;
    this.loopEnd = null;
    this.semitones = 0;
    this.keyRequest = 0;
    this.keyAudio = null;
    this.presetActive = false;
    this.mixesUrl = this.panel.querySelector("[data-mixes-url]")?.dataset.mixesUrl || "";
    this.bindTempo();
    this.bindLoop();
    this.bindKey();
    this.bindDownload();
    this.bindPresets();
    player.tickHooks.push((position) => this.keepInLoop(position));
    player.root.addEventListener("keydown", (event) => this.handleKey(event));
  }

  // --- Tempo: the browser's own time-stretch, every element at one rate ---

  bindTempo() {
    this.tempoInput = this.panel.querySelector("[data-tempo]");
    this.tempoValue = this.panel.querySelector("[data-tempo-value]");
    this.tempoInput.addEventListener("input", () => this.setTempo(Number(this.tempoInput.value)));
    this.panel.querySelector("[data-tempo-reset]").addEventListener("click", () => this.setTempo(1));
  }

  setTempo(rate) {
    this.tempo = Math.min(1.5, Math.max(0.5, rate));
    this.tempoInput.value = String(this.tempo);
    for (const audio of this.elements()) this.applyRate(audio);
    const percent = Math.round(this.tempo * 100);
    this.tempoValue.textContent = `${this.tempo.toFixed(2)}×`;
    this.tempoInput.setAttribute(
      "aria-valuetext",
      percent === 100 ? "100%, normal speed" : `${percent}% of the normal speed`,
    );
  }

  // Both rates: loading an element (the first play) resets playbackRate to
  // defaultPlaybackRate.
  applyRate(audio) {
    audio.preservesPitch = true;
    audio.defaultPlaybackRate = this.tempo;
    audio.playbackRate = this.tempo;
  }

  elements() {
    return [...this.player.stemAudios, ...(this.keyAudio ? [this.keyAudio] : [])];
  }

  // --- A/B loop: kept through seeks and tempo changes ---

  bindLoop() {
    this.loopLabel = this.panel.querySelector("[data-loop-label]");
    this.panel.querySelector("[data-loop-a]").addEventListener("click", () => this.setLoopStart());
    this.panel.querySelector("[data-loop-b]").addEventListener("click", () => this.setLoopEnd());
    this.panel.querySelector("[data-loop-clear]").addEventListener("click", () => this.clearLoop());
  }

  setLoopStart() {
    this.loopStart = this.player.position;
    if (this.loopEnd !== null && this.loopEnd < this.loopStart + MIN_LOOP) this.loopEnd = null;
    this.showLoop();
  }

  setLoopEnd() {
    const position = this.player.position;
    const start = this.loopStart ?? 0;
    if (position < start + MIN_LOOP) {
      this.showLoop("B must come after A: play on a little, then set B.");
      return;
    }
    this.loopStart = start;
    this.loopEnd = position;
    this.showLoop();
  }

  clearLoop() {
    this.loopStart = null;
    this.loopEnd = null;
    this.showLoop();
  }

  hasLoop() {
    return this.loopStart !== null && this.loopEnd !== null;
  }

  showLoop(message = "") {
    const time = formatTime;
    let text = message;
    if (!text && this.hasLoop()) text = `Looping ${time(this.loopStart)} to ${time(this.loopEnd)}.`;
    else if (!text && this.loopStart !== null) text = `A at ${time(this.loopStart)}: now set B.`;
    else if (!text) text = "No loop: press A at the start and B at the end of a part.";
    this.loopLabel.textContent = text;
    this.player.root.dataset.loop = this.hasLoop()
      ? `${this.loopStart.toFixed(2)}-${this.loopEnd.toFixed(2)}`
      : "";
    this.player.announce(text);
  }

  keepInLoop(position) {
    if (!this.hasLoop() || !this.player.playing) return;
    if (position >= this.loopEnd || position < this.loopStart - 0.5) this.player.seek(this.loopStart);
  }

  handleKey(event) {
    if (!this.panel || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target.tagName;
    const typing = (tag === "INPUT" && event.target.type !== "range") || tag === "SELECT" || tag === "TEXTAREA";
    if (typing) return;
    const actions = { a: () => this.setLoopStart(), b: () => this.setLoopEnd(), x: () => this.clearLoop() };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  // --- Key: a transposed mix rendered on the server, then played instead ---

  bindKey() {
    this.keySelect = this.panel.querySelector("[data-key]");
    this.keyStatus = this.panel.querySelector("[data-key-status]");
    if (!this.keySelect) return;
    this.keySelect.addEventListener("change", () => this.changeKey(Number(this.keySelect.value)));
  }

  async changeKey(steps) {
    const request = ++this.keyRequest;
    if (!steps) {
      this.useStems();
      this.keyStatus.textContent = "Original key.";
      return;
    }
    this.keyStatus.textContent = `Rendering the song ${keyWords(steps)}…`;
    this.player.root.dataset.keyState = "rendering";
    try {
      const mix = await mixRequest(this.mixesUrl, {
        gains: this.player.effectiveGains(),
        semitones: steps,
        output_format: "mp3",
      });
      const ready = await mixReady(mix, (current) => {
        if (request === this.keyRequest) {
          this.keyStatus.textContent = `Rendering the song ${keyWords(steps)}: ${current.progress}%`;
        }
      });
      if (request !== this.keyRequest) return;
      this.useKeyAudio(`${ready.download_url}?inline=1`, steps);
      this.keyStatus.textContent = `Playing ${keyWords(steps)}. Choose the original key to change the mix again.`;
    } catch (error) {
      if (request !== this.keyRequest) return;
      this.keyStatus.textContent = error.message;
      this.keySelect.value = String(this.semitones);
      this.player.root.dataset.keyState = this.semitones ? "transposed" : "original";
    }
  }

  useKeyAudio(source, steps) {
    const { player } = this;
    const playing = player.playing;
    player.pause();
    if (!this.keyAudio) {
      this.keyAudio = new Audio();
      this.keyAudio.addEventListener("ended", () => player.stop());
      player.keepConnected(this.keyAudio);
    }
    this.keyAudio.src = source;
    this.keyAudio.preload = "auto";
    this.applyRate(this.keyAudio);
    player.audios = [this.keyAudio];
    this.semitones = steps;
    this.setStemControls(false);
    player.root.dataset.keyState = "transposed";
    if (playing) player.play();
  }

  useStems() {
    const { player } = this;
    if (player.audios === player.stemAudios) return;
    const playing = player.playing;
    player.pause();
    player.audios = player.stemAudios;
    this.semitones = 0;
    this.setStemControls(true);
    player.root.dataset.keyState = "original";
    player.seek(player.position);
    if (playing) player.play();
  }

  // While another key plays, the stems are one rendered file: their controls
  // would change nothing, so they say so instead of pretending.
  setStemControls(enabled) {
    const controls = this.player.root.querySelectorAll(
      "[data-mute], [data-solo], [data-volume], [data-full-mix-toggle], [data-preset-hear]",
    );
    for (const control of controls) control.disabled = !enabled;
    this.player.root.classList.toggle("is-transposed", !enabled);
  }

  // --- Download this mix: exactly what is heard ---

  bindDownload() {
    this.downloadButton = this.panel.querySelector("[data-download-mix]");
    this.downloadStatus = this.panel.querySelector("[data-download-status]");
    this.formatSelect = this.panel.querySelector("[data-mix-format]");
    if (!this.downloadButton) return;
    this.downloadButton.addEventListener("click", () => this.downloadMix());
  }

  heardParameters() {
    const parameters = {
      gains: this.player.effectiveGains(),
      tempo: this.tempo,
      semitones: this.semitones,
      output_format: this.formatSelect.value,
    };
    if (this.hasLoop()) {
      parameters.start = Number(this.loopStart.toFixed(3));
      parameters.end = Number(this.loopEnd.toFixed(3));
    }
    return parameters;
  }

  async downloadMix() {
    const parameters = this.heardParameters();
    if (!Object.keys(parameters.gains).length) {
      this.downloadStatus.textContent = "Every stem is silent: unmute one to download a mix.";
      return;
    }
    await this.render(parameters, this.downloadButton, this.downloadStatus);
  }

  async render(parameters, button, status) {
    button.disabled = true;
    status.textContent = "Rendering your mix…";
    try {
      const mix = await mixRequest(this.mixesUrl, parameters);
      const ready = await mixReady(mix, (current) => {
        status.textContent = `Rendering your mix: ${current.progress}%`;
      });
      status.textContent = "Ready: your download has started.";
      save(ready.download_url);
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  // --- Minus one: hear it at once (mutes), or download it rendered ---

  bindPresets() {
    this.presets = [...this.panel.querySelectorAll("[data-preset]")];
    for (const item of this.presets) {
      item.querySelector("[data-preset-hear]").addEventListener("click", () => this.hearPreset(item));
      const download = item.querySelector("[data-preset-download]");
      if (download) {
        download.addEventListener("click", () => this.render(
          { preset: item.dataset.preset, output_format: this.formatSelect?.value || "mp3" },
          download,
          item.querySelector("[data-preset-status]"),
        ));
      }
    }
    this.player.mixHooks.push(() => {
      if (!this.presetActive) this.markPreset(null);
    });
  }

  hearPreset(item) {
    const { player } = this;
    const pressed = item.querySelector("[data-preset-hear]").getAttribute("aria-pressed") === "true";
    const kept = new Set(item.dataset.keep.split(" "));
    player.soloed.clear();
    player.muted.clear();
    if (!pressed) {
      player.rows.forEach((row, index) => {
        if (!kept.has(row.dataset.stem)) player.muted.add(index);
      });
    }
    if (player.fullMix) player.toggleFullMix();
    this.presetActive = true;
    player.applyMix();
    this.presetActive = false;
    this.markPreset(pressed ? null : item);
    const label = item.querySelector("[data-preset-hear]").textContent.trim();
    player.announce(pressed ? "Every stem again." : `${label}.`);
  }

  markPreset(active) {
    for (const item of this.presets) {
      item.querySelector("[data-preset-hear]").setAttribute("aria-pressed", String(item === active));
    }
  }
}

export function initPractice(players) {
  return players.map((player) => new Practice(player));
}
