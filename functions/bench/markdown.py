"""The README's Performance table from a results document."""

from __future__ import annotations

from typing import Any


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.1%}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(document: dict[str, Any]) -> str:
    lines = [
        "| figure | median (min-max) | ceiling / floor, same run | ratio | target | original |",
        "|---|---|---|---|---|---|",
    ]
    for f in document["figures"]:
        spread = f"{_number(f['value'], f['unit'])} ({_number(f['min'])}-{_number(f['max'])})"
        ceiling = f"{_number(f['ceiling'])} `{f['ceiling_name']}`" if f["ceiling_name"] else "-"
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else "-"
        lines.append(
            f"| `{f['name']}` | {spread} | {ceiling} | {ratio} | {f['target'] or '-'} "
            f"| {f['original'] or '-'} |"
        )
    for omitted in document["omitted"]:
        lines.append(f"| `{omitted['name']}` | omitted: {omitted['reason']} | | | | |")
    return "\n".join(lines)
