"""The live page's per-segment experiment table (K23): descriptive figures, no verdict.

Kept apart from ``render`` (the page's other sections) so each stays one screenful.
Every number carries its ``collectpulse_experiment_segment_*`` sample, as elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from collectpulse.ui.cells import num

_CAPTION = (
    "By segment (the customer's exposing message): descriptive only. A segment's p-value "
    "is not corrected for the number of segments and gives no verdict; decide on the "
    "experiment's figures above unless the segment was registered before the start."
)


def segments_table(exp: Mapping[str, Any], metrics: Mapping[str, str]) -> str:
    """One row per segment and arm; the variant's difference and p-value on its rows."""
    if not exp["segments"]:
        return ""
    split = {"campaign": exp["campaign"], "control": exp["control"], "tenant": exp["tenant"]}
    rows = []
    for seg in exp["segments"]:
        labels = {**split, "segment": seg["segment"]}
        versus = {c["variant"]: c for c in seg["comparisons"]}
        for arm in seg["arms"]:
            cmp = versus.get(arm["arm"], {})
            cmp_labels = {**labels, "variant": arm["arm"]}
            rows.append(
                f'<tr><th scope="row">{escape(seg["segment"] or "(none)")}</th>'
                f"<td>{escape(arm['arm'])}</td>"
                + "".join(
                    num(arm[key], "count", metrics[f"seg_{key}"], {**labels, "arm": arm["arm"]})
                    for key in ("exposed", "units", "conversions")
                )
                + num(arm["rate"], "ratio")
                + (
                    num(cmp.get("diff_low"), "lift", metrics["seg_diff_low"], cmp_labels)
                    + num(cmp.get("diff_high"), "lift", metrics["seg_diff_high"], cmp_labels)
                    + num(cmp.get("p_value"), "p", metrics["seg_p_value"], cmp_labels)
                    if cmp
                    else "<td></td><td></td><td></td>"
                )
                + num(seg["crossovers"], "count", metrics["seg_crossovers"], labels)
                + "</tr>"
            )
    return (
        f"<table><caption>{_CAPTION}</caption><thead><tr>"
        '<th scope="col">segment</th><th scope="col">arm</th><th scope="col">exposed</th>'
        '<th scope="col">matured</th><th scope="col">paid within horizon</th>'
        '<th scope="col">rate</th><th scope="col">difference from</th><th scope="col">to</th>'
        '<th scope="col">p-value (uncorrected)</th><th scope="col">crossovers</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
