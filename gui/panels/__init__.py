"""The window's tabs and panels, each a widget that asks the engine and draws with gui.plots."""
