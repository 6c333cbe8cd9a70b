"""The exchange's pages: a learner's マイコース and an instructor's course page (Japanese).

Both read the records database (progress) and the exchange store (the synced course and its
syllabus); who sees what is decided from the caller's hub groups on every request.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from jupyterhub.utils import url_path_join
from tornado import web

from sunaba.config.schema import SiteConfig
from sunaba.core.jadate import format_ja
from sunaba.core.layout import FORMGRADER_SERVICE, exchange_root
from sunaba.courses import progress
from sunaba.courses.course_data import missing_datasets
from sunaba.courses.insight import course_insight
from sunaba.courses.insight_view import dashboard
from sunaba.courses.learner_progress import course_progress
from sunaba.exchange.store import ExchangeStore
from sunaba.grading.export import detail_csv, detail_export, detail_xlsx
from sunaba.hub.service_app import page_templates

TEMPLATES = Path(__file__).resolve().parent / "templates"
OPEN_PATH = "sunaba/open"  # the learner server's handler (sunaba.exchange.lab_open)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render_markdown(text: str) -> str:
    try:
        import mistune

        return mistune.html(text)
    except ImportError:  # pragma: no cover - mistune comes with nbconvert
        from html import escape

        return f"<pre>{escape(text)}</pre>"


@contextmanager
def without_gc_pauses():
    """No cyclic garbage collection while a dashboard is built: it allocates some 100 000
    short-lived objects (500 learners), enough to trigger a full collection that walks every
    object of the service (tens of milliseconds, the slowest renders). Reference counting
    frees almost all of them anyway; collections resume right after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Pages:
    def __init__(self, config: SiteConfig, events):
        self.config = config
        self.events = events
        self.env = page_templates(TEMPLATES)
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
                if not self.caller.may_read_course(course):
                    raise web.HTTPError(403, "このページはコースの講師・採点者だけが見られます")
                assignment = self.get_query_argument("assignment", None)
                follow = self.get_query_argument("follow", "") == "1"
                html = await self.exchange.run(
                    pages.course_page, self.caller, course, assignment, follow
                )
                if html is None:
                    raise web.HTTPError(404, "このコースはありません")
                self.set_header("Cache-Control", "no-store")
                self.finish(html)

        class CourseExport(PageHandler):
            async def get(self, course: str, kind: str):
                if not self.caller.may_read_course(course):
                    raise web.HTTPError(403, "このページはコースの講師・採点者だけが見られます")
                data = await self.exchange.run(pages.course_export, course, kind)
                if data is None:
                    raise web.HTTPError(404, "このコースはありません")
                types = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}
                self.set_header("Content-Type", types[kind])
                self.set_header("Cache-Control", "no-store")
                self.set_header(
                    "Content-Disposition", f'attachment; filename="{course}-grades.{kind}"'
                )
                self.finish(data)

        course_path = r"courses/([a-z][a-z0-9-]{1,22})"
        return [
            (prefix, Root),
            (url_path_join(prefix, "mycourses"), MyCourses),
            (url_path_join(prefix, course_path), CoursePage),
            (url_path_join(prefix, course_path + r"/grades\.(csv|xlsx)"), CourseExport),
        ]

    # -- page data -----------------------------------------------------------------------

    def open_url(self, user: str, course: str, assignment: str) -> str:
        """「JupyterLab で開く」: the hub's spawn page goes straight on to `next` when the
        learner's server runs, and starts it first when it does not. `next` is the Sunaba
        handler in the learner's own server (sunaba.exchange.lab_open)."""
        target = url_path_join(self.config.hub.base_url, "user", quote(user, safe=""), OPEN_PATH)
        target += "?" + urlencode({"course": course, "assignment": assignment})
        return url_path_join(self.hub_prefix, "spawn") + "?" + urlencode({"next": target})

    def my_courses(self, caller, store) -> str:
        known = store.courses()
        courses = []
        with self.events.session() as session:
            for course_id in known if caller.admin else caller.courses(known):
                # Only the caller's own rows: progress, check records and question scores.
                view = progress.course_view(session, course_id, [caller.name])
                if view is None:
                    continue
                learner = caller.is_learner(course_id)
                mine = {"assignments": []}
                if learner:
                    mine = course_progress(
                        session,
                        view,
                        caller.name,
                        lambda a, c=course_id: store.released_dir(c, a),
                    )
                    for item in mine["assignments"]:
                        item["open_url"] = self.open_url(caller.name, course_id, item["id"])
                readme = store.course_dir(course_id) / "README.md"
                info = store.course_info(course_id) or {}
                courses.append(
                    {
                        "id": course_id,
                        "title": view.title,
                        "learner": learner,
                        "staff": caller.may_read_course(course_id),
                        "formgrader_url": self.formgrader_url(course_id),
                        "progress": mine,
                        "assignments": mine["assignments"],
                        "missing_datasets": missing_datasets(self.config, info.get("datasets", [])),
                        "syllabus": render_markdown(readme.read_text(encoding="utf-8"))
                        if readme.is_file()
                        else "",
                    }
                )
        return self.render("mycourses.html", title="マイコース", courses=courses, user=caller.name)

    def course_page(
        self, caller, course_id: str, assignment: str | None = None, follow: bool = False
    ) -> str | None:
        """The staff dashboard: one set of queries on the records database, nothing from the
        hub or the gradebooks (see sunaba.courses.insight)."""
        with without_gc_pauses(), self.events.session() as session:
            view = course_insight(session, course_id, assignment)
            board = dashboard(view, self.formgrader_url(course_id)) if view else None
        if view is None:
            return None
        page_url = url_path_join(self.prefix, "courses", course_id)
        page_url += f"?assignment={view.selected or ''}"
        with without_gc_pauses():
            return self.render(
                "dashboard.html",
                title=f"{view.title}（講師用）",
                course_id=course_id,
                board=board,
                assignments=view.assignments,
                learners=view.learners,
                follow=follow,
                page_url=page_url,
                export_url=url_path_join(self.prefix, "courses", course_id, "grades"),
                updated=format_ja(datetime.now(UTC)),
                formgrader_url=self.formgrader_url(course_id),
                missing=self.course_missing(course_id),
                user=caller.name,
            )

    def course_export(self, course_id: str, kind: str) -> bytes | None:
        """The detailed grade export of the course, as `sunaba grade export --detail`."""
        info = self.course_store().course_info(course_id) or {}
        with self.events.session() as session:
            export = detail_export(session, course_id, info.get("datasets", []))
        if export is None:
            return None
        return detail_xlsx(export) if kind == "xlsx" else detail_csv(export)

    def course_store(self):
        return ExchangeStore(exchange_root(self.config))

    def course_missing(self, course_id: str) -> list[str]:
        """The datasets the course uses that are not fetched on this server."""
        info = ExchangeStore(exchange_root(self.config)).course_info(course_id) or {}
        return missing_datasets(self.config, info.get("datasets", []))
