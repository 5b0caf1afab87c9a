// Where `%pip install` looks in the browser: the package indexes the site names, handed to Python
// as environment variables (the defaults of kite.packages; see DEVELOPERS.md "Packages").
//
// litePluginSettings in jupyter-lite.json:
//   "kite-jupyterlite:kernel": {indexUrls: [...], allowPyPI: true|false}
//     (`jupyter lite build` with kite's add-on writes both when the site bundles packages:
//     kite_jupyterlite/addon.py)
//   "@jupyterlite/pyodide-kernel-extension:kernel": {pipliteUrls: [...], disablePyPIFallback}
//     (the Pyodide kernel's convention, honoured too)
// JupyterLite's config loader makes relative `...Urls` entries absolute (relative to the
// jupyter-lite.json that holds them).

import { PageConfig } from '@jupyterlab/coreutils';

const KITE_PLUGIN = 'kite-jupyterlite:kernel';
const PYODIDE_PLUGIN = '@jupyterlite/pyodide-kernel-extension:kernel';

/**
 * KITE_BUNDLED_INDEX_URL: the site's indexes (space-separated, asked first); KITE_INDEX_URL=none
 * when the site disallows PyPI (an offline site); otherwise kite.packages' default (PyPI).
 */
export function installerEnv(): Record<string, string> {
  let settings: any = {};
  try {
    settings = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}') ?? {};
  } catch {
    settings = {};
  }
  const kite = settings[KITE_PLUGIN] ?? {};
  const pyodide = settings[PYODIDE_PLUGIN] ?? {};
  const urls: string[] = [];
  for (const url of [...asList(kite.indexUrls), ...asList(pyodide.pipliteUrls)]) {
    try {
      const absolute = new URL(url, globalThis.location?.href).href;
      if (!urls.includes(absolute)) {
        urls.push(absolute);
      }
    } catch {
      console.warn(`[kite] ignoring the package index URL ${JSON.stringify(url)}`);
    }
  }
  const allowPyPI =
    typeof kite.allowPyPI === 'boolean' ? kite.allowPyPI : !pyodide.disablePyPIFallback;
  const env: Record<string, string> = {};
  if (urls.length) {
    env.KITE_BUNDLED_INDEX_URL = urls.join(' ');
  }
  if (!allowPyPI) {
    env.KITE_INDEX_URL = 'none';
  }
  return env;
}

function asList(value: any): string[] {
  return Array.isArray(value) ? value.filter(v => typeof v === 'string' && v) : [];
}
