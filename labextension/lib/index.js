// Sunaba's JupyterLab extension for learners: nbgrader's assignment list with translated
// labels, each assignment's title and due date (Japan time, from Sunaba's exchange listing),
// and the Submit button closed once the model solutions are out.
//
// Every string goes through JupyterLab's translator, domain "sunaba"; the Japanese catalogue
// ships with the Python package (sunaba/courses/locale/ja_JP/LC_MESSAGES/sunaba.json, found
// through the `jupyterlab.locale` entry point). nbgrader's panel builds its DOM itself and has
// no translation hook, so its own labels are relabelled in place: the panel's node is watched,
// and the body only for the dialogs nbgrader opens.
import { URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import { ITranslator, nullTranslator } from "@jupyterlab/translation";

const PANEL_ID = "nbgrader-assignment-list";
const DOMAIN = "sunaba";

// nbgrader's own texts, as its panel and dialogs show them (msgids of the "sunaba" domain).
const NBGRADER_TEXTS = [
  "Assignments",
  "Released assignments",
  "Downloaded assignments",
  "Submitted assignments",
  "There are no assignments to fetch.",
  "There are no downloaded assignments.",
  "There are no submitted assignments.",
  "Loading, please wait...",
  "Fetch",
  "Fetching...",
  "Submit",
  "submitting...",
  "Fetch Feedback",
  "Fetching Feedback...",
  "Validate",
  "Validating...",
  "(view feedback)",
  "Error fetching assignment.",
  "Error submitting assignment.",
  "Error fetching feedback.",
  "Error validating assignment.",
  "Refresh assignments list",
  "Released, downloaded, and submitted assignments for course:",
  "Validation Results",
  "Success! Your notebook passes all the tests.",
  "The following cell failed:",
  "The following cell passed:",
  "The source of the following cell has changed, but it should not have!",
  "There was an error running the validate command:",
  "Invalid Submission",
  "Assignment not submitted:",
];
const NBGRADER_TITLES = ["Refresh assignments list"];

function relabel(root, labels, titles) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.trim();
    // Only a real change: writing the same text would wake the observers again (English).
    if (text && labels.has(text) && labels.get(text) !== text) {
      node.nodeValue = node.nodeValue.replace(text, labels.get(text));
    }
  }
  root.querySelectorAll("[title]").forEach((element) => {
    const title = element.getAttribute("title");
    if (titles.has(title) && titles.get(title) !== title) {
      element.setAttribute("title", titles.get(title));
    }
  });
}

// course/assignment -> {title, due, due_ja, solutions}, from the listing nbgrader's panel also
// asks for; Sunaba's exchange adds these fields to each released or fetched item.
class AssignmentDetails {
  constructor() {
    this.items = new Map();
    this.loading = null;
  }

  load() {
    if (!this.loading) {
      const settings = ServerConnection.makeSettings();
      const url = URLExt.join(settings.baseUrl, "assignments") + "?course_id=";
      this.loading = ServerConnection.makeRequest(url, {}, settings)
        .then((response) => (response.ok ? response.json() : { value: [] }))
        .then((reply) => {
          // Submitted entries of the same assignment come later in the reply and carry no
          // title or due date: they must not replace the released one.
          for (const item of Array.isArray(reply.value) ? reply.value : []) {
            if (Object.prototype.hasOwnProperty.call(item, "due_ja")) {
              this.items.set(`${item.course_id}/${item.assignment_id}`, item);
            }
          }
        })
        .catch(() => undefined)
        .then(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }
}

function metaLine(item, trans) {
  const parts = [];
  if (item.title) {
    parts.push(item.title);
  }
  parts.push(trans.__("Due: %1", item.due_ja || trans.__("none")));
  let text = parts.join("\u3000");
  if (item.due && Date.parse(item.due) < Date.now()) {
    text += trans.__("(past the due date)");
  }
  if (item.solutions) {
    text += "\u3000";
    text += trans.__(
      "Model solutions are published (fetch the feedback to get them in feedback/解答例/). Submissions are closed."
    );
  }
  return text;
}

function rowKey(row) {
  const name = row.querySelector(".item_name");
  const course = row.querySelector(".item_course");
  if (!name || !course) {
    return null;
  }
  const link = name.querySelector("a, span");
  return `${course.textContent.trim()}/${(link || name).textContent.trim()}`;
}

class PanelDecorator {
  constructor(widget, trans, details) {
    this.widget = widget;
    this.trans = trans;
    this.details = details;
    this.labels = new Map(NBGRADER_TEXTS.map((text) => [text, trans.__(text)]));
    this.titles = new Map(NBGRADER_TITLES.map((text) => [text, trans.__(text)]));
    this.scheduled = false;
    this.observer = new MutationObserver(() => this.schedule());
    this.observer.observe(widget.node, { childList: true, subtree: true, characterData: true });
    widget.disposed.connect(() => this.observer.disconnect());
    this.decorate();
  }

  schedule() {
    if (!this.scheduled) {
      this.scheduled = true;
      window.requestAnimationFrame(() => {
        this.scheduled = false;
        this.decorate();
      });
    }
  }

  decorate() {
    const title = this.trans.__("Assignments");
    if (this.widget.title.label !== title) {
      this.widget.title.label = title;
    }
    relabel(this.widget.node, this.labels, this.titles);
    if (this.addDueDates()) {
      this.details.load().then(() => this.addDueDates());
    }
  }

  // True when a row names an assignment the listing has not told us about yet.
  addDueDates() {
    let missing = false;
    for (const id of ["released_assignments_list", "fetched_assignments_list"]) {
      const list = this.widget.node.querySelector(`#${id}`);
      for (const row of list ? Array.from(list.children) : []) {
        if (!row.classList.contains("list_item") || row.querySelector(".sunaba-assignment-meta")) {
          continue;
        }
        const key = rowKey(row);
        const item = key && this.details.items.get(key);
        if (key && !item) {
          missing = true;
        }
        if (item) {
          this.addMeta(row, item);
        }
      }
    }
    return missing;
  }

  addMeta(row, item) {
    const meta = document.createElement("div");
    meta.className = "sunaba-assignment-meta";
    meta.style.fontSize = "var(--jp-ui-font-size0, 11px)";
    meta.style.color = "var(--jp-ui-font-color2, #555)";
    meta.textContent = metaLine(item, this.trans);
    row.querySelector(".item_name").appendChild(meta);
    if (item.solutions) {
      // The exchange refuses submissions once the model solutions are out: say so on the button.
      const submit = this.labels.get("Submit");
      for (const button of row.querySelectorAll("button")) {
        const label = button.textContent.trim();
        if (label === submit || label === "Submit") {
          button.disabled = true;
          button.title = this.trans.__("Submissions are closed once the model solutions are published");
        }
      }
    }
  }
}

// nbgrader opens its dialogs with JupyterLab's showDialog, which attaches them to the body and
// renders their parts a moment later: each dialog is watched from its arrival to its removal.
function watchDialogs(trans) {
  const labels = new Map(NBGRADER_TEXTS.map((text) => [text, trans.__(text)]));
  const none = new Map();
  const watched = new Map();
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (node instanceof HTMLElement && node.classList.contains("jp-Dialog")) {
          const observer = new MutationObserver(() => relabel(node, labels, none));
          observer.observe(node, { childList: true, subtree: true, characterData: true });
          watched.set(node, observer);
          relabel(node, labels, none);
        }
      }
      for (const node of mutation.removedNodes) {
        watched.get(node)?.disconnect();
        watched.delete(node);
      }
    }
  }).observe(document.body, { childList: true });
}

const plugin = {
  id: "@sunaba/assignment-list:plugin",
  description: "nbgrader's assignment list with translated labels and each assignment's due date.",
  autoStart: true,
  optional: [ITranslator],
  activate: (app, translator) => {
    const trans = (translator || nullTranslator).load(DOMAIN);
    const details = new AssignmentDetails();
    const decorated = new WeakSet();
    const look = () => {
      for (const widget of app.shell.widgets("main")) {
        if (widget.id === PANEL_ID && !decorated.has(widget)) {
          decorated.add(widget);
          new PanelDecorator(widget, trans, details);
        }
      }
    };
    watchDialogs(trans);
    app.restored.then(look);
    // The panel opens from the menu or the command palette at any time.
    if (app.shell.layoutModified) {
      app.shell.layoutModified.connect(look);
    }
    if (app.shell.currentChanged) {
      app.shell.currentChanged.connect(look);
    }
  },
};

export default plugin;
