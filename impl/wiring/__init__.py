"""The app's assembly: its services wired to each other, and their start and stop (the app factory uses both)."""
