"""kite for JupyterLite: ships the prebuilt federated extension (and the kite wasm assets).

`pip install kite-jupyterlite` then `jupyter lite build` gives a site whose launcher and
kernel picker offer "Python 3.11 (kite)".
"""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "kite-jupyterlite"}]
