"""The limit the server bounds stream outputs to: the person's own ``streamLimit``.

Read from the lab user settings (through jupyterlab_server, as the page's settings API
reads them: the user's file, then ``overrides.json``, then the schema's default), so the
one setting a person changes in the page also holds for what the server writes while no
page is open; a second server-side knob could only disagree with it.
"""

from __future__ import annotations

from .streams import MIN_LIMIT, STREAM_LIMIT

PLUGIN = "parallel-cell:plugin"


def _lab_app(serverapp):
    """The app that serves the lab settings: the one started (``jupyter lab``, Notebook 7),
    else the first loaded extension app that has user settings (``jupyter server``)."""
    apps = [getattr(serverapp, "starter_app", None)]
    manager = getattr(serverapp, "extension_manager", None)
    for group in manager.extension_apps.values() if manager is not None else []:
        apps.extend(sorted(group, key=lambda app: app.name != "jupyterlab"))
    for app in apps:
        if all(hasattr(app, a) for a in ("user_settings_dir", "schemas_dir", "app_settings_dir")):
            return app
    return None


def stream_limit(serverapp, log=None) -> int:
    """The person's ``streamLimit`` (the schema's minimum at least); the default when no
    lab settings can be read."""
    app = _lab_app(serverapp)
    if app is None:
        return STREAM_LIMIT
    try:
        from jupyterlab_server.settings_utils import get_settings

        paths = list(getattr(app, "extra_labextensions_path", [])) + list(
            getattr(app, "labextensions_path", [])
        )
        found, _ = get_settings(
            app.app_settings_dir,
            app.schemas_dir,
            app.user_settings_dir,
            PLUGIN,
            labextensions_path=paths,
        )
        value = (found.get("settings") or {}).get("streamLimit")
        if value is None:
            value = found["schema"]["properties"]["streamLimit"]["default"]
    except Exception as err:  # noqa: BLE001 - no lab, no schema, a broken settings file
        if log is not None:
            log.debug("parallel-cell: lab settings not read (%s): limit %d", err, STREAM_LIMIT)
        return STREAM_LIMIT
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return STREAM_LIMIT
    return max(MIN_LIMIT, int(value))
