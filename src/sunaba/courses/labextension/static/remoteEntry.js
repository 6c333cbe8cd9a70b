// Sunaba's JupyterLab extension for learners: nbgrader's assignment list in Japanese, with each
// assignment's title and due date (in Japan time, from Sunaba's exchange listing).
//
// Plain JavaScript, no build step: JupyterLab loads a federated extension by running this file
// and asking `window._JUPYTERLAB[name]` for the module "./extension" (the module federation
// container protocol: `init(shareScope)` and `get(module)` returning a factory). The extension
// uses no shared modules, only the DOM of nbgrader's panel, so it needs nothing else.
(function () {
  "use strict";

  var NAME = "@sunaba/assignment-list";
  var PANEL_ID = "nbgrader-assignment-list";
  var TAB_TITLE = "課題一覧";

  // nbgrader's own texts (its lab extension has no translations) and what learners read.
  var LABELS = {
    "Released assignments": "配布中の課題",
    "Downloaded assignments": "取得済みの課題",
    "Submitted assignments": "提出済みの課題",
    "There are no assignments to fetch.": "取得できる課題はありません。",
    "There are no downloaded assignments.": "取得済みの課題はありません。",
    "There are no submitted assignments.": "提出した課題はありません。",
    "Loading, please wait...": "読み込み中です…",
    "Fetch": "取得",
    "Fetching...": "取得中…",
    "Submit": "提出",
    "submitting...": "提出中…",
    "Fetch Feedback": "フィードバックを取得",
    "Fetching Feedback...": "フィードバックを取得中…",
    "Validate": "検証",
    "Validating...": "検証中…",
    "(view feedback)": "（フィードバックを見る）",
    "Error fetching assignment.": "課題を取得できませんでした。",
    "Error submitting assignment.": "課題を提出できませんでした。",
    "Error fetching feedback.": "フィードバックを取得できませんでした。",
    "Error validating assignment.": "課題を検証できませんでした。",
    "Refresh assignments list": "課題の一覧を更新",
    "Released, downloaded, and submitted assignments for course:": "表示するコース:",
    // The dialogs nbgrader opens from the list.
    "Validation Results": "検証の結果",
    "Success! Your notebook passes all the tests.": "すべてのテストに合格しました。",
    "The following cell failed:": "次のセルが不合格でした:",
    "The following cell passed:": "次のセルは合格でした:",
    "The source of the following cell has changed, but it should not have!":
      "次のセルは変更してはいけないセルですが、変更されています:",
    "There was an error running the validate command:": "検証を実行できませんでした:",
    "Invalid Submission": "提出できませんでした",
    "Assignment not submitted:": "課題は提出されていません:",
  };
  var TITLES = { "Refresh assignments list": "課題の一覧を更新" };

  function pageOption(name) {
    var element = document.getElementById("jupyter-config-data");
    if (!element) {
      return "";
    }
    try {
      return JSON.parse(element.textContent || "{}")[name] || "";
    } catch (error) {
      return "";
    }
  }

  // What JupyterLab's own requests carry: behind JupyterHub a cookie alone is not enough for a
  // request the page makes by itself (the hub wants the XSRF token with it).
  function requestHeaders() {
    var headers = {};
    var xsrf = document.cookie.split("; ").filter(function (c) {
      return c.indexOf("_xsrf=") === 0;
    })[0];
    if (xsrf) {
      headers["X-XSRFToken"] = decodeURIComponent(xsrf.slice(6));
    }
    var token = pageOption("token");
    if (token) {
      headers["Authorization"] = "token " + token;
    }
    return headers;
  }

  function translate(panel) {
    var walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      var text = node.nodeValue.trim();
      if (text && Object.prototype.hasOwnProperty.call(LABELS, text)) {
        node.nodeValue = node.nodeValue.replace(text, LABELS[text]);
      }
    }
    panel.querySelectorAll("[title]").forEach(function (element) {
      var title = element.getAttribute("title");
      if (Object.prototype.hasOwnProperty.call(TITLES, title)) {
        element.setAttribute("title", TITLES[title]);
      }
    });
  }

  // course/assignment -> {title, due, due_ja} from the server's listing (the same request
  // nbgrader's panel makes; Sunaba's exchange plugin adds these fields to each item).
  var details = {};
  var loading = null;

  function loadDetails() {
    if (loading) {
      return loading;
    }
    var url = pageOption("baseUrl") + "assignments?course_id=";
    loading = fetch(url, { credentials: "same-origin", headers: requestHeaders() })
      .then(function (response) {
        return response.ok ? response.json() : { value: [] };
      })
      .then(function (reply) {
        // Only the released/fetched entries carry title and due date: the submitted entries of
        // the same assignment come later in the reply and must not replace them.
        (Array.isArray(reply.value) ? reply.value : []).forEach(function (item) {
          if (Object.prototype.hasOwnProperty.call(item, "due_ja")) {
            details[item.course_id + "/" + item.assignment_id] = item;
          }
        });
      })
      .catch(function () {})
      .then(function () {
        loading = null;
      });
    return loading;
  }

  function metaLine(item) {
    var parts = [];
    if (item.title) {
      parts.push(item.title);
    }
    parts.push("締切: " + (item.due_ja || "なし"));
    var text = parts.join("　");
    if (item.due && Date.parse(item.due) < Date.now()) {
      text += "（締切を過ぎています）";
    }
    if (item.solutions) {
      text += "　解答例を公開しました（フィードバックを取得すると feedback/解答例/ に入ります）。提出は締め切りました";
    }
    return text;
  }

  // Once the model solutions are out the exchange refuses submissions: say so on the button.
  function closeSubmit(row) {
    row.querySelectorAll("button").forEach(function (button) {
      var label = button.textContent.trim();
      if (label === "提出" || label === "Submit") {
        button.disabled = true;
        button.title = "解答例の公開後は提出できません";
      }
    });
  }

  function rowKey(row) {
    var name = row.querySelector(".item_name");
    var course = row.querySelector(".item_course");
    if (!name || !course) {
      return null;
    }
    var link = name.querySelector("a, span");
    var assignment = (link || name).textContent.trim();
    return course.textContent.trim() + "/" + assignment;
  }

  // Returns true when a row names an assignment the listing has not told us about yet.
  function addDueDates(panel) {
    var missing = false;
    ["released_assignments_list", "fetched_assignments_list"].forEach(function (id) {
      var list = panel.querySelector("#" + id);
      if (!list) {
        return;
      }
      Array.prototype.forEach.call(list.children, function (row) {
        if (!row.classList.contains("list_item") || row.querySelector(".sunaba-assignment-meta")) {
          return;
        }
        var key = rowKey(row);
        if (!key) {
          return;
        }
        var item = details[key];
        if (!item) {
          missing = true;
          return;
        }
        var meta = document.createElement("div");
        meta.className = "sunaba-assignment-meta";
        meta.style.fontSize = "var(--jp-ui-font-size0, 11px)";
        meta.style.color = "var(--jp-ui-font-color2, #555)";
        meta.textContent = metaLine(item);
        row.querySelector(".item_name").appendChild(meta);
        if (item.solutions) {
          closeSubmit(row);
        }
      });
    });
    return missing;
  }

  function decorate(panel) {
    translate(panel);
    if (addDueDates(panel)) {
      loadDetails().then(function () {
        addDueDates(panel);
      });
    }
  }

  function watch(panel) {
    if (panel.dataset.sunabaWatched) {
      return;
    }
    panel.dataset.sunabaWatched = "1";
    var scheduled = false;
    var observer = new MutationObserver(function () {
      if (scheduled) {
        return;
      }
      scheduled = true;
      window.setTimeout(function () {
        scheduled = false;
        decorate(panel);
      }, 0);
    });
    observer.observe(panel, { childList: true, subtree: true, characterData: true });
    decorate(panel);
  }

  var plugin = {
    id: NAME + ":plugin",
    description: "Japanese labels and due dates in nbgrader's assignment list.",
    autoStart: true,
    activate: function (app) {
      function look() {
        document.querySelectorAll(".jp-Dialog").forEach(translate);
        var panel = document.getElementById(PANEL_ID);
        if (!panel) {
          return;
        }
        watch(panel);
        // The tab's title belongs to the widget: set it through Lumino, not the DOM.
        for (var widget of app.shell.widgets("main")) {
          if (widget.id === PANEL_ID && widget.title.label !== TAB_TITLE) {
            widget.title.label = TAB_TITLE;
          }
        }
      }
      var pending = false;
      look();
      // Once per burst of changes: JupyterLab changes its DOM all the time.
      new MutationObserver(function () {
        if (!pending) {
          pending = true;
          window.requestAnimationFrame(function () {
            pending = false;
            look();
          });
        }
      }).observe(document.body, { childList: true, subtree: true });
    },
  };

  var container = {
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error(NAME + " has no module " + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: plugin };
      });
    },
  };

  window._JUPYTERLAB = window._JUPYTERLAB || {};
  window._JUPYTERLAB[NAME] = container;
})();
