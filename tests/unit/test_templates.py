"""The hub's Japanese pages (hub_config/templates/ja + common).

The templates are loaded the way JupyterHub 6 and NativeAuthenticator 1.3.0 load
them (see ``JupyterHub.init_tornado_settings`` and ``nativeauthenticator.handlers
.LocalBase``): our directories first, then JupyterHub's own templates (also
reachable as ``templates/<name>`` so that an override can extend the stock page),
then NativeAuthenticator's directory. Each page is rendered with the variables
its handler passes and checked for:

* Japanese text and no leftover English UI words,
* forms that post the same fields to the same place as the upstream page,
* the element ids and scripts that JupyterHub's JavaScript relies on,
* an upstream template of the same name (so a renamed upstream page is noticed).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import jupyterhub
import nativeauthenticator
import nativeauthenticator.handlers as na_handlers
import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub._data import DATA_FILES_PATH
from tornado.escape import url_escape

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "hub_config" / "templates"
JA = TEMPLATES / "ja"
COMMON = TEMPLATES / "common"
STOCK = Path(DATA_FILES_PATH) / "templates"
NATIVE = Path(nativeauthenticator.__file__).parent / "templates"

XSRF = "2|deadbeef|cafebabe|1700000000"
SITE_NAME = "砂場 Sunaba"
ORGANISATION = "砂場市 職員研修"

# ASCII words that may legitimately appear in the visible text of a Japanese page.
ALLOWED_ASCII = {
    "Sunaba",
    "Jupyter",
    "JupyterLab",
    "JupyterHub",
    "API",
    "URL",
    "HTTP",
    "HTTPS",
    "JavaScript",
    "reCAPTCHA",
}
# Labels of the stock pages that must not survive anywhere in ours.
STOCK_LABELS = [
    "Sign in",
    "Sign In",
    "Sign up",
    "Sign Up",
    "Username:",
    "Password:",
    "Start My Server",
    "Stop My Server",
    "My Server",
    "Create User",
    "Change Password",
    "Authorize Users",
    "Logout",
    "Login",
    "Event log",
    "Stop Server",
    "Your server",
    "Server not running",
    "Spawn failed",
    "Launch",
    "refresh",
    "Warning:",
    "requires JavaScript",
]


# --------------------------------------------------------------------------- environments


def make_env(template_paths: list[Path], *, native_in_paths: bool = False, is_async=False):
    """Build the Jinja2 environment exactly like JupyterHub 6.1 + NativeAuthenticator.

    JupyterHub appends its own template dir to ``template_paths`` and also mounts it
    under the ``templates/`` prefix; NativeAuthenticator then wraps the loader in a
    ChoiceLoader with its own directory last. ``native_in_paths`` models a config
    that lists NativeAuthenticator's directory in ``template_paths`` explicitly.
    """
    paths = [str(p) for p in template_paths]
    if native_in_paths:
        paths.append(str(NATIVE))
    paths.append(str(STOCK))
    hub_loader = ChoiceLoader(
        [
            PrefixLoader({"templates": FileSystemLoader([str(STOCK)])}, "/"),
            FileSystemLoader(paths),
        ]
    )
    loader = ChoiceLoader([hub_loader, FileSystemLoader([str(NATIVE)])])
    return Environment(loader=loader, autoescape=True, enable_async=is_async)


JA_PATHS = [JA, COMMON]
ja_env = make_env(JA_PATHS)
stock_env = make_env([])


# --------------------------------------------------------------------------- fake hub objects


@dataclass
class FakeSpawner:
    name: str = ""
    options_form: str | None = None
    active: bool = False
    ready: bool = False
    pending: str | None = None
    display_name: str = ""
    last_activity: datetime | None = None


@dataclass
class FakeUser:
    name: str = "tanaka"
    admin: bool = False
    spawner: FakeSpawner = field(default_factory=FakeSpawner)
    named: list[FakeSpawner] = field(default_factory=list)

    @property
    def json_escaped_name(self):
        return self.name

    def all_spawners(self, include_default=True):
        return ([self.spawner] if include_default else []) + self.named

    def server_url(self, server_name=""):
        return f"/user/{self.name}/{server_name}/" if server_name else f"/user/{self.name}/"


def static_url(path, include_version=True):
    return f"/hub/static/{path}" + ("?v=abc" if include_version else "")


def namespace(user=None, *, scopes=(), template_vars=None, **extra):
    """What BaseHandler.template_namespace + render_template put in the context."""
    ns = dict(
        base_url="/hub/",
        prefix="/",
        user=user,
        login_url="/hub/login",
        login_service="",
        logout_url="/hub/logout",
        static_url=static_url,
        version_hash="abc",
        services=[],
        parsed_scopes={s: set() for s in scopes},
        expanded_scopes=set(scopes),
        xsrf=XSRF,
    )
    ns.update(
        {"sunaba_site_name": SITE_NAME, "sunaba_organisation": ORGANISATION}
        if template_vars is None
        else template_vars
    )
    ns["xsrf_token"] = XSRF
    ns.update(extra)
    return ns


ADMIN_SCOPES = ("admin-ui", "admin:users", "admin:servers")


def native_login_ctx(**kw):
    # nativeauthenticator.handlers.LoginHandler._render
    ctx = dict(
        next=url_escape("/hub/home"),
        username=None,
        login_error=None,
        custom_html="",
        enable_signup=True,
        two_factor_auth=False,
        authenticator_login_url="/hub/login?next=%2Fhub%2Fhome",
    )
    ctx.update(kw)
    return namespace(**ctx)


def hub_login_ctx(**kw):
    # jupyterhub.handlers.login.LoginHandler._render
    ctx = dict(
        next=url_escape("/hub/home"),
        username=None,
        login_error=None,
        authenticator_login_url="/hub/login?next=%2Fhub%2Fhome",
        authenticator=SimpleNamespace(request_otp=False, otp_prompt="OTP:"),
        custom_html="",
    )
    ctx.update(kw)
    return namespace(**ctx)


def signup_ctx(**kw):
    # nativeauthenticator.handlers.SignUpHandler.get
    ctx = dict(ask_email=False, two_factor_auth=False, recaptcha_key="", tos="")
    ctx.update(kw)
    return namespace(**ctx)


def home_ctx(active=False, **kw):
    user = FakeUser(spawner=FakeSpawner(active=active, ready=active))
    ctx = dict(
        auth_state=None,
        url="/hub/spawn/tanaka" if not active else "/user/tanaka/",
        allow_named_servers=False,
        named_server_limit_per_user=0,
        url_path_join=lambda *a: "/".join(a),
        spawners={},
        default_server=user.spawner,
        invalid_server_names=[],
    )
    ctx.update(kw)
    return namespace(user, **ctx)


def pending_ctx():
    user = FakeUser(spawner=FakeSpawner(pending="spawn"))
    return namespace(
        user,
        spawner=user.spawner,
        progress_url=f"/hub/api/users/tanaka/server/progress?_xsrf={XSRF}",
        auth_state=None,
    )


def error_ctx(status_code, message=""):
    # BaseHandler.write_error
    return namespace(
        None,
        status_code=status_code,
        status_message={403: "Forbidden", 404: "Not Found"}.get(status_code, "Error"),
        message=message,
        message_html="",
        extra_error_html="",
        exception=None,
    )


USERS = [
    SimpleNamespace(username="tanaka", email="t@example.jp", has_2fa=False, is_authorized=True),
    SimpleNamespace(username="suzuki", email="s@example.jp", has_2fa=True, is_authorized=False),
]

# name -> (template, context factory, Japanese strings that must appear)
PAGES = {
    "native-login": ("native-login.html", native_login_ctx, ["ログイン", "ユーザー名", "新規登録"]),
    "native-login-2fa": (
        "native-login.html",
        lambda: native_login_ctx(two_factor_auth=True, login_error="Invalid username or password."),
        ["二段階認証コード", "ユーザー名またはパスワードが正しくありません"],
    ),
    "hub-login": ("login.html", hub_login_ctx, ["ログイン", "パスワード"]),
    "hub-login-terms": (
        "login.html",
        lambda: hub_login_ctx(login_term_url="/terms"),
        ["利用規約"],
    ),
    "hub-login-oauth": (
        "login.html",
        lambda: hub_login_ctx(login_service="GitHub"),
        ["GitHub でログイン"],
    ),
    "signup": ("signup.html", signup_ctx, ["新規登録", "管理者の承認", "登録を申請する"]),
    "signup-all-options": (
        "signup.html",
        lambda: signup_ctx(ask_email=True, two_factor_auth=True, tos="利用規約に同意します"),
        ["メールアドレス", "二段階認証を設定する", "利用規約に同意します"],
    ),
    "signup-pending": (
        "signup.html",
        lambda: signup_ctx(
            result_message="Your information has been sent to the admin.",
            alert="alert-info",
            two_factor_auth_user=False,
            two_factor_auth_value="",
        ),
        ["承認待ちです", "管理者がアカウントを承認すると", "ログイン画面へ"],
    ),
    "signup-taken": (
        "signup.html",
        lambda: signup_ctx(
            result_message="Something went wrong!\nIt appears that this username is already "
            "in use. Please try again with a different username.",
            alert="alert-danger",
        ),
        ["このユーザー名はすでに使われています", "登録を申請する"],
    ),
    "authorization-area": (
        "authorization-area.html",
        lambda: namespace(
            FakeUser(name="admin", admin=True), scopes=ADMIN_SCOPES, ask_email=True, users=USERS
        ),
        ["利用者の承認", "承認待ち", "承認済み", "承認する", "承認を取り消す", "1 人"],
    ),
    "change-password": (
        "change-password.html",
        lambda: namespace(FakeUser(), user_name="tanaka"),
        ["パスワードの変更", "現在のパスワード", "新しいパスワード"],
    ),
    "change-password-result": (
        "change-password.html",
        lambda: namespace(
            FakeUser(),
            user_name="tanaka",
            result_message="Your password has been changed successfully!",
            alert="alert-success",
        ),
        ["パスワードを変更しました"],
    ),
    "change-password-admin": (
        "change-password-admin.html",
        lambda: namespace(
            FakeUser(name="admin", admin=True), scopes=ADMIN_SCOPES, user_name="suzuki"
        ),
        ["suzuki さんのパスワードの再設定", "新しいパスワード"],
    ),
    "my_message": (
        "my_message.html",
        lambda: namespace(None, message="suzuki has been authorized!"),
        ["suzuki さんのアカウントを承認しました"],
    ),
    "home": ("home.html", home_ctx, ["ようこそ、tanaka さん", "作業環境を起動する"]),
    "home-running": (
        "home.html",
        lambda: home_ctx(active=True),
        ["作業環境を開く", "作業環境を停止する"],
    ),
    "home-named": (
        "home.html",
        lambda: home_ctx(allow_named_servers=True, named_server_limit_per_user=3),
        ["名前付きの作業環境", "作業環境を追加"],
    ),
    "spawn_pending": (
        "spawn_pending.html",
        pending_ctx,
        ["作業環境を起動しています", "詳しい経過"],
    ),
    "stop_pending": (
        "stop_pending.html",
        lambda: namespace(FakeUser(), spawner=FakeSpawner(pending="stop")),
        ["作業環境を停止しています", "画面を更新する"],
    ),
    "not_running": (
        "not_running.html",
        lambda: namespace(
            FakeUser(), server_name="", spawn_url="/hub/spawn/tanaka", implicit_spawn_seconds=0
        ),
        ["作業環境は停止しています", "作業環境を起動する"],
    ),
    "not_running-failed": (
        "not_running.html",
        lambda: namespace(
            FakeUser(),
            server_name="",
            spawn_url="/hub/spawn/tanaka",
            failed=True,
            failed_message="Spawner.start timed out",
            failed_html_message="",
        ),
        ["作業環境を起動できませんでした", "もう一度起動する", "詳しい情報"],
    ),
    "error-403": ("error.html", lambda: error_ctx(403), ["権限がありません", "承認されていない"]),
    "error-404": ("404.html", lambda: error_ctx(404), ["ページが見つかりません"]),
    "error-500": (
        "error.html",
        lambda: error_ctx(500, "Traceback: KeyError"),
        ["サーバーでエラーが発生しました", "管理者にご連絡ください", "詳しい情報"],
    ),
    "error-503": ("error.html", lambda: error_ctx(503), ["現在ご利用いただけません"]),
    "error-429-spawn-throttle": (
        "error.html",
        lambda: error_ctx(
            429, "Too many users trying to log in right now. Try again in 30 seconds."
        ),
        ["多くの方が同時に作業環境を起動しています", "約 30 秒後"],
    ),
    "error-429-active-limit": (
        "error.html",
        lambda: error_ctx(429, "Active user limit exceeded. Try again in a few minutes."),
        ["同時に使える人数の上限"],
    ),
    "error-418": ("error.html", lambda: error_ctx(418), ["エラーが発生しました"]),
    "token": (
        "token.html",
        lambda: namespace(
            FakeUser(),
            api_tokens=[
                SimpleNamespace(
                    api_id="a1",
                    note="分析用",
                    scopes=["read:users"],
                    last_activity=None,
                    created=datetime(2024, 4, 1),
                    expires_at=None,
                )
            ],
            oauth_clients=[],
            auth_state=None,
            token_expires_in_options_html='<option value="3600">1 Hour</option>\n'
            '<option value="86400">1 Day</option>\n'
            '<option selected="selected"value="">Never</option>',
            token_expires_in_max_seconds=0,
        ),
        ["新しいトークンを発行する", "1 時間", "無期限", "無効にする"],
    ),
    "spawn": (
        "spawn.html",
        lambda: namespace(
            FakeUser(),
            for_user=FakeUser(),
            spawner_options_form='<select name="profile"></select>',
            error_message="",
            url=f"/hub/spawn?_xsrf={XSRF}",
        ),
        ["作業環境の設定", "起動する"],
    ),
    "logout": ("logout.html", lambda: namespace(None), ["ログアウトしました"]),
}


# --------------------------------------------------------------------------- HTML inspection


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
TEXT_ATTRS = ("placeholder", "title", "aria-label", "alt")


class Page(HTMLParser):
    """Collect what a user sees, the forms, the ids and the scripts of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.title = ""
        self.ids: list[str] = []
        self.forms: list[dict] = []
        self.visible: list[str] = []
        self.scripts: list[str] = []
        self.script_srcs: list[str] = []
        self._raw: list[str] = []  # tag stack inside a data-sunaba-raw element
        self._in = None  # "script" | "style" | "title"
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.visible))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}})
        if tag in ("input", "select", "textarea", "button") and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a
        if tag == "script" and a.get("src"):
            self.script_srcs.append(a["src"])
        if tag in ("script", "style", "title"):
            self._in = tag
        if self._raw or "data-sunaba-raw" in a:
            if tag not in VOID:
                self._raw.append(tag)
            return
        for name in TEXT_ATTRS:
            if a.get(name):
                self.visible.append(a[name])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.visible.append(a["value"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None
        if self._raw and tag == self._raw[-1]:
            self._raw.pop()

    def handle_data(self, data):
        if self._in == "script":
            if data.strip():
                self.scripts.append(data)
        elif self._in == "title":
            self.title += data
        elif self._in != "style" and not self._raw:
            self.visible.append(data)


def render(env, name, ctx) -> str:
    return env.get_template(name).render(**ctx)


def english_words(text: str, allowed=()) -> set[str]:
    words = set(re.findall(r"[A-Za-z][A-Za-z'.:-]*[A-Za-z]", text))
    return {w for w in words if w not in ALLOWED_ASCII and w not in set(allowed)}


# --------------------------------------------------------------------------- tests: layout


def overrides() -> list[str]:
    return sorted(p.name for p in JA.glob("*.html") if not p.name.startswith("sunaba_"))


def test_upstream_template_dirs_found():
    assert (STOCK / "page.html").is_file(), STOCK
    assert (NATIVE / "signup.html").is_file(), NATIVE
    assert jupyterhub.__version__.split(".")[0] == "6"


@pytest.mark.parametrize("name", overrides())
def test_every_override_exists_upstream(name):
    """A page we override must still exist upstream, or our copy is dead code."""
    assert (STOCK / name).is_file() or (NATIVE / name).is_file(), (
        f"ja/{name} overrides nothing: JupyterHub or NativeAuthenticator renamed it?"
    )


def test_user_facing_pages_are_all_translated():
    expected = {
        # JupyterHub
        "page.html",
        "login.html",
        "home.html",
        "spawn.html",
        "spawn_pending.html",
        "stop_pending.html",
        "not_running.html",
        "error.html",
        "404.html",
        "token.html",
        "logout.html",
        # NativeAuthenticator 1.3.0
        "native-login.html",
        "signup.html",
        "authorization-area.html",
        "change-password.html",
        "change-password-admin.html",
        "my_message.html",
    }
    assert expected <= set(overrides())
    # NativeAuthenticator's pages we did not translate would show English.
    untranslated = {p.name for p in NATIVE.glob("*.html")} - set(overrides())
    assert untranslated == set(), untranslated


def test_helpers_never_shadow_upstream_templates():
    """Partials are namespaced, so common/ is harmless on the English path too."""
    helpers = [p for p in (*JA.glob("sunaba_*"), *COMMON.iterdir()) if p.is_file()]
    assert helpers
    for path in helpers:
        assert path.name.startswith("sunaba_"), path
        assert not (STOCK / path.name).exists() and not (NATIVE / path.name).exists()


# --------------------------------------------------------------------------- tests: pages


@pytest.mark.parametrize("native_in_paths", [False, True], ids=["na-registered", "na-in-paths"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_is_japanese(page, native_in_paths):
    template, ctx_factory, expected = PAGES[page]
    ctx = ctx_factory()
    html = render(make_env(JA_PATHS, native_in_paths=native_in_paths), template, ctx)
    doc = Page(html)

    assert doc.lang == "ja"
    assert SITE_NAME in doc.title
    assert SITE_NAME in doc.text
    for phrase in expected:
        assert phrase in doc.text, f"{phrase!r} missing on {page}"
    for label in STOCK_LABELS:
        assert label not in doc.text, f"English {label!r} left on {page}"
    names = {v.name for v in ctx.values() if isinstance(v, FakeUser)}
    names |= {"tanaka", "suzuki", "admin", "GitHub", "t", "s", "example.jp", "read:users"}
    leftover = english_words(doc.text, allowed=names)
    assert not leftover, f"English words on {page}: {sorted(leftover)}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders_async_like_the_hub(page):
    """Handlers render through JupyterHub's enable_async environment."""
    template, ctx_factory, _ = PAGES[page]
    env = make_env(JA_PATHS, is_async=True)
    html = asyncio.run(env.get_template(template).render_async(**ctx_factory()))
    assert '<html lang="ja">' in html


# JavaScript ids/classes we deliberately replaced, per page.
REPLACED_IDS = {
    # NativeAuthenticator's Bootstrap-3 "eye" button -> JupyterHub 6's toggle button;
    # and, like JupyterHub's login.html, no "log in" button on the login page itself.
    "native-login": {"eye", "login_widget", "login"},
    "native-login-2fa": {"eye", "login_widget", "login"},
    "signup": {"eye", "password_confirm"},
    "signup-all-options": {"eye"},
    "signup-pending": {"eye"},
    "signup-taken": {"eye"},
    "change-password": {"eye"},
    "change-password-result": {"eye"},
    "change-password-admin": {"eye"},
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_keeps_upstream_ids_forms_and_scripts(page):
    """Same form actions, field names, element ids and page scripts as upstream."""
    template, ctx_factory, _ = PAGES[page]
    ctx = ctx_factory()
    ours = Page(render(ja_env, template, ctx))
    stock = Page(render(stock_env, template, ctx))

    if page == "signup-pending":
        assert not ours.forms, "the pending-approval result replaces the form"
        return
    missing_ids = set(stock.ids) - set(ours.ids) - REPLACED_IDS.get(page, set())
    assert not missing_ids, f"{page} lost ids used by upstream JS/CSS: {missing_ids}"

    assert len(ours.forms) == len(stock.forms)
    for mine, theirs in zip(ours.forms, stock.forms, strict=True):
        assert mine["method"] == theirs["method"]
        if theirs["action"]:  # NativeAuthenticator's {{post_url}} is empty: the page itself
            assert mine["action"] == theirs["action"]
        assert set(mine["inputs"]) == set(theirs["inputs"]), page
        if "_xsrf" in theirs["inputs"]:
            assert mine["inputs"]["_xsrf"]["value"] == XSRF
            assert mine["inputs"]["_xsrf"]["type"] == "hidden"

    # Page scripts: every script file and every require([...]) stays.
    assert set(stock.script_srcs) <= set(ours.script_srcs)
    requires = {m for s in stock.scripts for m in re.findall(r"require\(\[[^\]]*\]", s)}
    ours_js = "\n".join(ours.scripts)
    for call in requires:
        assert call in ours_js, f"{page} lost {call}"
    # window.jhdata is what every JupyterHub script reads first.
    assert "window.jhdata" in ours_js and f'xsrf_token: "{XSRF}"' in ours_js


def test_native_login_form_posts_like_stock():
    """The Playwright login (issue 2) fills #username_input, #password_input, clicks
    #login_submit; NativeAuthenticator's LoginHandler.post reads username/password."""
    doc = Page(render(ja_env, "native-login.html", native_login_ctx()))
    (form,) = doc.forms
    assert form["action"] == "/hub/login?next=%2Fhub%2Fhome"
    assert form["method"] == "post"
    assert form["inputs"]["username"]["id"] == "username_input"
    assert form["inputs"]["password"]["id"] == "password_input"
    assert form["inputs"]["password"]["type"] == "password"
    assert form["inputs"]["_xsrf"]["value"] == XSRF
    assert {"login_submit", "login-main", "insecure-login-warning"} <= set(doc.ids)
    assert "2fa" not in form["inputs"]
    (form,) = Page(
        render(ja_env, "native-login.html", native_login_ctx(two_factor_auth=True))
    ).forms
    assert form["inputs"]["2fa"]["id"] == "2fa_input"


def test_signup_form_posts_what_the_handler_reads():
    doc = Page(render(ja_env, "signup.html", signup_ctx(ask_email=True, two_factor_auth=True)))
    (form,) = doc.forms
    assert form["action"] == "/hub/signup" and form["method"] == "post"
    source = inspect.getsource(na_handlers.SignUpHandler.post)
    read = set(re.findall(r'get_body_argument\(\s*"([^"]+)"', source))
    assert read == {
        "g-recaptcha-response",
        "username",
        "signup_password",
        "email",
        "2fa",
        "signup_password_confirmation",
    }
    assert read - {"g-recaptcha-response"} | {"_xsrf"} == set(form["inputs"])
    assert "管理者の承認" in doc.text
    # With reCAPTCHA on, Google's widget adds g-recaptcha-response.
    html = render(ja_env, "signup.html", signup_ctx(recaptcha_key="site-key"))
    assert 'class="g-recaptcha mb-3" data-sitekey="site-key"' in html
    assert "https://www.google.com/recaptcha/api.js" in html


def test_change_password_forms_post_what_the_handlers_read():
    for template, handler, ctx in [
        ("change-password.html", na_handlers.ChangePasswordHandler, {}),
        ("change-password-admin.html", na_handlers.ChangePasswordAdminHandler, {}),
    ]:
        read = set(re.findall(r'get_body_argument\("([^"]+)"', inspect.getsource(handler.post)))
        (form,) = Page(render(ja_env, template, namespace(FakeUser(), user_name="u", **ctx))).forms
        assert set(form["inputs"]) == read | {"_xsrf"}, template


def test_signup_pending_shows_result_instead_of_form():
    _, ctx_factory, _ = PAGES["signup-pending"]
    doc = Page(render(ja_env, "signup.html", ctx_factory()))
    assert not doc.forms
    assert "承認待ち" in doc.text
    assert "ログインすることはできません" in doc.text


def test_spawn_pending_keeps_the_progress_script_verbatim():
    """The event-stream script is inherited from JupyterHub, not rewritten."""
    ours = Page(render(ja_env, "spawn_pending.html", pending_ctx()))
    stock = Page(render(stock_env, "spawn_pending.html", pending_ctx()))
    (progress_js,) = [s for s in stock.scripts if "EventSource" in s]
    assert progress_js in ours.scripts
    assert f'new EventSource("/hub/api/users/tanaka/server/progress?_xsrf={XSRF}")' in (progress_js)
    for needed in ("progress-bar", "sr-progress", "progress-message", "progress-log"):
        assert needed in ours.ids
    translator = [s for s in ours.scripts if "MutationObserver" in s]
    assert translator and "Spawning server..." in translator[0]


# --------------------------------------------------------------------------- navigation, branding


def nav_text(html):
    nav = html[html.index("<nav") : html.index("</nav>")]
    return Page(nav).text


def test_nav_for_learner_and_admin():
    learner = nav_text(render(ja_env, "home.html", home_ctx()))
    for label in ("ホーム", "トークン", "パスワード変更", "ログアウト", "tanaka さん"):
        assert label in learner
    assert "管理" not in learner and "利用者の承認" not in learner

    admin_ctx = home_ctx()
    admin_ctx.update(user=FakeUser(name="admin", admin=True), parsed_scopes={"admin-ui": set()})
    admin = nav_text(render(ja_env, "home.html", admin_ctx))
    for label in ("ホーム", "トークン", "管理", "利用者の承認", "ログアウト"):
        assert label in admin
    assert '<a class="nav-link" href="/hub/admin">管理</a>' in render(
        ja_env, "home.html", admin_ctx
    )


def test_nav_without_native_authenticator():
    ctx = home_ctx(sunaba_native_auth=False)
    text = nav_text(render(ja_env, "home.html", ctx))
    assert "パスワード変更" not in text and "ホーム" in text


def test_logged_out_pages_offer_login():
    html = render(ja_env, "logout.html", namespace(None))
    assert '<a id="login"' in html and "ログイン" in nav_text(html)
    assert "ホーム" not in nav_text(html)


def test_branding_from_template_vars_and_defaults():
    html = render(ja_env, "home.html", home_ctx())
    assert f'<span class="sunaba-site-name">{SITE_NAME}</span>' in html
    assert ORGANISATION in Page(html).text

    ctx = home_ctx(template_vars={"sunaba_site_name": "練習ハブ", "sunaba_organisation": "X市"})
    doc = Page(render(ja_env, "home.html", ctx))
    assert doc.title.startswith("ホーム | 練習ハブ")
    assert "X市" in doc.text and SITE_NAME not in doc.text

    doc = Page(render(ja_env, "home.html", home_ctx(template_vars={})))
    assert "砂場 Sunaba" in doc.title and "砂場 Sunaba" in doc.text
    assert ORGANISATION not in doc.text

    html = render(ja_env, "home.html", home_ctx(sunaba_logo_url="/hub/logo"))
    assert '<img src="/hub/logo"' in html


def test_error_dialog_id_kept_for_ajax_errors():
    """static/js/utils.js opens $("#error-dialog") on API errors."""
    doc = Page(render(ja_env, "home.html", home_ctx()))
    assert "error-dialog" in doc.ids
    assert "ajax-error" in render(ja_env, "home.html", home_ctx())


@pytest.mark.parametrize(
    ("template", "ctx"),
    [
        (
            "admin.html",
            lambda: namespace(
                FakeUser(name="admin", admin=True),
                scopes=ADMIN_SCOPES,
                admin_access=True,
                api_page_limit=50,
                server_version="6.1.1",
            ),
        ),
        (
            "oauth.html",
            lambda: namespace(
                FakeUser(),
                oauth_client=SimpleNamespace(description="App", redirect_uri="/x"),
                scope_descriptions=[{"scope": None, "description": "Identify", "filter": ""}],
            ),
        ),
    ],
)
def test_untranslated_stock_pages_still_render_in_our_skeleton(template, ctx):
    html = render(ja_env, template, ctx())
    assert '<html lang="ja">' in html and SITE_NAME in html


def test_english_is_stock_without_ja_on_the_path():
    """Language "en": no ja/ on the template path means JupyterHub's own pages."""
    html = render(make_env([COMMON]), "login.html", hub_login_ctx())
    assert '<html lang="en">' in html and "Sign in" in html


# --------------------------------------------------------------------------- NativeAuthenticator messages


def signup_messages():
    """Every result message SignUpHandler can produce, from the installed handler."""
    out = []
    for min_len in (0, 8):
        for open_signup in (False, True):
            fake = SimpleNamespace(
                authenticator=SimpleNamespace(
                    minimum_password_length=min_len, open_signup=open_signup
                )
            )
            user_ok = SimpleNamespace(login_email_sent=False)
            user_mail = SimpleNamespace(login_email_sent=True)
            for args in [
                (user_ok, False, False, True, False),
                (user_ok, True, True, True, False),
                (user_ok, True, False, False, False),
                (None, True, False, True, False),
                (user_ok, True, False, True, False),
                (user_mail, True, False, True, False),
                (user_ok, True, False, True, True),
            ]:
                out.append(na_handlers.SignUpHandler.get_result_message(fake, *args))
    return sorted(set(out))


@pytest.mark.parametrize(("alert", "message"), signup_messages())
def test_every_signup_result_is_japanese(alert, message):
    ctx = signup_ctx(
        result_message=message,
        alert=alert,
        two_factor_auth_user=True,
        two_factor_auth_value="ABCDEF",
    )
    doc = Page(render(ja_env, "signup.html", ctx))
    assert not english_words(doc.text, allowed={"ABCDEF", "password"}), message
    if "at least 8" in message:
        assert "8 文字以上" in doc.text


# Messages built inline in NativeAuthenticator 1.3.0 handlers (and JupyterHub's login).
# Each is checked against the installed source, so reworded upstream text is noticed.
INLINE_MESSAGES = [
    ("native-login.html", "login_error", "Invalid username or password.", "正しくありません"),
    (
        "native-login.html",
        "login_error",
        "User suzuki has not been authorized by an administrator yet.",
        "suzuki さんのアカウントは、まだ管理者に承認されていません",
    ),
    (
        "login.html",
        "login_error",
        "Login form invalid or expired. Try again.",
        "有効期限が切れました",
    ),
    (
        "change-password.html",
        "result_message",
        "Your current password was incorrect. Please try again.",
        "現在のパスワードが正しくありません",
    ),
    (
        "change-password.html",
        "result_message",
        "Your new password didn't match the confirmation. Please try again.",
        "一致しません",
    ),
    (
        "change-password.html",
        "result_message",
        "Something went wrong!\nBe sure your new password has at least 8 characters "
        "and is not too common.",
        "8 文字以上",
    ),
    (
        "change-password.html",
        "result_message",
        "Something went wrong!\nBe sure your new password is not too common.",
        "推測されやすい",
    ),
    (
        "change-password-admin.html",
        "result_message",
        "The new password didn't match the confirmation. Please try again.",
        "一致しません",
    ),
    (
        "change-password-admin.html",
        "result_message",
        "The password for suzuki has been changed successfully",
        "suzuki さんのパスワードを変更しました",
    ),
    (
        "change-password-admin.html",
        "result_message",
        "Something went wrong!\nBe sure the new password for suzuki has at least 8 "
        "characters and is not too common.",
        "suzuki さんのパスワードを変更できませんでした",
    ),
    ("my_message.html", "message", "Invalid URL", "このリンクは無効です"),
    ("my_message.html", "message", "suzuki was already authorized.", "すでに承認されています"),
]


@pytest.mark.parametrize(("template", "var", "message", "japanese"), INLINE_MESSAGES)
def test_inline_messages_are_japanese(template, var, message, japanese):
    source = inspect.getsource(na_handlers) + inspect.getsource(
        __import__("jupyterhub.handlers.login", fromlist=["x"])
    )
    # the message's first words must still be in the upstream source
    assert message.split("\n")[0].replace("suzuki", "")[:24].strip() in source.replace(
        "{username}", ""
    ).replace("{user_name}", ""), message
    ctx = {
        "native-login.html": native_login_ctx,
        "login.html": hub_login_ctx,
    }.get(template, lambda: namespace(FakeUser(), user_name="suzuki"))()
    ctx[var] = message
    ctx.setdefault("alert", "alert-danger")
    doc = Page(render(ja_env, template, ctx))
    assert japanese in doc.text
    assert not english_words(doc.text, allowed={"suzuki", "tanaka", "password"}), message


def test_unknown_message_is_shown_unchanged():
    ctx = native_login_ctx(login_error="Account locked <b>now</b>")
    html = render(ja_env, "native-login.html", ctx)
    assert "Account locked &lt;b&gt;now&lt;/b&gt;" in html


def test_usernames_are_escaped():
    evil = "x');alert(1);('"
    users = [SimpleNamespace(username=evil, email="", has_2fa=False, is_authorized=False)]
    html = render(
        ja_env,
        "authorization-area.html",
        namespace(
            FakeUser(name="admin", admin=True), scopes=ADMIN_SCOPES, users=users, ask_email=False
        ),
    )
    assert evil not in html  # autoescaped everywhere
    # The discard confirmation reads the name from a data attribute, never from JS source.
    onclicks = re.findall(r'onclick="([^"]*)"', html)
    assert onclicks and all("alert(1)" not in js for js in onclicks)


@pytest.mark.parametrize(
    ("message", "refresh"),
    [
        ("Too many users trying to log in right now. Try again in 30 seconds.", 31),
        ("Too many users trying to log in right now. Try again in 2 minutes.", 30),
        ("Active user limit exceeded. Try again in a few minutes.", 120),
    ],
)
def test_a_learner_who_waits_for_a_spawn_slot_retries_on_their_own(message, refresh):
    html = render(ja_env, "error.html", error_ctx(429, message))
    assert f'<meta http-equiv="refresh" content="{refresh}">' in html
