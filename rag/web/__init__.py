"""The app's web side: which pages may call it, login, uploads."""
