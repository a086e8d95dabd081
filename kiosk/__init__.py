"""The waiting-room kiosk: a static web app (plain ES modules, a service worker, a style
sheet) that the API serves at /kiosk/ (api/controllers/kiosk_app.py). A Python package only
so that pip installs its files with the API."""
