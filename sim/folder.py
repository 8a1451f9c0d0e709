"""The folder ``neuro-av sim --out DIR`` writes: ``report.json``, ``report.md``, ``report.html`` and,
with ``--save-spikes``, ``spikes.npz``; it is sim's own (:func:`neuro_av.output.output_folder`).

A folder holding anything else is refused (``force`` takes it over), one sim writes it at a time,
and a sim writes into a private folder whose files replace the last run's when it has finished,
``report.json`` last; the last run's files that this one does not write (a ``spikes.npz`` without
``--save-spikes``) are removed then, so the folder never mixes two runs. An interrupted or failed
sim leaves the folder as it was.
"""
from __future__ import annotations

import json
from pathlib import Path

from neuro_av.output import output_folder
from neuro_av.sim.report import REPORT

COMMAND = "sim"
FILES = (REPORT, "report.md", "report.html", "spikes.npz", "shards")  # shards/: where earlier versions kept shards
REPORT_FORMAT = "neuro-av sim report"  # how every report format's name starts


def _holds_a_report(folder: Path) -> bool:
    """A sim folder from before markers: its report.json is a neuro-av sim report."""
    try:
        report = json.loads((Path(folder) / REPORT).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(report, dict) and str(report.get("format", "")).startswith(REPORT_FORMAT)


def sim_folder(out: Path, force: bool = False):
    """``with sim_folder(out) as stage:`` — write a sim's files into ``stage``; they replace the last
    run's in ``out`` when the block ends normally."""
    return output_folder(Path(out), COMMAND, lambda folder: FILES, force=force, adopt=_holds_a_report(out),
                         last=(REPORT,))
