"""`make setup-containers`: install podman, buildah, runc and mmdebstrap with apt-get when missing.

Run as root on Debian/Ubuntu it installs them; anywhere else it says what to install and exits
with NOT_INSTALLABLE (3), or 0 with --best-effort (so `make test` goes on and the container tests
say why they are skipped). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from enum import IntEnum

# Debian package -> a command it installs. mmdebstrap builds the stand-in bases; catatonit
# (recommended by podman, hence no --no-install-recommends) is the pause process of pods.
PACKAGES = {"podman": "podman", "buildah": "buildah", "runc": "runc", "mmdebstrap": "mmdebstrap"}
APT_TIMEOUT_SECONDS = 900


class ToolsExit(IntEnum):
    OK = 0
    INSTALL_FAILED = 2
    NOT_INSTALLABLE = 3


def missing() -> list[str]:
    return [package for package, command in PACKAGES.items() if shutil.which(command) is None]


def install(packages: list[str]) -> ToolsExit:
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        why = "apt-get is not available" if apt is None else "installing needs root"
        print(f"setup-containers: {', '.join(packages)} missing and {why}: install them with your package manager")
        return ToolsExit.NOT_INSTALLABLE
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"setup-containers: installing {' '.join(packages)} with apt-get", flush=True)
    for cmd in ([apt, "-q", "update"], [apt, "-q", "install", "-y", *packages]):
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"setup-containers: {' '.join(cmd)}: no result in {APT_TIMEOUT_SECONDS}s")
            return ToolsExit.INSTALL_FAILED
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"setup-containers: {' '.join(cmd)} exited {done.returncode}: {last}")
            return ToolsExit.INSTALL_FAILED
    return ToolsExit.OK


def ensure() -> ToolsExit:
    needed = missing()
    return install(needed) if needed else ToolsExit.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--best-effort", action="store_true", help="exit 0 even when the tools cannot be installed")
    args = parser.parse_args(argv)
    result = ensure()
    if result is ToolsExit.OK:
        print("setup-containers: podman, buildah, runc and mmdebstrap are installed")
        return 0
    if args.best_effort:
        print("setup-containers: going on without them; the container tests will be skipped")
        return 0
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
