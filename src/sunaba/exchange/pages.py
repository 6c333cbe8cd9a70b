"""The exchange's pages: a learner's マイコース and an instructor's course page (Japanese).

Both read the records database (progress) and the exchange store (the synced course and its
syllabus); who sees what is decided from the caller's hub groups on every request.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from jupyterhub.utils import url_path_join
from tornado import web

from sunaba.config.schema import SiteConfig
from sunaba.courses import progress
from sunaba.courses.layout import FORMGRADER_SERVICE
from sunaba.exchange.jadate import format_ja
from sunaba.runtime.course_data import missing_datasets

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_JA = {
    None: "未取得",
    "fetched": "取得済み",
    "submitted": "提出済み",
    "graded": "採点済み",
    "feedback": "講評返却済み",
}


def score_text(row) -> str:
    if row is None or row.score is None:
        return ""
    return f"{row.score:g} / {row.max_score:g} 点"


def render_markdown(text: str) -> str:
    try:
        import mistune

        return mistune.html(text)
    except ImportError:  # pragma: no cover - mistune comes with nbconvert
        from html import escape

        return f"<pre>{escape(text)}</pre>"


class Pages:
    def __init__(self, config: SiteConfig, events):
        self.config = config
        self.events = events
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True
        )
        self.prefix = "/"
        self.hub_prefix = url_path_join(config.hub.base_url, "hub/")

    def formgrader_url(self, course: str) -> str:
        return url_path_join(
            self.config.hub.base_url, "services", FORMGRADER_SERVICE.format(course), "formgrader"
        )

    def render(self, name: str, **values) -> str:
        values.setdefault("site_name", self.config.site.name)
        values.setdefault("organisation", self.config.site.organisation)
        values.setdefault("prefix", self.prefix)
        values.setdefault("hub_prefix", self.hub_prefix)
        values.setdefault("user", "")
        return self.env.get_template(name).render(**values)

    def error(self, status: int, message: str) -> str:
        return self.render("error.html", title="エラー", status=status, message=message)

    def routes(self, prefix: str, base):
        self.prefix = prefix
        pages = self

        class PageHandler(base):
            api = False

        class Root(PageHandler):
            def get(self):
                self.redirect(url_path_join(prefix, "mycourses"))

        class MyCourses(PageHandler):
            async def get(self):
                html = await self.exchange.run(pages.my_courses, self.caller, self.exchange.store)
                self.finish(html)

        class CoursePage(PageHandler):
            async def get(self, course: str):
                if not self.caller.is_staff(course):
                    raise web.HTTPError(403, "このページはコースの講師・採点者だけが見られます")
                html = await self.exchange.run(pages.course_page, self.caller, course)
                if html is None:
                    raise web.HTTPError(404, "このコースはありません")
                self.finish(html)

        return [
            (prefix, Root),
            (url_path_join(prefix, "mycourses"), MyCourses),
            (url_path_join(prefix, r"courses/([a-z][a-z0-9-]{1,22})"), CoursePage),
        ]

    # -- page data -----------------------------------------------------------------------

    def my_courses(self, caller, store) -> str:
        known = store.courses()
        courses = []
        with self.events.session() as session:
            for course_id in caller.courses(known):
                view = progress.course_view(session, course_id, [caller.name])
                if view is None:
                    continue
                learner = caller.is_learner(course_id)
                assignments = []
                for a in view.assignments:
                    if not a.released:
                        continue
                    row = a.progress.get(caller.name)
                    status = row.status if row else None
                    assignments.append(
                        {
                            "id": a.assignment_id,
                            "title": a.title,
                            "opens": format_ja(a.opens) if a.opens else "公開中",
                            "due": format_ja(a.due),
                            "status": STATUS_JA[status],
                            "status_key": status or "none",
                            "late": bool(row and row.late and row.submitted_at),
                            "score": score_text(row),
                        }
                    )
                readme = store.course_dir(course_id) / "README.md"
                info = store.course_info(course_id) or {}
                courses.append(
                    {
                        "id": course_id,
                        "title": view.title,
                        "learner": learner,
                        "staff": caller.is_staff(course_id),
                        "formgrader_url": self.formgrader_url(course_id),
                        "assignments": assignments,
                        "missing_datasets": missing_datasets(self.config, info.get("datasets", [])),
                        "syllabus": render_markdown(readme.read_text(encoding="utf-8"))
                        if readme.is_file()
                        else "",
                    }
                )
        return self.render("mycourses.html", title="マイコース", courses=courses, user=caller.name)

    def course_page(self, caller, course_id: str) -> str | None:
        from sunaba.records.models import Person

        with self.events.session() as session:
            view = progress.course_view(session, course_id)
            if view is None:
                return None
            names = {
                p.login: p.display_name
                for p in session.query(Person).filter(Person.login.in_(view.learners))
            }
            assignments = [
                {"id": a.assignment_id, "title": a.title, "due": format_ja(a.due)}
                for a in view.assignments
            ]
            rows = []
            for login in view.learners:
                cells = []
                for a in view.assignments:
                    row = a.progress.get(login)
                    status = row.status if row else None
                    cells.append(
                        {
                            "id": a.assignment_id,
                            "status": STATUS_JA[status],
                            "status_key": status or "none",
                            "late": bool(row and row.late and row.submitted_at),
                            "score": score_text(row),
                        }
                    )
                rows.append({"login": login, "name": names.get(login, ""), "cells": cells})
        return self.render(
            "course.html",
            title=f"{view.title}（講師用）",
            assignments=assignments,
            rows=rows,
            learners=view.learners,
            formgrader_url=self.formgrader_url(course_id),
            missing=self.course_missing(course_id),
            user=caller.name,
        )

    def course_missing(self, course_id: str) -> list[str]:
        """The datasets the course uses that are not fetched on this server."""
        from sunaba.courses.layout import exchange_root
        from sunaba.exchange.store import ExchangeStore

        info = ExchangeStore(exchange_root(self.config)).course_info(course_id) or {}
        return missing_datasets(self.config, info.get("datasets", []))
