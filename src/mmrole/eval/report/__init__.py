"""``mmrole report RUN...``: Markdown, CSV and HTML reports of one or several evaluated runs.

    from mmrole.eval.report import write_reports

    write_reports([Path("runs/a"), Path("runs/b")], Path("reports/ab"))
    # -> report.md, report.csv, report.html (+ its report_files/) and radar.png in reports/ab

The modules, in the order a report is made: :mod:`~mmrole.eval.report.data` reads a run folder
into typed views; :mod:`~mmrole.eval.report.tables` builds the tables once (and holds the one
number formatter); :mod:`~mmrole.eval.report.markdown`, :mod:`~mmrole.eval.report.html`,
:mod:`~mmrole.eval.report.chart` and :mod:`~mmrole.eval.report.browser` render them;
:mod:`~mmrole.eval.report.write` writes the files.
"""

from __future__ import annotations

from mmrole.eval.report.chart import render_radar
from mmrole.eval.report.markdown import render_markdown
from mmrole.eval.report.write import render_csv, write_folder_reports, write_reports, write_run_reports

__all__ = [
    "render_csv",
    "render_markdown",
    "render_radar",
    "write_folder_reports",
    "write_reports",
    "write_run_reports",
]
