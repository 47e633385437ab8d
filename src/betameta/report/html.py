"""Small helpers to assemble a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1150px;margin:2em auto;
     padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #31688e}h2{font-size:1.25em;margin-top:2em;color:#31688e}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#eef3f8}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure svg,figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.85em;color:#555}.note{background:#f7f7f2;border-left:4px solid #b5367a;
padding:.5em 1em}code{background:#f2f2f2;padding:0 .2em}
"""


def esc(x: Any) -> str:
    """HTML-escaped text of ``x``."""
    return html.escape(str(x))


def fmt(x: Any, digits: int = 4) -> str:
    """Return a number for a table cell (``NA`` for a missing one)."""
    if x is None:
        return "—"
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            return "∞" if x > 0 else ("−∞" if x < 0 else "—")
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.3g}"
        return f"{x:.{digits}f}"
    return esc(x)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    """Return an HTML table of ``rows`` under ``header``."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{fmt(c, digits)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(fig: Any, caption: str, kind: str = "svg") -> str:
    """Embed a matplotlib figure inline (SVG text, or a base64 PNG for dense plots)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    if kind == "svg":
        fig.savefig(buf, format="svg", bbox_inches="tight")
        svg = buf.getvalue().decode()
        body = svg[svg.index("<svg"):]
    else:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        data = base64.b64encode(buf.getvalue()).decode()
        body = f'<img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
    plt.close(fig)
    return f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def png_file(path: Any, caption: str) -> str:
    """Return a PNG file inlined as a figure with its caption."""
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode()
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def provenance(command: str | None) -> str:
    """Return the section recording the command and package versions."""
    pkgs = ["betameta", "numpy", "scipy", "pandas", "matplotlib"]
    versions = []
    for p in pkgs:
        try:
            versions.append((p, metadata.version(p)))
        except metadata.PackageNotFoundError:
            continue
    cmd = command if command is not None else " ".join(sys.argv)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ("<h2>Reproducibility</h2>"
            f"<p>Command: <code>{esc(cmd)}</code><br>Generated {when} on Python "
            f"{esc(platform.python_version())}.</p>" + table(["package", "version"], versions))


def page(title: str, sections: Sequence[str]) -> str:
    """Return a whole self-contained HTML page."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{''.join(sections)}</body></html>")
