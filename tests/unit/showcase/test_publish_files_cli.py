"""`sunaba showcase publish`: finds the showcase (the server's environment, else the hub), sends
the form's JSON request with the member's own token, and says in Japanese what was published,
what was left out, or why it failed (against a small fake hub + showcase on loopback)."""

from __future__ import annotations

import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from sunaba.cli import main
from sunaba.showcase.hub import URL_ENV
from sunaba.showcase.publish_cli import PublishFailed, notebook_in_home, run_publish

TOKEN = "member-token"


class Fake(BaseHTTPRequestHandler):
    requests: list = []
    lookups: list = []
    answer: tuple[int, dict] = (201, {})

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        Fake.lookups.append(self.path)
        if self.headers.get("Authorization") != f"token {TOKEN}":
            return self.reply(403, {"message": "no"})
        port = self.server.server_address[1]
        self.reply(200, {"url": f"http://127.0.0.1:{port}", "prefix": "/services/showcase/"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Fake.requests.append((self.path, self.headers.get("Authorization"), body))
        self.reply(*Fake.answer)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Fake.requests = []
    Fake.lookups = []
    monkeypatch.delenv(URL_ENV, raising=False)
    home = tmp_path / "home"
    (home / "app").mkdir(parents=True)
    (home / "app" / "app.ipynb").write_text("{}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}/hub/api")
    monkeypatch.chdir(home / "app")
    yield home
    server.shutdown()


def publish(*extra: str) -> tuple[int, str, str]:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    from sunaba.showcase.cli import add_commands

    add_commands(parser.add_subparsers())
    args = parser.parse_args(["showcase", "publish", "app.ipynb", *extra])
    out, err = io.StringIO(), io.StringIO()
    return run_publish(args, out, err), out.getvalue(), err.getvalue()


def test_publish_sends_the_forms_request_and_reports_files_left_out(fake):
    Fake.answer = (
        201,
        {
            "title": "避難所マップ",
            "team": "bousai",
            "visibility": "hub",
            "live_version": 2,
            "url": "/services/showcase/apps/7/",
            "versions": [{"number": 2, "files": ["app.ipynb", "shelters.csv"]}],
            "left_out_messages": [
                "「big.csv」: 入れると合計の大きさが上限を超えるため含めませんでした"
            ],
        },
    )
    code, out, err = publish("--team", "bousai", "--title", "避難所マップ", "--visibility", "hub")
    assert code == 0, err
    [(path, auth, body)] = Fake.requests
    assert path == "/services/showcase/api/apps"
    assert auth == f"token {TOKEN}"
    assert body == {
        "notebook": "app/app.ipynb",
        "title": "避難所マップ",
        "description": "",
        "team": "bousai",
        "visibility": "hub",
    }
    assert "公開しています" in out and "第 2 版" in out and "shelters.csv" in out
    assert "「big.csv」" in out


def test_a_refusal_shows_the_message_the_cell_and_the_files_left_out(fake):
    Fake.answer = (
        422,
        {
            "message": "ブラウザーなしで最初から最後まで実行できなかったため、公開しませんでした。",
            "number": 3,
            "source": "pd.read_csv('big.csv')",
            "left_out": ["「big.csv」: 入れると合計の大きさが上限を超えるため含めませんでした"],
        },
    )
    code, out, err = publish("--team", "bousai", "--title", "x", "--app", "7")
    assert code == 1
    assert Fake.requests[0][2]["app_id"] == 7
    assert "エラー: ブラウザーなしで" in err and "3 番目のコードセル" in err
    assert "pd.read_csv('big.csv')" in err and "「big.csv」" in err


def test_in_a_learners_server_the_address_comes_from_its_environment(fake, monkeypatch):
    # The server's token may call the showcase but not look it up in the hub.
    port = urlsplit(os.environ["JUPYTERHUB_API_URL"]).port
    monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{port}/services/showcase/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    Fake.answer = (201, {"title": "x", "live_version": 1, "versions": []})
    code, out, err = publish("--team", "bousai", "--title", "x")
    assert code == 0, err
    assert not Fake.lookups
    [(path, auth, _)] = Fake.requests
    assert path == "/services/showcase/api/apps" and auth == "token server-token"


def test_a_token_that_may_not_look_the_showcase_up_says_what_to_do(fake, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")  # the fake hub answers 403
    code, _, err = publish("--team", "bousai", "--title", "x")
    assert code == 1 and not Fake.requests
    assert "ショーケースの場所が分かりません" in err and "起動し直して" in err
    assert "ノートブックを公開…" in err


def test_no_token_means_run_it_from_jupyterlab(fake, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    code, _, err = publish("--team", "t", "--title", "x")
    assert code == 1 and "ターミナル" in err and not Fake.requests


def test_the_notebook_must_be_a_notebook_inside_the_home(tmp_path):
    home = tmp_path / "home"
    (home / "a").mkdir(parents=True)
    (home / "a" / "n.ipynb").write_text("{}")
    (tmp_path / "out.ipynb").write_text("{}")
    assert notebook_in_home(str(home / "a" / "n.ipynb"), home) == "a/n.ipynb"
    for bad, words in [
        (str(tmp_path / "out.ipynb"), "ホームフォルダー"),
        (str(home / "a" / "nai.ipynb"), "見つかりません"),
        (str(home / "a"), "ノートブック"),
    ]:
        with pytest.raises(PublishFailed) as refused:
            notebook_in_home(bad, home)
        assert words in refused.value.message


def test_the_command_is_registered(capsys):
    with pytest.raises(SystemExit):
        main(["showcase", "publish", "--help"])
    assert "--visibility" in capsys.readouterr().out
