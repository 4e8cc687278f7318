"""The project as a user installs it: a wheel built from the sources, in a virtual environment
of its own, started from a folder that holds nothing of the checkout.

Installing the dependencies from a registry into every new environment would take minutes, so
the new environment sees the test environment's site-packages through a .pth line instead. A
.pth line only appends a folder to sys.path; the .pth files inside that folder (the checkout's
editable-install hook among them) are not run, so `planexe_pipeline` resolves to the wheel's copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What a source distribution of the project holds: enough to build the wheel, nothing else.
SOURCES = ("pyproject.toml", "README.md", "planexe_pipeline")


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def build_wheel(work: Path) -> Path:
    # Built from a copy, so the checkout gets no build/ or egg-info folder; without build
    # isolation, with the setuptools of the test extra, so no registry is needed.
    source = work / "source"
    source.mkdir(parents=True)
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("planexe_pipeline-*.whl")
    return wheel


@dataclass
class InstalledPackage:
    venv: Path
    home: Path  # an empty working folder, far from the checkout

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "LUIGI_CONFIG_PATH", "PLANEXE_LLM_CONFIG", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *argv: str | Path, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in argv], cwd=self.home, env=self.env(), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def install_wheel(work: Path) -> InstalledPackage:
    wheel = build_wheel(work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel))
    target = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(target, "test-environment-dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    home = work / "empty"
    home.mkdir()
    return InstalledPackage(venv, home)
