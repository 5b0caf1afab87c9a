// Stands in for @lumino/coreutils in the worker's DriveFS bundle (drive.js), which only needs
// UUID.uuid4(): the real package (a UMD bundle with @lumino/algorithm) would triple its size.
function uuid4() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID(); // secure contexts only
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID = { uuid4 };
