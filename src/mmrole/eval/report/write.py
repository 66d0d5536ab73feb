"""Writing a report's files: ``report.md``, ``report.csv``, ``report.html`` (with ``report_files/``)
and ``radar.png``, into a run folder or any folder.

The Markdown and HTML tables show the same numbers (rounded to three decimals); the
CSV holds every number of every ``results.json`` unrounded, one row per run x section
x quantity. Failed and never-judged samples are always counted, never hidden.

Memory stays flat in the number of runs: each run is kept as its results and sample
splits only, and the sample browser's data is streamed run by run into ``report_files/``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from mmrole import files
from mmrole.errors import ConfigError
from mmrole.eval.report.browser import FILES_DIR, remove_stale_files, write_browser_files
from mmrole.eval.report.chart import figure_svg, radar_figure, save_figure
from mmrole.eval.report.data import RunData, load_run
from mmrole.eval.report.html import render_html
from mmrole.eval.report.markdown import render_markdown
from mmrole.eval.report.tables import CSV_COLUMNS, csv_rows
from mmrole.runs import REPORT_FILES, RunFolder

__all__ = ["render_csv", "write_folder_reports", "write_reports", "write_run_reports"]


def render_csv(runs: Sequence[RunData]) -> str:
    """The CSV report (columns :data:`~mmrole.eval.report.tables.CSV_COLUMNS`), numbers unrounded."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(runs):
        writer.writerow({key: ("" if value is None else value) for key, value in row.items()})
    return buffer.getvalue()


def _unique_names(runs: Sequence[RunData]) -> None:
    """Give runs distinct names (two runs may share a run.json name): add the folder, then a number."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    taken: set[str] = set()
    for run in runs:
        name = run.name
        if counts[name] > 1:
            name = f"{name} ({run.path.name})"
        base, number = name, 2
        while name in taken:
            name, number = f"{base} #{number}", number + 1
        taken.add(name)
        run.info.name = name


def write_reports(run_dirs: Sequence[str | Path], out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv``, ``report.html`` (with its ``report_files/``) and ``radar.png``.

    A report written into a run's own folder is recorded in its run.json: judging the run
    again rewrites it with the new results, so it is never left stale.

    Args:
        run_dirs: Judged run folders, in the order to show them.
        out_dir: Where to write. Defaults to the run folder when there is a single run;
            required for several.

    Returns:
        The paths written, keyed ``markdown``, ``csv``, ``html``, ``radar`` and ``browser`` (the
        folder of the sample browser's data, which goes with ``report.html``).

    Raises:
        ConfigError: No run folder, several without ``out_dir``, or the run folder is in use.
        DataError: A run folder is missing, is not judged, holds a malformed record, or holds
            files that are not those its run.json records.
    """
    if not run_dirs:
        raise ConfigError("report: give at least one run folder")
    if out_dir is None:
        if len(run_dirs) > 1:
            raise ConfigError("report: several runs need an output folder (--out) for the combined report")
        out_dir = run_dirs[0]
    out_dir = Path(out_dir)
    if len(run_dirs) == 1 and _same_folder(out_dir, Path(run_dirs[0])):
        with RunFolder(out_dir).lock():  # read under the lock: the reports are of what it then holds
            return write_folder_reports(load_run(out_dir))
    runs = [load_run(Path(run_dir)) for run_dir in run_dirs]
    return write_run_reports(runs, {key: out_dir / name for key, name in REPORT_FILES.items()})


def write_folder_reports(run: RunData) -> dict[str, Path]:
    """Write a judged run's reports into its own folder, recorded in its run.json (judging then rewrites
    them): what :func:`write_reports` does for one run, and ``mmrole eval`` does from the records it
    holds (:func:`~mmrole.eval.report.data.run_data`) right after judging.

    Raises:
        DataError: The folder's results are not those its run.json records.
        ConfigError: Another process is using the folder.
    """
    folder = RunFolder(run.path)
    with folder.lock():
        folder.begin_reports()
        paths = write_run_reports([run], folder.report_paths())
        folder.finish_reports()
    return paths


def write_run_reports(runs: list[RunData], paths: Mapping[str, Path]) -> dict[str, Path]:
    """Write the reports of ``runs`` to ``paths`` (keyed as :data:`~mmrole.runs.REPORT_FILES`), recording
    nothing in any run.json (judging rewrites a folder's reports so, before it commits)."""

    _unique_names(runs)
    out_dir = paths["html"].parent
    # The data files first, under names of their own: the page written last never points at missing ones.
    browser = write_browser_files(runs, out_dir)
    figure = radar_figure({run.name: run.results for run in runs})
    # Each file is replaced atomically: a crash leaves the previous report, never half a file.
    save_figure(figure, paths["radar"])
    files.write_text(paths["markdown"], render_markdown(runs, radar_file=paths["radar"].name))
    files.write_text(paths["csv"], render_csv(runs))
    names = ", ".join(run.name for run in runs) if len(runs) <= 3 else f"{len(runs)} runs"
    files.write_text(
        paths["html"], render_html(runs, figure_svg(figure), browser, title=f"MMRole-Eval report: {names}")
    )
    remove_stale_files(out_dir, browser)
    return {**paths, "browser": out_dir / FILES_DIR}


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
