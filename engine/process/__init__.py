"""Training in a child process, its typed events streamed back to a front end."""
