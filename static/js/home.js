// The landing page: the sample-song demo, one player per version in ARIA tabs.
import { initPlayers } from "./player.js";
import { initPractice } from "./practice.js";

const demo = document.querySelector("[data-demo]");
if (demo) {
  const players = initPlayers(demo);
  initPractice(players);
  const tablist = demo.querySelector("[data-tablist]");
  const tabs = [...demo.querySelectorAll("[data-tab]")];
  const panels = [...demo.querySelectorAll("[data-tab-panel]")];

  const select = (index, focus) => {
    tabs.forEach((tab, i) => {
      const selected = i === index;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      panels[i].hidden = !selected;
      if (!selected && players[i] && players[i].playing) players[i].pause();
    });
    if (focus) tabs[index].focus();
    players[index].draw();
  };

  if (tabs.length > 1) {
    tablist.hidden = false;
    panels.forEach((panel) => {
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", panel.id.replace("panel-", "tab-"));
      panel.querySelector("[data-panel-title]").hidden = true;
    });
    tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => select(index, false));
      tab.addEventListener("keydown", (event) => {
        const last = tabs.length - 1;
        const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: last };
        if (!(event.key in moves)) return;
        event.preventDefault();
        select((moves[event.key] + tabs.length) % tabs.length, true);
      });
    });
    select(0, false);
  }
}
