"""Two builds of ``imdb-load`` against each other, interleaved on one server: did a change cost speed?

    python bench/loader/bench_ab.py --before OLD/bin/imdb-load --after NEW/bin/imdb-load \\
        --files /tmp/imdb-bench/scale-0.02-seed-1 --rounds 5 --out docs/benchmarks/ab/NAME.json

Each round runs ``imdb-load all --force`` once with each build, alternating which goes first, each into a
database of its own. The medians' ratio is robust to a machine that is busy in between, because both
builds see the same busy machine; the seconds are not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from imdb_devkit import pg
from imdb_devkit.server import serve


def run(exe: str, dsn: str, base_url: str, result_file: Path) -> tuple[float, float]:
    started = time.monotonic()
    subprocess.run(
        [exe, "all", "--force", "--dsn", dsn, "--base-url", base_url, "--result-file", str(result_file)],
        check=True,
        capture_output=True,
    )
    whole = time.monotonic() - started
    copy = sum(d["phases"].get("copy", 0.0) for d in json.loads(result_file.read_text())["datasets"])
    return whole, copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--files", type=Path, required=True, help="a folder written by imdb-synth")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    builds = {"before": args.before, "after": args.after}
    seconds: dict[str, dict[str, list[float]]] = {k: {"whole_s": [], "copy_s": []} for k in builds}
    with pg.server() as server, serve(args.files) as site, tempfile.TemporaryDirectory() as scratch:
        dsns = {k: server.create_database(f"ab_{k}") for k in builds}
        for k, exe in builds.items():  # the first load creates the schema: not timed
            subprocess.run([exe, "all", "--dsn", dsns[k], "--base-url", site.base_url], check=True, capture_output=True)
        for n in range(args.rounds):
            for k in builds if n % 2 == 0 else reversed(builds):
                whole, copy = run(builds[k], dsns[k], site.base_url, Path(scratch) / f"{k}.json")
                seconds[k]["whole_s"].append(round(whole, 3))
                seconds[k]["copy_s"].append(round(copy, 3))
                print(f"round {n + 1} {k}: {whole:.2f}s whole, {copy:.2f}s copy", flush=True)
    median = {k: {m: statistics.median(v) for m, v in s.items()} for k, s in seconds.items()}
    report = {
        "files": str(args.files.name),
        "rounds": args.rounds,
        "seconds": seconds,
        "after_over_before": {m: round(median["after"][m] / median["before"][m], 3) for m in ("whole_s", "copy_s")},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["after_over_before"]))


if __name__ == "__main__":
    main()
