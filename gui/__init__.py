"""The Qt window. Everything here observes and edits the plain models in `models/`."""
