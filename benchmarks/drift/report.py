"""Turn the drift benchmark's JSON lines into the Markdown tables of ``benchmarks/README.md``.

Timings are medians over every round and case of a size (the cases differ in two
columns only); peak memory is the largest seen. Ratios divide a tool's median by
steadyml's in the same run. Decisions are those of the first round (the report says
when rounds disagreed). Usage::

    uv run python benchmarks/drift/report.py benchmarks/drift/results.jsonl
    uv run python benchmarks/drift/report.py RESULTS --readme benchmarks/README.md

With ``--readme`` the text between ``<!-- drift-results:start -->`` and
``<!-- drift-results:end -->`` is replaced; otherwise the tables are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

TOOLS = ("steadyml", "scipy", "evidently", "nannyml", "whylogs")
STORED = "steadyml, stored reference"
SIZES = ("census", "100k", "1M", "5M", "20M")
CASES = ("none", "trivial", "moderate", "major")
SHIFTED = ("num_0", "cat_0")
START, END = "<!-- drift-results:start -->", "<!-- drift-results:end -->"

Record = dict[str, Any]


def load(path: Path) -> list[Record]:
    """Every record of a results file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ok(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r.get("status") == "ok"]


def versions(records: Sequence[Record]) -> str:
    """The tools and versions measured."""
    found = {r["tool"]: r["version"] for r in _ok(records)}
    rows = [f"| {t} | {found[t]} |" for t in TOOLS if t in found]
    return "\n".join(["| tool | version |", "|---|---|", *rows])


def timings(records: Sequence[Record]) -> str:
    """Median wall and CPU time, process time and peak RSS per size and tool."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in _ok(records):
        groups[(r["size"], r["tool"])].append(r)
        phases = r.get("phases_s")
        if r["tool"] == "steadyml" and phases:
            # the same run without profiling the reference: what a monitor pays, since
            # the reference view is stored with the model version and loaded from bytes
            stored = r["wall_s"] - phases["profile_reference"]
            groups[(r["size"], STORED)].append({**r, "wall_s": stored})
    lines = [
        "| size | run | tool | runs | wall s | × steadyml (wall) | CPU s | × steadyml (CPU) "
        "| process s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        base = groups.get((size, "steadyml"), [])
        for tool in (*TOOLS, STORED):
            runs = groups.get((size, tool))
            if not runs:
                continue
            wall = statistics.median(r["wall_s"] for r in runs)
            run = ", ".join(sorted({str(r.get("run", "-")) for r in runs}))
            if tool == STORED:
                lines.append(
                    f"| {size} | {run} | {tool} | {len(runs)} | {wall:.2f} | - | - | - | - | - |"
                )
                continue
            cpu = [float(r["cpu_s"]) for r in runs if "cpu_s" in r]
            # against steadyml in the same rounds: the peers ran in the first round only,
            # and the machine's load changed between rounds
            rounds = {r.get("round", 0) for r in runs}
            same = [r for r in base if r.get("round", 0) in rounds]
            wall_ratio = _ratio(wall, [r["wall_s"] for r in same])
            cpu_ratio = _ratio(float(statistics.median(cpu)) if cpu else None,
                               [r["cpu_s"] for r in same if "cpu_s" in r])  # fmt: skip
            lines.append(
                f"| {size} | {run} | {tool} | {len(runs)} | {wall:.2f} | {wall_ratio} "
                f"| {_median_text(cpu)} | {cpu_ratio} "
                f"| {statistics.median(r['process_s'] for r in runs):.1f} "
                f"| {max(r['process_rss_mb'] for r in runs):.0f} |"
            )
    return "\n".join(lines)


def _median_text(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def _ratio(value: float | None, base: Sequence[float]) -> str:
    if value is None or not base:
        return "-"
    return f"{value / statistics.median(base):.1f}×"


def _first_round(records: Iterable[Record]) -> dict[tuple[str, str, str], Record]:
    first: dict[tuple[str, str, str], Record] = {}
    for r in _ok(records):
        key = (r["tool"], r["size"], r["case"])
        if key not in first or r.get("round", 0) < first[key].get("round", 0):
            first[key] = r
    return first


def _disagreements(records: Iterable[Record]) -> list[str]:
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    notes = []
    for r in _ok(records):
        key = (r["tool"], r["size"], r["case"])
        if key in seen and seen[key] != r["decisions"]:
            notes.append(f"{r['tool']} {r['size']} {r['case']}: rounds disagree")
        seen.setdefault(key, r["decisions"])
    return sorted(set(notes))


def _cell(decisions: dict[str, str]) -> str:
    others = [v for k, v in decisions.items() if k not in SHIFTED]
    flagged = [v for v in others if v != "ok"]
    alarms = f"{len(flagged)}/{len(others)}"
    if flagged and set(flagged) != {"drift"}:
        alarms += " (" + ", ".join(f"{flagged.count(v)} {v}" for v in sorted(set(flagged))) + ")"
    return f"{decisions.get('num_0', '?')} · {decisions.get('cat_0', '?')} · {alarms}"


def decision_matrix(records: Sequence[Record]) -> str:
    """Per case and size: each tool's decision on num_0, on cat_0, and its false alarms."""
    first = _first_round(records)
    tools = [t for t in TOOLS if any(k[0] == t for k in first)]
    lines = ["| case | size | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    for case in CASES:
        for size in SIZES[1:]:
            cells = [_cell(first[(t, size, case)]["decisions"]) if (t, size, case) in first
                     else "not run" for t in tools]  # fmt: skip
            if any(c != "not run" for c in cells):
                lines.append(f"| {case} | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def census(records: Sequence[Record]) -> str:
    """Features flagged on the census years (2015 against each later year)."""
    first = _first_round(records)
    tools = [t for t in TOOLS if any(k[0] == t and k[1] == "census" for k in first)]
    lines = ["| year | " + " | ".join(tools) + " |", "|---|" + "---|" * len(tools)]
    for year in sorted({k[2] for k in first if k[1] == "census"}):
        cells = []
        for tool in tools:
            record = first.get((tool, "census", year))
            if record is None:
                cells.append("not run")
                continue
            values = list(record["decisions"].values())
            drift, warn = values.count("drift"), values.count("warn")
            cells.append(f"{drift} drift, {warn} warn / {len(values)}")
        lines.append(f"| {year} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def problems(records: Sequence[Record]) -> str:
    """Runs that did not finish, and decisions that changed between rounds."""
    notes = [
        f"- {r['tool']} {r['size']} {r['case']}: {r['status']} ({r.get('error', '')})"
        for r in records
        if r.get("status") != "ok"
    ]
    notes += [f"- {n}" for n in _disagreements(records)]
    return "\n".join(notes) if notes else "- none"


def render(records: Sequence[Record]) -> str:
    """Every table, as Markdown."""
    return "\n\n".join(
        [
            "#### Versions\n\n" + versions(records),
            "#### Time and memory\n\n" + timings(records),
            "#### Decisions on synthetic data\n\n"
            "Each cell: decision on `num_0` · decision on `cat_0` · columns flagged among "
            "the 13 that never change (false alarms).\n\n" + decision_matrix(records),
            "#### Decisions on the census years (16 features, 2015 as reference)\n\n"
            + census(records),
            "#### Runs that failed, timed out or disagreed between rounds\n\n" + problems(records),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args(argv)
    text = render(load(args.results))
    if args.readme is None:
        print(text)
        return
    page = args.readme.read_text()
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    args.readme.write_text(f"{head}{START}\n\n{text}\n\n{END}{tail}")


if __name__ == "__main__":
    main()
