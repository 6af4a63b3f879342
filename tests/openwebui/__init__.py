"""Open WebUI as a test client: its pinned install, and a scripted stand-in for the app's API."""
