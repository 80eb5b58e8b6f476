"""``imdb-serve``: serve a folder of IMDb-like files on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from types import FrameType

from imdb_devkit.server import ImdbServer


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imdb-serve",
        description="Serve <dataset>.tsv.gz files like https://datasets.imdbws.com/ (ETag, ranges, 304).",
    )
    p.add_argument("--dir", required=True, type=Path, help="folder with the files to serve")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    faults = p.add_argument_group("faults", "misbehave on purpose, to exercise a client's retries")
    faults.add_argument("--file", help="apply the faults to this file name only (default: all files)")
    faults.add_argument(
        "--times", type=int, default=1, help="requests each fault hits before it stops; 0 = all (default 1)"
    )
    faults.add_argument("--drop-after", type=int, metavar="BYTES", help="reset the connection after BYTES")
    faults.add_argument("--truncate-after", type=int, metavar="BYTES", help="close cleanly after BYTES")
    faults.add_argument("--fail", type=int, metavar="STATUS", help="answer STATUS (e.g. 503, 429)")
    faults.add_argument("--retry-after", type=int, metavar="SECONDS", help="Retry-After for --fail")
    faults.add_argument("--throttle", type=int, metavar="BYTES_PER_SECOND", help="trickle bodies slowly")
    faults.add_argument("--ignore-range", action="store_true", help="answer range requests with 200")
    return p


def _apply_faults(server: ImdbServer, args: argparse.Namespace) -> None:
    times = args.times or None
    f = server.faults
    if args.drop_after is not None:
        f.drop_after(args.drop_after, times=times, file=args.file)
    if args.truncate_after is not None:
        f.truncate(args.truncate_after, times=times, file=args.file)
    if args.fail is not None:
        f.fail(args.fail, times=times, retry_after=args.retry_after, file=args.file)
    if args.throttle is not None:
        f.throttle(args.throttle, file=args.file)
    if args.ignore_range:
        f.ignore_range(file=args.file)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        server = ImdbServer(args.dir, port=args.port, host=args.host)
        _apply_faults(server, args)
    except (OSError, ValueError) as exc:
        print(f"imdb-serve: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # The first stdout line is the base URL, so scripts can read it (e.g. IMDB_BASE_URL=$(...)).
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
