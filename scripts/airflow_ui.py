"""`make airflow-ui`: the real Airflow UI on this machine, no cluster, until Ctrl-C.

Starts PostgreSQL 18, synthetic IMDb over local HTTP, and Airflow's API server, scheduler and
DAG processor with the FAB auth manager, our security manager and the local runner; creates an
Admin and the users of airflow/dag_permissions.json with random passwords, printed once.
Ctrl-C stops everything it started and deletes its temporary files.

    .venv/bin/python scripts/airflow_ui.py [--port 8080] [--scale 0.001] [--permissions FILE]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn

# As Airflow itself does: the security manager's and the DAGs' support packages on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "airflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dags"))

from imdb_ui.stack import EXAMPLE_PERMISSIONS, LocalAirflow, Options, StackError


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops us as Ctrl-C does: in order, temp files removed


def watch(stack: LocalAirflow) -> NoReturn:
    """Until interrupted: stop if Airflow stops; re-apply the permissions file when it changes."""
    seen = stack.permissions_file.stat().st_mtime_ns
    while True:
        stack.check_running()
        time.sleep(2)
        changed = stack.permissions_file.stat().st_mtime_ns
        if changed != seen:
            seen = changed
            try:
                stack.sync_permissions()
                print(f"Applied {stack.permissions_file}", flush=True)
            except StackError as exc:  # a bad edit: say so, keep serving the last good access
                print(f"Not applied: {str(exc).splitlines()[-1]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="the UI's port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--scale", type=float, default=0.001, help="size of the synthetic IMDb (1.0: real size)")
    parser.add_argument("--permissions", type=Path, default=EXAMPLE_PERMISSIONS, help="a dag_permissions.json")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C too, explicitly: a process started in the background by a non-interactive shell
    # (`cmd &`, as CI scripts do) inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt, so Ctrl-C (or a test's SIGINT) would leave the whole stack running.
    signal.signal(signal.SIGINT, _interrupt)
    stack = LocalAirflow(Options(port=args.port, scale=args.scale, permissions_file=args.permissions))
    try:
        print("Starting PostgreSQL 18, the synthetic IMDb and Airflow (about a minute) ...", flush=True)
        stack.start()
        print("\n".join(stack.describe()), flush=True)
        print("Trigger the DAG from its page (the dialog unpauses it). Ctrl-C stops everything.", flush=True)
        watch(stack)
    except StackError as exc:
        print(f"airflow-ui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
