"""NativeAuthenticator, fitted to JupyterHub 6 and to Japanese login messages.

NativeAuthenticator 1.3.0 predates JupyterHub 6: its login handler times logins with the removed
`statsd` client and its `_render` does not accept the keyword arguments JupyterHub passes when it
turns an error on the login form back into the form. Only the login handler is replaced; sign-up,
approval and password changes are NativeAuthenticator's own.
"""

from __future__ import annotations

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import Unicode

LOGIN_MESSAGES = {
    "ja": {
        "invalid": "ユーザー名またはパスワードが正しくありません。",
        "pending": "このアカウントはまだ管理者に承認されていません。承認されるまでお待ちください。",
    },
    "en": {
        "invalid": "Invalid username or password.",
        "pending": "This account has not been approved by an administrator yet.",
    },
}


class SunabaLoginHandler(NativeLoginHandler):
    def _render(self, login_error=None, username=None, sync=False, **_error_context):
        authenticator = self.authenticator
        next_url = self.get_argument("next", default="")
        return self.render_template(
            "native-login.html",
            sync=sync,
            next=url_escape(next_url),
            username=username,
            login_error=login_error,
            custom_html=authenticator.custom_html,
            login_url=self.settings["login_url"],
            enable_signup=authenticator.enable_signup,
            two_factor_auth=authenticator.allow_2fa,
            authenticator_login_url=url_concat(
                authenticator.login_url(self.hub.base_url), {"next": next_url}
            ),
            xsrf=self.xsrf_token.decode("ascii"),
        )

    async def post(self):
        data = {name: self.get_argument(name, strip=False) for name in self.request.arguments}
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        messages = LOGIN_MESSAGES.get(self.authenticator.language, LOGIN_MESSAGES["en"])
        username = data.get("username", "")
        info = self.authenticator.get_user(username) if username else None
        pending = (
            info is not None
            and not info.is_authorized
            and info.is_valid_password(data.get("password", ""))
        )
        error = messages["pending" if pending else "invalid"]
        self.finish(await self._render(login_error=error, username=username))


class SunabaAuthenticator(NativeAuthenticator):
    language = Unicode("ja", help="Language of login messages: ja or en.").tag(config=True)

    def get_handlers(self, app):
        return [
            (path, SunabaLoginHandler if handler is NativeLoginHandler else handler)
            for path, handler in super().get_handlers(app)
        ]
