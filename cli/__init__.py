"""The command line: a front end beside gui/, driving the same engine headless."""
