"""The Qt side of the workbench: widgets, panels and the shared figures. No training math here."""

import os

# Qt's raster engine splits large fills across a thread pool and waits for it. While a training
# holds the other core, those pool threads wait for the scheduler: with the pool, the event
# loop's p99 stall was 97 ms, without it 39 ms (benchmarks/gui_responsiveness.py). Our fills are
# small: keep them on the GUI thread. Set before any QGuiApplication exists; a value set in the environment wins.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
