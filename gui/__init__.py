"""The Qt side of the workbench: widgets, panels and the shared figures. No training math here."""

import os

# Qt's raster engine splits large fills across a thread pool and waits for it. While a training
# holds the other cores, those pool threads wait for the scheduler and a 5 ms plot repaint became
# a 50-100 ms stall (measured by benchmarks/gui_responsiveness.py). Our fills are small: keep
# them on the GUI thread. Set before any QGuiApplication exists, so an explicit user value wins.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
