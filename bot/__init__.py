"""Entry point and wiring: command line, settings, the Application."""
