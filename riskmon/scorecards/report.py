"""The scorecard's sign-off report: one self-contained HTML file (no script, no CDN).

What a reviewer checks: the hold-out evidence (Gini, KS, AUC, Brier, mean PD
against the bad rate), the ROC curve, then per characteristic its
information value, and per bin the count, bad rate, weight of evidence and
points; dropped characteristics are listed with the reason.
"""

from __future__ import annotations

from html import escape

from riskmon.scorecards.fit import CharacteristicReport, FitResult

__all__ = ["render_report", "roc_svg"]

_CSS = """body{font-family:sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}.dropped{color:#777}"""


def roc_svg(points: list[tuple[float, float]], title: str = "ROC on the hold-out") -> str:
    """The ROC curve (false against true positive rate) as inline SVG, with the diagonal."""
    size, pad = 300, 40
    inner = size - 2 * pad

    def xy(fpr: float, tpr: float) -> str:
        return f"{pad + fpr * inner:.1f},{size - pad - tpr * inner:.1f}"

    path = " ".join(xy(f, t) for f, t in points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">'
        f'<text x="{pad}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>'
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" stroke="#999"/>'
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#bbb" stroke-dasharray="4"/>'
        f'<polyline fill="none" stroke="#4477aa" stroke-width="2" points="{path}"/>'
        f'<text x="{size / 2}" y="{size - 10}" text-anchor="middle">false positive rate (goods refused)</text>'
        f'<text x="12" y="{size / 2}" text-anchor="middle" transform="rotate(-90 12 {size / 2})">'
        "true positive rate (bads caught)</text></svg>"
    )


def _metrics_table(result: FitResult) -> str:
    rows = [("", "fit", "hold-out")]
    for key, label in (
        ("gini", "Gini"),
        ("ks", "KS"),
        ("auc", "AUC"),
        ("brier", "Brier score"),
        ("mean_pd", "mean PD"),
        ("bad_rate", "bad rate"),
    ):
        hold = result.holdout_metrics.get(key)
        rows.append((label, f"{result.fit_metrics[key]:.4f}", "" if hold is None else f"{hold:.4f}"))
    rows.append(("applications", str(result.n_fit), str(result.n_holdout)))
    head, *body = rows
    out = "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
    out += "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return out + "</table>"


def _characteristic(ch: CharacteristicReport) -> str:
    out = (
        f"<h3>{escape(ch.code)} <small>({escape(ch.field)})</small></h3>"
        f"<p>{escape(ch.description)}. Information value {ch.iv:.4f}; coefficient {ch.coefficient:.3f}.</p>"
        "<table><tr><th>bin</th><th>applications</th><th>bads</th><th>bad rate</th><th>WoE</th><th>IV</th>"
        "<th>points</th></tr>"
    )
    for b in ch.bins:
        if not b.count and b.label != "missing":
            continue
        out += (
            f"<tr><td>{escape(b.label)}</td><td>{b.count}</td><td>{b.bads}</td><td>{b.bad_rate:.2%}</td>"
            f"<td>{b.woe:+.3f}</td><td>{b.iv:.4f}</td><td>{b.points:.1f}</td></tr>"
        )
    return out + "</table>"


def _trend_text(result: FitResult) -> str:
    """How the card was binned and regularised, and why (the cross-validated choice, if one was made)."""
    o = result.options
    shape = "monotonic bad rate" if o.trend == "auto_asc_desc" else "a peak or valley allowed"
    test = f"neighbouring bins differ at p < {o.max_pvalue:g}" if o.max_pvalue is not None else "no test"
    text = f"Numeric bins: {shape}; {test}; regression C = {o.regularisation:g}."
    if o.ratios:
        text += f" Declared ratio characteristics (one field divided by another): {', '.join(o.ratios)}."
    if not result.selection:
        return text
    cv = "; ".join(f"{name} {auc:.4f}" for name, auc in result.selection.items())
    return f"{text} Chosen by 4-fold cross-validation inside the fitting part (mean AUC: {cv})."


def render_report(result: FitResult, *, source: str) -> str:
    """The whole report as HTML text."""
    o, card = result.options, result.card
    kept = [c for c in result.characteristics if c.kept]
    dropped = [c for c in result.characteristics if not c.kept]
    points_rows = "".join(
        f"<tr><td>{escape(c.code)}</td><td>{escape(c.field)}</td><td>{c.iv:.4f}</td>"
        f"<td>{min(b.points for b in c.bins if b.count):.1f}</td>"
        f"<td>{max(b.points for b in c.bins if b.count):.1f}</td></tr>"
        for c in sorted(kept, key=lambda c: -c.iv)
    )
    dropped_rows = "".join(
        f'<tr class="dropped"><td>{escape(c.field)}</td><td>{c.iv:.4f}</td><td>{escape(c.dropped_because)}</td></tr>'
        for c in sorted(dropped, key=lambda c: -c.iv)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Scorecard report</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Scorecard report</h1><p>Fitted on {escape(source)}: the first {result.n_fit} applications with an "
        f"outcome fit, the last {result.n_holdout} are the hold-out (never seen in fitting). "
        f"Scaling: {o.points_to_double_the_odds:g} points double the odds; {o.base_points:g} points at "
        f"{o.base_odds:g}:1 good:bad odds (offset {card.offset:.2f}, factor {card.factor:.3f}). "
        f"Characteristics with an information value under {o.min_iv} are dropped. {escape(_trend_text(result))}</p>"
        "<h2>Discrimination and calibration</h2>"
        f"{_metrics_table(result)}{roc_svg(result.roc) if result.roc else ''}"
        "<h2>Points table</h2><table><tr><th>characteristic</th><th>field</th><th>IV</th><th>fewest points</th>"
        f"<th>most points</th></tr>{points_rows}</table>"
        "<h2>Bins, weight of evidence and points</h2>"
        "<p>WoE = ln(share of bads / share of goods) in the bin: positive is riskier. A bin never seen in fitting "
        "(missing) scores as the average applicant.</p>"
        + "".join(_characteristic(c) for c in sorted(kept, key=lambda c: -c.iv))
        + "<h2>Dropped characteristics</h2><table><tr><th>field</th><th>IV</th><th>why</th></tr>"
        + dropped_rows
        + "</table></body></html>\n"
    )
