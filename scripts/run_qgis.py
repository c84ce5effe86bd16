"""``make run``: the StefaLand demo in QGIS.

With a display ($DISPLAY), starts the real QGIS with a profile in which the plugin is enabled and the
CAMELS demo loaded. Without one, runs the same workflows headless through Processing, writes the
output layers to ``out/`` and renders a PNG map of the demo layers. A step that fails is reported as
FAILED, never faked, and the exit code is non-zero.

    .venv/bin/python scripts/run_qgis.py                 # desktop if $DISPLAY is set, else headless
    .venv/bin/python scripts/run_qgis.py --headless
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/run_qgis.py --desktop \
        --scenario basin --screenshot docs/screenshots/workflow1_click_basin.png
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/run_qgis.py --desktop \
        --screenshots-dir docs/screenshots --timeout 600      # every workflow, one screenshot each

``--scenario`` plays one analyst workflow in the window (``scripts/qgis_startup.py``): basin (1), finetune (2),
hazard (3a), basins (3b), polygon (4), or none (the demo only); basin by default.
With ``--screenshot`` the exit code is 0 once the workflow's result is on screen, 1 if it failed (reported,
nothing faked). Without it, QGIS stays open; the exit code is 1 if the workflow reported an error, else QGIS's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PLUGIN = PROJECT / "stefaland_plugin"
OUT = PROJECT / "out"


# ----------------------------------------------------------------------------- desktop
def make_profile(root: Path, adapter: str = "") -> Path:
    """A QGIS profiles folder whose default profile has the plugin linked in and enabled (and ``adapter``, a
    fine-tuned streamflow adapter, as the active model if given)."""
    profile = root / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / PLUGIN.name
    if link.is_symlink() or link.exists():
        if link.is_symlink():
            link.unlink()
        else:
            shutil.rmtree(link)
    link.symlink_to(PLUGIN, target_is_directory=True)
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text(
        "[PythonPlugins]\n"
        f"{PLUGIN.name}=true\n\n"
        "[stefaland]\n"
        f"backend_root={PROJECT}\n"
        f"output_dir={OUT / 'qgis'}\n"
        + (f"adapter={adapter}\nlatest_adapter={adapter}\n" if adapter else "")
        + "\n"
        "[qgis]\n"
        "checkVersion=false\n"
        "showTips=false\n",
        encoding="utf-8",
    )
    return root


#: the screenshot of each workflow in docs/screenshots (``--screenshots-dir``)
SCREENSHOTS = {"basin": "workflow1_click_basin.png", "finetune": "workflow2_finetune.png",
               "hazard": "workflow3a_hazard_map.png", "basins": "workflow3b_basin_layer.png",
               "polygon": "workflow4_polygon.png"}


def read_status(ready: Path) -> dict:
    """The JSON status the startup script wrote (``{"status": "timeout"}`` if none)."""
    if not ready.exists():
        return {"status": "timeout"}
    try:
        return json.loads(ready.read_text(encoding="utf-8"))
    except ValueError:
        return {"status": "error", "detail": ready.read_text(encoding="utf-8")[:500]}


def run_desktop(screenshot: Path | None, timeout_s: float, scenario: str = "none", adapter: str = "") -> int:
    """Start QGIS with the plugin playing ``scenario``; with ``screenshot``, capture the screen once the
    workflow's result is shown, then quit. The profile and the status file live in a temporary folder of
    this run (two runs at once, e.g. a test beside ``make run``, do not see each other's)."""
    qgis = shutil.which("qgis")
    if qgis is None:
        print("qgis is not installed (make setup installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="stefaland-qgis-") as folder:
        profiles = make_profile(Path(folder), adapter)
        ready = Path(folder) / "ready.json"
        env = dict(os.environ)
        if env.get("QT_QPA_PLATFORM") == "offscreen":  # the Makefile's default for tests: not for a window
            del env["QT_QPA_PLATFORM"]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [sysconfig.get_paths()["purelib"], env.get("PYTHONPATH")]))
        env.update({"STEFALAND_READY_FILE": str(ready), "STEFALAND_SCENARIO": scenario,
                    "STEFALAND_PROJECT": str(PROJECT)})
        args = [qgis, "--profiles-path", str(profiles), "--nologo", "--noversioncheck",
                "--code", str(PROJECT / "scripts" / "qgis_startup.py")]
        print("starting:", " ".join(args))
        if screenshot is None:
            code = subprocess.call(args, env=env, cwd=PROJECT)
            return _exit_code(read_status(ready), code)
        return _screenshot_when_ready(subprocess.Popen(args, env=env, cwd=PROJECT), ready, screenshot, timeout_s)


def _exit_code(status: dict, qgis_code: int) -> int:
    """The exit code of an interactive run: 1 if the workflow reported an error, else QGIS's own."""
    if status["status"] == "timeout":  # QGIS closed before the workflow finished
        print("QGIS startup: the workflow did not report (QGIS was closed before it finished)")
        return qgis_code
    print("QGIS startup:", status["status"], json.dumps(status))
    if status["status"] != "ok":
        print(f"FAILED: {status.get('detail') or status['status']}", file=sys.stderr)
        return qgis_code or 1
    return qgis_code


def _screenshot_when_ready(process: subprocess.Popen, ready: Path, screenshot: Path, timeout_s: float) -> int:
    try:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and process.poll() is None and not ready.exists():
            time.sleep(0.5)
        status = read_status(ready)
        print("QGIS startup:", status["status"], json.dumps(status))
        if process.poll() is not None:
            print(f"QGIS exited early (code {process.returncode})", file=sys.stderr)
            return 1
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-window", "root", str(screenshot)], check=True, timeout=60)
        print("screenshot:", screenshot)
        if status["status"] != "ok":
            print(f"FAILED: {status.get('detail') or status['status']}", file=sys.stderr)
            return 1
        return 0
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ----------------------------------------------------------------------------- headless
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--desktop", action="store_true", help="start the QGIS desktop (needs a display)")
    mode.add_argument("--headless", action="store_true", help="run the workflows through Processing")
    parser.add_argument("--screenshot", type=Path, help="desktop: save a screenshot there once the workflow shows")
    parser.add_argument("--scenario", choices=("none", "basin", "finetune", "hazard", "basins", "polygon"),
                        default="basin", help="desktop: the workflow to play (default: basin)")
    parser.add_argument("--screenshots-dir", type=Path,
                        help="desktop: every workflow in turn, one screenshot each (the names of docs/screenshots)")
    parser.add_argument("--adapter", type=Path, help="desktop: start with this fine-tuned streamflow adapter active")
    parser.add_argument("--timeout", type=float, default=240.0, help="desktop + screenshot: seconds to wait")
    parser.add_argument("--out", type=Path, default=OUT, help="headless: folder for the outputs (default out/)")
    args = parser.parse_args(argv)
    desktop = args.desktop or (not args.headless and bool(os.environ.get("DISPLAY")))
    if desktop:
        adapter = str(args.adapter.resolve()) if args.adapter else ""
        if args.screenshots_dir:
            codes = {scenario: run_desktop(args.screenshots_dir / name, args.timeout, scenario, adapter)
                     for scenario, name in SCREENSHOTS.items()}
            print("workflows:", ", ".join(f"{k} {'ok' if v == 0 else 'FAILED'}" for k, v in codes.items()))
            return 1 if any(codes.values()) else 0
        return run_desktop(args.screenshot, args.timeout, args.scenario, adapter)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from headless_demo import run_headless  # imports QGIS: only now

    return run_headless(args.out.resolve())


if __name__ == "__main__":
    sys.exit(main())
