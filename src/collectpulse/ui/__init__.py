"""What people look at: the live page and the terminal view, read from the exporter's store view."""
