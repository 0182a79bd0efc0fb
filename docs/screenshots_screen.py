"""The window as ``python main.py`` opens it on the current X screen, then after a short run: run with
``docs/screenshots.sh screen WxH``, which writes ``screen-WxH.png`` and ``screen-WxH-results.png``.

Arguments: the folder the PNGs go to, a work folder (the config, the app's settings and the runs go
there, nothing into the repo's runs/), the screen size for the names, and the run's epochs. The app
is driven from outside, as a person would: Ctrl+R starts the run; a completed run opens Results."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs.screenshots import grab  # noqa: E402


def wait_for(test, what: str, seconds: float) -> None:
    """Poll ``test`` until it holds; a run that never gets there fails the script instead of hanging it."""
    end = time.monotonic() + seconds
    while not test():
        if time.monotonic() > end:
            sys.exit(f"screenshots: gave up waiting for {what}")
        time.sleep(0.5)


def main() -> None:
    out, work, size, epochs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    config = work / "config.yaml"
    config.write_text(re.sub(r"num_epochs: *\d+", f"num_epochs: {epochs}", (ROOT / "config.yaml").read_text(), count=1))
    settings = work / "xdg" / "lstm-workbench" / "LSTM Workbench.conf"  # QSettings' file for this app under XDG_CONFIG_HOME
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[General]\nruns_dir={work / 'runs'}\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "xdg")}
    app = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "main.py", str(config)], cwd=ROOT, env=env)
    try:
        window = subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--name", "LSTM"], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        time.sleep(4)  # the first paint, the preview's plots and the spare training process
        grab(f"screen-{size}", out)
        subprocess.run(["xdotool", "windowactivate", "--sync", window, "key", "ctrl+r"], check=True)
        wait_for(lambda: any((work / "runs").glob("*/config.yaml")), "the run to start", 60)
        wait_for(lambda: any('"status": "completed"' in m.read_text() for m in (work / "runs").glob("*/metrics.json")), "the run", 600)
        wait_for(lambda: len(list((work / "runs").glob("*/graphs/*.png"))) >= 9, "the run's graphs", 120)
        time.sleep(4)  # the run's end reaches the window; Results fills its figures one per event-loop turn
        grab(f"screen-{size}-results", out)
        subprocess.run(["xdotool", "windowactivate", "--sync", window, "key", "ctrl+q"], check=True)
        try:
            app.wait(60)
        except subprocess.TimeoutExpired:
            print("screenshots: the window did not close within 60 s of Ctrl+Q", file=sys.stderr)
    finally:
        if app.poll() is None:
            app.terminate()


if __name__ == "__main__":
    main()
