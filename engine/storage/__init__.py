"""Files that survive a crash: atomic writes and the locks that keep two writers apart."""
