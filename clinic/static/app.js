// Small progressive enhancements. Every page works without this file.
"use strict";

// A form came back with problems: take the person to the summary, which links to each one.
const errorSummary = document.getElementById("error-summary");
if (errorSummary) errorSummary.focus();

// On a phone, table rows are stacked; label each cell with its column's heading so that
// "3" reads as "PHQ-9 3". Headings hidden from sight (like "Actions") add no label.
document.querySelectorAll("table.table").forEach((table) => {
  const headings = Array.from(table.querySelectorAll("thead th")).map((th) => {
    const copy = th.cloneNode(true);
    copy.querySelectorAll(".visually-hidden, [aria-hidden=true]").forEach((node) => node.remove());
    return copy.textContent.trim();
  });
  table.querySelectorAll("tbody tr").forEach((row) => {
    Array.from(row.children).forEach((cell, i) => {
      if (cell.tagName === "TD" && headings[i] && !cell.hasAttribute("colspan")) {
        cell.dataset.label = headings[i];
      }
    });
  });
});

// Copy an invitation link.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  input.select();
  const done = () => { if (status) status.textContent = "Link copied."; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

// Ask before an action that cannot be undone (the server acts without this too).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Keep an earlier answer visible (and current) beside the field that refers to it.
document.addEventListener("input", (event) => {
  const source = event.target;
  if (!source.id) return;
  document.querySelectorAll(`[data-mirror="${CSS.escape(source.id)}"] [data-mirror-text]`).forEach((node) => {
    node.textContent = source.value || "Not filled in yet";
  });
});

// Autosave worksheet drafts to the server a few seconds after the person stops typing.
document.querySelectorAll("form[data-autosave]").forEach((form) => {
  const url = form.dataset.autosave;
  if (!url) return;
  const status = form.querySelector("[data-save-status]");
  const version = form.querySelector("input[name=version]");
  let timer = null;
  let inFlight = false;
  let stopped = false;
  const say = (text) => { if (status) status.textContent = text; };
  const save = async () => {
    if (inFlight || stopped) return;
    inFlight = true;
    const data = new FormData(form);
    data.delete("action");
    try {
      const response = await fetch(url, {
        method: "POST",
        body: data,
        headers: { "X-CSRFToken": data.get("csrf_token") || "" },
        credentials: "same-origin",
      });
      const body = await response.json();
      if (response.ok) {
        version.value = body.version;
        say(`Saved a moment ago (${body.saved_at})`);
      } else {
        stopped = true;
        say(body.message + " Use 'Save draft' to see what happened; your typing stays on this page.");
      }
    } catch (error) {
      say("Not saved yet: no connection. Your typing is still here; try 'Save draft' in a moment.");
    } finally {
      inFlight = false;
    }
  };
  form.addEventListener("input", () => {
    say("Saving soon…");
    clearTimeout(timer);
    timer = setTimeout(save, 2500);
  });
  form.addEventListener("submit", () => { clearTimeout(timer); stopped = true; });
});

// The phone menu is a <details> element and works without this; Escape and a click elsewhere
// close it too, as people expect of a menu.
document.addEventListener("keydown", (event) => {
  const menu = document.querySelector("details.menu[open]");
  if (event.key !== "Escape" || !menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});
document.addEventListener("click", (event) => {
  const menu = document.querySelector("details.menu[open]");
  if (menu && !menu.contains(event.target)) menu.open = false;
});

// A question that may not apply (the WSAS work item): ticking "I'm retired…" hides its answers,
// which the server ignores anyway once the box is ticked.
document.querySelectorAll("input[data-skips]").forEach((box) => {
  const options = document.getElementById(box.dataset.skips);
  if (!options) return;
  const sync = () => {
    options.hidden = box.checked;
  };
  box.addEventListener("change", sync);
  sync();
});

// Long text grows with what is typed (CSS field-sizing does this where the browser has it;
// elsewhere this does). Without either, the field scrolls as before.
if (!CSS.supports("field-sizing", "content")) {
  const grow = (area) => {
    area.style.height = "auto";
    area.style.height = `${area.scrollHeight + 2}px`;
  };
  document.querySelectorAll("textarea[data-autogrow]").forEach((area) => {
    grow(area);
    area.addEventListener("input", () => grow(area));
  });
}

// The note editor: "Insert" puts a line from the week beside the note into the field last
// typed in (or the field the line belongs to), on a new line, and says where it went.
const noteEditor = document.querySelector("form[data-note-editor]");
if (noteEditor) {
  let lastField = null;
  noteEditor.addEventListener("focusin", (event) => {
    if (event.target.tagName === "TEXTAREA") lastField = event.target;
  });
  const status = document.querySelector("[data-insert-status]");
  document.querySelectorAll("[data-insert-help], button[data-insert]").forEach((node) => { node.hidden = false; });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-insert]");
    if (!button) return;
    const area = lastField || document.getElementById(button.dataset.target);
    if (!area) return;
    const before = area.value.replace(/\s+$/, "");
    area.value = (before ? `${before}\n` : "") + button.dataset.insert;
    area.dispatchEvent(new Event("input", { bubbles: true }));
    const label = noteEditor.querySelector(`label[for="${CSS.escape(area.id)}"]`);
    if (status) status.textContent = `Inserted into ${label ? label.textContent.trim() : "the note"}.`;
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  });
}

// Printing: folded sections (past weeks, score tables) open on paper, and fold again after.
const openedForPrint = [];
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("main details:not([open]):not(.menu)").forEach((node) => {
    node.open = true;
    openedForPrint.push(node);
  });
});
window.addEventListener("afterprint", () => {
  openedForPrint.splice(0).forEach((node) => { node.open = false; });
});
