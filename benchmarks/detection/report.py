"""Time-to-detect and false alarms per tool, from the runs, into ``benchmarks/README.md``.

Reads the manifest of the windows (``data/manifest.json``), the peers' per-window records
(``results.jsonl``) and steadyml's own measurement (``steadyml_results.json``, written by
``steadyml simulate`` runs of the same scenario files), and writes the section between
the detection markers of the README (or prints it).

For a peer, a window *alarms* when any check flags anything: for Evidently a failed
``Value Drift`` test of any column (the output column's is its prediction drift); for
NannyML a univariate-drift alert on any column or a CBPE alert on any estimated metric.
An injected incident on a feature is *detected* by the first window at or after its onset
that flags that feature (as steadyml's detection must name it); an incident on the model
or the labels by the first window at or after its onset that alarms at all.
Time-to-detect is that window's end minus the onset (simulated minutes; a window is
evaluated when it closes). On clean traffic (every window before the first onset of an
incident scenario, and the whole clean stretch) each alarming window is a false alarm;
consecutive alarming windows also count once as an *episode* (what an alert grouper would
page for).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START = "<!-- detection-benchmark:start -->"
END = "<!-- detection-benchmark:end -->"
TITLE = "## Detection: steadyml, Evidently and NannyML"
TOOLS = ("evidently", "nannyml")
LABEL_SIDE = frozenset({"nan_outputs", "bad_version", "label_shift", "concept_drift"})


@dataclass
class Outcome:
    """One tool on one injected incident."""

    detected: bool = False
    minutes: float | None = None
    flagged: list[str] = field(default_factory=list)
    first_any: float | None = None
    errors: int = 0
    windows: int = 0
    before: bool = False


@dataclass
class Clean:
    """One tool on clean traffic."""

    windows: int = 0
    alarms: int = 0
    episodes: int = 0
    errors: int = 0
    seconds: float = 0.0
    columns: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def per_day(self, count: int) -> float:
        """``count`` per simulated day of clean traffic."""
        return count / (self.seconds / 86_400.0) if self.seconds else float("nan")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _flags(record: dict[str, Any]) -> list[str]:
    return sorted({f"{check}:{c}" for check, cols in record["alarms"].items() for c in cols
                   if check != "dataset_drift"})  # fmt: skip


def _columns(flags: Iterable[str]) -> set[str]:
    return {flag.split(":", 1)[1] for flag in flags}


def load(path: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Per (tool, scenario): the window records in window order (failed runs apart)."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            runs[record["tool"], record["scenario"]].append(record)
    return runs


def first_onset(scenario: dict[str, Any]) -> datetime | None:
    """The earliest onset of a real (not clean) incident."""
    onsets = [_time(i["onset"]) for i in scenario["incidents"] if i["type"] != "clean"]
    return min(onsets) if onsets else None


def outcome(incident: dict[str, Any], records: list[dict[str, Any]]) -> Outcome:
    """When and how ``records`` (one tool, one scenario) caught ``incident``."""
    onset = _time(incident["onset"])
    found = Outcome()
    feature = None if incident["type"] in LABEL_SIDE else incident.get("feature")
    for record in records:
        if "window" not in record:
            continue
        if _time(record["start"]) < onset:
            flags = _flags(record)
            found.before |= bool(flags if feature is None else
                                 [f for f in flags if f.endswith(f":{feature}")])  # fmt: skip
            continue
        found.windows += 1
        found.errors += record["status"] != "ok"
        flags = _flags(record)
        minutes = (_time(record["end"]) - onset).total_seconds() / 60.0
        if flags and found.first_any is None:
            found.first_any = minutes
        relevant = flags if feature is None else [f for f in flags if f.endswith(f":{feature}")]
        if relevant and not found.detected:
            found.detected, found.minutes, found.flagged = True, minutes, flags
    return found


def clean(manifest: dict[str, Any], runs: dict[tuple[str, str], list[dict[str, Any]]],
          tool: str) -> Clean:  # fmt: skip
    """False alarms of ``tool`` over the clean stretch (scenarios without an incident).

    The windows before an incident scenario's onset are not counted: every scenario starts
    at the same time with the same seed, so they repeat the clean stretch's first hour.
    """
    total = Clean()
    for scenario in manifest["scenarios"]:
        onset = first_onset(scenario)
        if onset is not None:
            continue
        previous = False
        for record in runs.get((tool, scenario["name"]), []):
            if "window" not in record:
                continue
            if onset is not None and _time(record["end"]) > onset:
                break
            total.windows += 1
            total.seconds += (_time(record["end"]) - _time(record["start"])).total_seconds()
            total.errors += record["status"] != "ok"
            flags = _flags(record)
            total.alarms += bool(flags)
            total.episodes += bool(flags) and not previous
            previous = bool(flags)
            for column in _columns(flags):
                total.columns[column] += 1
    return total


def steadyml_results(path: Path) -> dict[str, dict[str, Any]]:
    """steadyml's simulation reports by scenario name (empty when the file is absent)."""
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    reports: Any = raw.get("runs", raw.get("scenarios", raw)) if isinstance(raw, dict) else raw
    if isinstance(reports, dict):
        return {str(k): v for k, v in reports.items() if isinstance(v, dict)}
    named: dict[str, dict[str, Any]] = {}
    for report in reports:
        name = report.get("name") or report.get("scenario", {})
        named[name if isinstance(name, str) else str(name.get("name"))] = report
    return named


def _steadyml_cell(report: dict[str, Any] | None, incident: dict[str, Any]) -> str:
    if report is None:
        return "not run"
    detections = report.get("detections", [])
    match = next((d for d in detections if d.get("name") == incident["name"]), None)
    if match is None:
        match = next((d for d in detections if d.get("type") == incident["type"]), None)
    if match is None:
        return "?"
    if not match.get("detected"):
        return "**missed**"
    seconds = match.get("time_to_detect_s")
    minutes = "?" if seconds is None else f"{float(seconds) / 60.0:.0f} min"
    alert = match.get("alert") or match.get("incident_type") or ""
    return f"{minutes} (`{alert}`)" if alert else minutes


def _trivial_cells(report: dict[str, Any] | None, found: dict[str, Outcome]) -> list[str]:
    # a trivial shift should not page: the cells say whether each tool alarmed on it
    ours = (
        "not run"
        if report is None
        else (f"{report.get('pages', '?')} pages, {report.get('warnings', '?')} warnings")
    )
    cells = [ours]
    for tool in TOOLS:
        outcome = found.get(tool)
        if outcome is None or outcome.windows == 0:
            cells.append("not run")
        elif outcome.detected:
            cells.append(f"alarm at {outcome.minutes:.0f} min (on the feature)")
        else:
            cells.append("no alarm on the feature")
    return cells


def _peer_cell(found: Outcome | None) -> str:
    if found is None or found.windows == 0:
        return "not run"
    broken = f"; failed on {found.errors}/{found.windows} windows" if found.errors else ""
    if not found.detected:
        other = "" if found.first_any is None else f"; other alarms from {found.first_any:.0f} min"
        return f"**missed**{other}{broken}"
    if found.before:
        broken += "; the same alarm already before the onset"
    shown = ", ".join(sorted(_columns(found.flagged))[:3])
    more = "…" if len(_columns(found.flagged)) > 3 else ""
    return f"{found.minutes:.0f} min ({shown}{more}){broken}"


def detection_table(manifest: dict[str, Any], runs: dict[tuple[str, str], list[dict[str, Any]]],
                    steady: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """The per-incident table, and the numbers behind it."""
    lines = [
        "| scenario | incident | steadyml | Evidently DataDriftPreset | NannyML drift + CBPE |",
        "|---|---|---|---|---|",
    ]
    numbers: dict[str, Any] = {}
    for scenario in manifest["scenarios"]:
        for incident in scenario["incidents"]:
            if incident["type"] == "clean":
                continue
            found = {t: outcome(incident, runs[t, scenario["name"]]) for t in TOOLS
                     if (t, scenario["name"]) in runs}  # fmt: skip
            report = steady.get(scenario["name"])
            if scenario["name"].endswith("-trivial"):
                cells = _trivial_cells(report, found)
            else:
                cells = [_steadyml_cell(report, incident)]
                cells += [_peer_cell(found.get(t)) for t in TOOLS]
            lines.append(f"| {scenario['name']} | {incident['name']} | " + " | ".join(cells) + " |")
            numbers[scenario["name"]] = {t: vars(o) for t, o in found.items()}
    return "\n".join(lines), numbers


def clean_table(manifest: dict[str, Any], runs: dict[tuple[str, str], list[dict[str, Any]]],
                steady: dict[str, dict[str, Any]]) -> str:  # fmt: skip
    """False alarms on clean traffic, per tool."""
    lines = [
        "| tool | clean windows (simulated hours) | alarming windows | per day | "
        "episodes per day | columns that alarmed (windows) |",
        "|---|---|---|---|---|---|",
    ]
    for tool in TOOLS:
        total = clean(manifest, runs, tool)
        if total.windows == 0:
            continue
        top = sorted(total.columns.items(), key=lambda kv: -kv[1])[:4]
        columns = ", ".join(f"{c} ({n})" for c, n in top) or "none"
        failed = f" ({total.errors} failed)" if total.errors else ""
        lines.append(
            f"| {tool} | {total.windows}{failed} ({total.seconds / 3600:.0f} h) | {total.alarms} "
            f"| {total.per_day(total.alarms):.1f} | {total.per_day(total.episodes):.1f} "
            f"| {columns} |"
        )
    cleans = {
        "the clean week": steady.get("clean-week"),
        "a clean day, a monitor round every minute": steady.get("clean-day-every-minute"),
    }
    groups = [(where, [r]) for where, r in cleans.items() if r is not None]
    if not groups:
        groups = [("the clean time of every run", list(steady.values()))]
    for where, reports in groups:
        days = sum(float(r.get("clean_days") or 0.0) for r in reports)
        if not days:
            continue
        found = [a for r in reports for a in r.get("false_alarms") or []]
        pages = [a for r in reports for a in r.get("false_pages") or []]
        lines.append(
            f"| steadyml (`steadyml simulate`, {where}) | {days * 24:.1f} h | "
            f"{len(found)} incidents ({len(pages)} pages) | {len(found) / days:.1f} | "
            f"{len(found) / days:.1f} | "
            + (", ".join(sorted({str(a.get("type")) for a in found})) or "none")
            + " |"
        )
    return "\n".join(lines)


def versions(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    """Tool versions and wall time spent per tool."""
    seen: dict[str, set[str]] = defaultdict(set)
    wall: dict[str, float] = defaultdict(float)
    failed: list[str] = []
    for (tool, scenario), records in runs.items():
        for record in records:
            if record.get("status") == "run_failed":
                failed.append(f"{tool} on {scenario}: {record['error']}")
                continue
            seen[tool].add(str(record.get("version")))
            wall[tool] += float(record.get("wall_s", 0.0))
    lines = [f"- {tool} {', '.join(sorted(seen[tool]))}: {wall[tool]:.0f} s of wall time "
             "for every window" for tool in TOOLS if tool in seen]  # fmt: skip
    lines += [f"- run failed: {line}" for line in failed]
    return "\n".join(lines)


def errors(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    """The distinct errors the peers raised on windows, with where."""
    found: dict[tuple[str, str, str], int] = defaultdict(int)
    for (tool, scenario), records in runs.items():
        for record in records:
            for check, message in record.get("errors", {}).items():
                found[tool, f"{check}: {message}", scenario] += 1
    if not found:
        return "None."
    return "\n".join(f"- {tool} on `{scenario}` ({n} windows): {message}"
                     for (tool, message, scenario), n in sorted(found.items()))  # fmt: skip


def render(manifest: dict[str, Any], runs: dict[tuple[str, str], list[dict[str, Any]]],
           steady: dict[str, dict[str, Any]]) -> str:  # fmt: skip
    """Every table, as Markdown."""
    table, _ = detection_table(manifest, runs, steady)
    minutes = float(manifest["window_s"]) / 60.0
    rows = [w["rows"] for s in manifest["scenarios"] for w in s["windows"]]
    return "\n\n".join(
        [
            f"#### Time-to-detect (simulated minutes after the onset; windows of {minutes:.0f} "
            f"min, {min(rows)}–{max(rows)} rows)\n\n" + table,
            "#### False alarms on clean traffic\n\n" + clean_table(manifest, runs, steady),
            "#### Versions and cost\n\n" + versions(runs),
            "#### Windows a peer could not evaluate\n\n" + errors(runs),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--results", type=Path, default=HERE / "results.jsonl")
    parser.add_argument("--steadyml", type=Path, default=HERE / "steadyml_results.json")
    parser.add_argument("--manifest", type=Path, help="default: DATA/manifest.json")
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args(argv)
    manifest_path = args.manifest or args.data / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    text = render(manifest, load(args.results), steadyml_results(args.steadyml))
    if args.readme is None:
        print(text)
        return
    page = args.readme.read_text()
    if START not in page:
        raise SystemExit(f"{args.readme} has no {START} marker: add the section first")
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    args.readme.write_text(f"{head}{START}\n\n{text}\n\n{END}{tail}")


if __name__ == "__main__":
    main()
