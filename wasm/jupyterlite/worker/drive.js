// Browser worker only: mounts JupyterLite's contents (the file browser's drive) into kite's
// Emscripten file system, as JupyterLite's own kernels do, and makes the notebook's directory the
// current directory. esbuild (wasm/jupyterlite/build.sh) bundles this file with JupyterLite's
// DriveFS into the classic script static/kite/drive.js; worker.js loads it with importScripts
// when the page sends the kernel's location (never under Node, where the real cwd is mounted).
//
// DriveFS turns every file-system call under the mount point into a synchronous XMLHttpRequest
// to `<base>/api/drive`, which JupyterLite's service worker relays to the page over a
// BroadcastChannel; the page answers with its contents manager (wasm/jupyterlite/src/drive.ts).
// That works with and without cross-origin isolation, but only where a service worker controls
// the page: the page sends the drive only then, and it listens before it does (the service worker
// waits for the page's answer without a time limit). Where nothing relays /api/drive (a foreign
// service worker) the server answers 404: DriveFS raises EINVAL, Python an OSError.
import { DriveFS } from '@jupyterlite/services/lib/contents/drivefs';
import { DIR_MODE } from '@jupyterlite/services/lib/contents/emscripten';

const MOUNTPOINT = '/drive';

/** JupyterLite's kernel location ("dir/sub", or "Drive:dir/sub") as {driveName, path}. */
function splitLocation(location) {
  const text = typeof location === 'string' ? location : '';
  const colon = text.indexOf(':');
  const [driveName, path] = colon >= 0 ? [text.slice(0, colon), text.slice(colon + 1)] : ['', text];
  return { driveName, path: path.replace(/^\/+|\/+$/g, '') };
}

/**
 * Mount the drive of `location` at /drive (once; again if the drive name changes) and chdir to
 * the location's directory. options: {baseUrl (absolute, ending in '/'), browsingContextId}.
 * Returns {ok, cwd, reason}.
 */
function mount(Module, options, location) {
  const { FS, PATH, ERRNO_CODES } = Module;
  const { driveName, path } = splitLocation(location);
  if (self.kiteDrive.mounted && self.kiteDrive.mounted.driveName !== driveName) unmount(FS);
  if (!self.kiteDrive.mounted) {
    if (!FS.analyzePath(MOUNTPOINT).exists) FS.mkdirTree(MOUNTPOINT);
    const driveFS = new DriveFS({
      FS,
      PATH,
      ERRNO_CODES,
      baseUrl: options.baseUrl,
      driveName,
      mountpoint: MOUNTPOINT,
      browsingContextId: options.browsingContextId,
    });
    FS.mount(driveFS, {}, MOUNTPOINT);
    cacheDirectoryStats(FS, driveFS);
    self.kiteDrive.mounted = { driveName };
    self.kiteDrive.fs = driveFS;
  }
  // The location is the notebook's directory, which exists: its nodes are made here instead of
  // looked up, so no request (a round trip through the page, busy starting the notebook) delays
  // the kernel's first message. Files in it are looked up on use, as usual.
  let node = FS.lookupPath(MOUNTPOINT).node;
  for (const name of path ? path.split('/') : []) {
    node = cachedNode(FS, node, name) || self.kiteDrive.fs.createNode(node, name, DIR_MODE, 0);
  }
  FS.chdir(path ? `${MOUNTPOINT}/${path}` : MOUNTPOINT);
  return { ok: true, cwd: FS.cwd(), reason: '' };
}

/**
 * The stats of the drive's directories, asked once per request (a cell, a widget message): the
 * notebook's directory is sys.path[0], so every `import` of a module not yet loaded stats it
 * (FileFinder's check for new files), and each stat is a round trip through the page (6-7 ms
 * measured in headless Chromium; 0.1 ms without it). What the kernel changes itself (a file
 * created, renamed, removed) empties the cache at once; what the page changes (an upload, the
 * editor) is seen by the next request, as a new module file is by the next cell's import.
 */
function cacheDirectoryStats(FS, driveFS) {
  const ops = driveFS.node_ops;
  const getattr = ops.getattr;
  const stats = new Map(); // realPath -> getattr's answer, directories only
  ops.getattr = (value) => {
    const node = ops.node(value);
    if (!FS.isDir(node.mode)) return getattr(value);
    const path = driveFS.realPath(node);
    let answer = stats.get(path);
    if (!answer) {
      answer = getattr(value);
      stats.set(path, answer);
    }
    return { ...answer };
  };
  for (const name of ['mknod', 'rename', 'unlink', 'rmdir', 'setattr']) {
    const op = ops[name];
    ops[name] = (...args) => {
      stats.clear();
      return op(...args);
    };
  }
  self.kiteDrive.newRequest = () => stats.clear();
}

/** A node FS already knows (its name table), without asking the drive. */
function cachedNode(FS, parent, name) {
  for (let node = FS.nameTable[FS.hashName(parent.id, name)]; node; node = node.name_next) {
    if (node.parent.id === parent.id && node.name === name) return node;
  }
  return null;
}

function unmount(FS) {
  if (FS.cwd().startsWith(MOUNTPOINT)) FS.chdir('/');
  FS.unmount(MOUNTPOINT);
  self.kiteDrive.mounted = null;
}

self.kiteDrive = { mount, mounted: null, fs: null, MOUNTPOINT, newRequest: () => {} };
