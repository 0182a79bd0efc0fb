"""The Qt side of the workbench: widgets, panels and the shared figures. No training math here."""
