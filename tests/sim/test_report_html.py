"""report.html leads with its findings: the verdicts fill the first screen of a real browser, before
any table or figure, and every number they state is the report.json's."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from neuro_av.sim.report import render
from neuro_av.sim.report_verdicts import verdicts

GOLDEN = Path(__file__).resolve().parent / "golden" / "report_stft.json"  # make_report_golden.py rewrites it
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# writes the layout of the first verdict box, table and figure into the DOM, for --dump-dom to show
PROBE = """<script>window.addEventListener('load', () => {
 const box = s => { const e = document.querySelector(s); if (!e) return null;
   const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
 const pre = document.createElement('pre'); pre.id = 'probe';
 pre.textContent = JSON.stringify({verdicts: box('#verdicts'), contents: box('#contents'), table: box('table'),
   img: box('img'), height: window.innerHeight});
 document.body.appendChild(pre); });</script>"""


@pytest.fixture
def rendered(tmp_path) -> Path:
    shutil.copy(GOLDEN, tmp_path / "report.json")
    render(tmp_path)
    return tmp_path


def _chromium(args: list[str], tmp_path: Path) -> str:
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_verdicts_come_first_in_the_page_and_the_markdown(rendered):
    page = (rendered / "report.html").read_text()
    first = min(page.index(tag) for tag in ("<table", "<img"))
    assert page.index("id='verdicts'") < page.index("id='contents'") < first
    md = (rendered / "report.md").read_text()
    assert md.index("## Findings") < md.index("|")  # before any table
    # details last and collapsed; the figures the issue asks for, each after its section's table
    assert page.index("<details><summary>Fixed-point quantisation") > page.rindex("<img alt='Utilisation")
    assert "<details><summary>Sources, assumptions and versions" in page
    for title in ("Accuracy per backend", "Spike Dice per layer vs norse", "Spike raster of one clip",
                  "Energy per clip", "Utilisation of the limits per target", "Relative quantisation error per node",
                  "What rounding does to each synapse"):
        assert f"<img alt='{title}" in page, title


def test_every_verdict_number_is_the_reports(rendered):
    report = json.loads(GOLDEN.read_text())
    b, text = report["backends"], " ".join(verdicts(report))
    for name in ("lava-float", "quant-float", "lava-fixed"):
        assert f"{b[name]['class_agreement_vs_reference'] * 100:.1f} %" in text
    worst = min(b["lava-fixed"]["fidelity"]["layers"].items(), key=lambda kv: kv[1]["dice"])
    assert f"lowest {worst[1]['dice']:.4f} on `{worst[0]}`" in text
    e = b["norse"]["energy"]
    branch, dense = e["neuromorphic"]["loihi1"]["total"], e["dense_accelerator"]["total"]
    assert f"costs **{branch * 1e6:.3g} µJ**" in text and f"**{dense * 1e6:.3g} µJ** for the same layers" in text
    assert f"{branch / dense:.2g}× more" in text
    host = e["ann_parts"]["total"]
    assert f"take {host * 1e6:.3g} µJ, {host / (host + branch) * 100:.0f} %" in text
    t = report["deployment"]["targets"]
    assert ("Intel Loihi (first generation) does **not** fit" in text) == (not t["loihi1"]["fits"])
    assert f"{t['loihi1']['cores']} of 128 cores" in text
    assert "µJ" in (rendered / "report.md").read_text() and " nJ" not in (rendered / "report.md").read_text()
    lo, hi = b["norse"]["interval"]["HM"]
    assert lo <= b["norse"]["HM"] <= hi and f"interval of HM over the clips {lo:.2f}–{hi:.2f}" in text
    lo, hi = b["norse"]["interval"]["U"]  # the tiny run's S is 0: U is where the clips spread
    assert lo < b["norse"]["U"] < hi and hi - lo > 1
    zero = [h["rounded_to_zero"] / h["values"] for h in (r.get("weight_histograms") for r in
                                                        report["quantisation"]["layers"].values()) if h]
    assert f"sets {min(zero) * 100:.1f} %–{max(zero) * 100:.1f} % of each synapse's" in text


def test_spread_and_embedding_change_are_in_the_accuracy_section(rendered):
    report = json.loads(GOLDEN.read_text())
    md = (rendered / "report.md").read_text()
    section = md[md.index("## Accuracy"):md.index("## Fidelity")]
    assert "Spread over the test clips" in section and "| backends | S | U | HM | ZSL |" in section
    change = report["backends"]["lava-fixed"]["embedding_rel_change_vs_reference"]
    assert 0 < change < 0.05 and f"{change:.2%}" in section


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
def test_verdicts_fill_the_first_screen_in_chromium(rendered, tmp_path):
    page = rendered / "report.html"
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium(["--window-size=1280,800", "--dump-dom", probe.as_uri()], tmp_path)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found, dom[-2000:]
    box = json.loads(found.group(1).replace("&quot;", '"'))
    assert box["verdicts"]["bottom"] <= box["height"], box  # every verdict on the first screen
    assert box["verdicts"]["bottom"] <= box["contents"]["top"] <= box["table"]["top"] <= box["img"]["top"], box
    shot = tmp_path / "first_screen.png"
    _chromium(["--window-size=1280,800", f"--screenshot={shot}", page.as_uri()], tmp_path)
    assert shot.stat().st_size > 20_000  # a page was drawn (an empty one is a few kB)
