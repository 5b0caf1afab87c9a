#!/usr/bin/env bash
# Build CPython 3.11.2 and its C dependencies (zlib, bzip2, xz/liblzma) for
# wasm32-emscripten, from Debian source packages, into a cached prefix. Everything is
# position-independent (-fPIC) and CPython is configured with wasm dynamic linking, so the
# kernel links as an Emscripten main module and C extensions (numpy) load as side modules.
#
#   PREFIX=$(bash wasm/cpython/build.sh | tail -1)   # build (or reuse) and get the prefix
#   bash wasm/cpython/build.sh --print-prefix        # the prefix path, without building
#
# The prefix is ${KITE_CACHE:-$HOME/.cache/kite}/cpython-wasm-3.11.2-<hash>, where
# <hash> covers this script, patches/*.patch and make_stdlib_zip.py. It contains:
#   include/python3.11/          headers incl. internal/ and pyconfig.h
#   lib/libpython3.11.a, lib/libmpdec.a, lib/libexpat.a, lib/libz.a, lib/libbz2.a, lib/liblzma.a
#   lib/kite-link-libs.txt       absolute paths of those archives, in link order
#   lib/kite-builtin-modules.txt the extension modules compiled into libpython (Modules/config.c)
#   lib/python3.11/              the stdlib sources (minus tests), incl. _sysconfigdata
#   kite-stdlib.zip              pyc-only stdlib; the embedder writes it to /lib/python311.zip
#
# Interrupts (see patches/): CPython polls Module.Py_EmscriptenSignalBuffer (an integer
# typed array over a SharedArrayBuffer; element 0 = signal number, read and cleared with
# Atomics.exchange thanks to patch 02) only while the C global Py_EMSCRIPTEN_SIGNAL_HANDLING
# is non-zero. It is defined in Python/emscripten_signal.c (EMSCRIPTEN_KEEPALIVE, so its
# address is also exported to JS as Module._Py_EMSCRIPTEN_SIGNAL_HANDLING). A C++ embedder
# enables it right after Py_Initialize() (which must install signal handlers):
#     extern "C" int Py_EMSCRIPTEN_SIGNAL_HANDLING;
#     Py_EMSCRIPTEN_SIGNAL_HANDLING = 1;
# This script checks that libpython3.11.a defines the symbol.
set -euo pipefail

PY_VERSION=3.11.2
PY_TGZ_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849  # Python-3.11.2.tgz
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KITE_CACHE:-$HOME/.cache/kite}
KEY=$(cat "$HERE/build.sh" "$HERE"/patches/*.patch "$HERE/make_stdlib_zip.py" | sha256sum | cut -c1-12)
PREFIX=$CACHE/cpython-wasm-$PY_VERSION-$KEY

if [[ ${1:-} == --print-prefix ]]; then
  echo "$PREFIX"
  exit 0
fi
if [[ -f $PREFIX/.kite-stamp ]]; then
  echo "cached: $PREFIX"
  echo "$PREFIX"
  exit 0
fi

T0=$SECONDS
say() { printf '[kite-cpython %02d:%02d] %s\n' $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)) "$*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.cpython-wasm-$KEY.lock"
if ! flock -n 9; then
  say "another build of $PREFIX is running; waiting"
  flock 9
fi
if [[ -f $PREFIX/.kite-stamp ]]; then
  echo "cached: $PREFIX"
  echo "$PREFIX"
  exit 0
fi

WORK=$CACHE/work-cpython-wasm-$PY_VERSION-$KEY
DL=$CACHE/downloads
LOGS=$WORK/logs
STAGE=$PREFIX.tmp
DEPS=$WORK/deps
NATIVE=$CACHE/cpython-$PY_VERSION-buildpython   # native build python (pristine, patch-independent)
export NODE_PATH=/usr/share/nodejs                # emcc needs acorn from here
JOBS=${KITE_JOBS:-2}
mkdir -p "$WORK" "$DL" "$LOGS"

# run LOGNAME CMD...: run a noisy command with its output in $LOGS/LOGNAME.log
run() {
  local log=$LOGS/$1.log
  shift
  if ! "$@" >>"$log" 2>&1; then
    say "FAILED: $* (log: $log)"
    tail -n 40 "$log" >&2
    say "FAILED; full log: $log"
    exit 1
  fi
}
# phase NAME: true if phase NAME still has to run (stamps let a failed build resume)
phase() { [[ ! -f $WORK/.done-$1 ]]; }
done_phase() { touch "$WORK/.done-$1"; }

say "prefix $PREFIX"
say "work dir $WORK (logs in $LOGS)"

# ---------------------------------------------------------------- sources
need_orig() {  # need_orig GLOB: echo the single matching orig tarball in $DL
  local f
  f=$(compgen -G "$DL/$1" | head -1 || true)
  [[ -n $f ]] && echo "$f"
}
if ! need_orig 'python3.11_3.11.2.orig.tar.*' >/dev/null || ! need_orig 'zlib_*.orig.tar.*' >/dev/null \
  || ! need_orig 'bzip2_*.orig.tar.*' >/dev/null || ! need_orig 'xz-utils_*.orig.tar.*' >/dev/null; then
  say "downloading Debian source packages (private apt lists in $CACHE/apt)"
  APT=$CACHE/apt
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  # deb-src twins of the machine's enabled Debian binary sources (deb822 and one-line style)
  python3 - "$APT/kite-src.sources" <<'EOF'
import glob, re, sys
out = []
for path in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    for stanza in re.split(r'\n\s*\n', open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            m = re.match(r'^([A-Za-z-]+):\s*(.*)$', line)
            if m:
                fields[m.group(1).lower()] = m.group(2).strip()
        if 'deb' not in fields.get('types', '').split() or fields.get('enabled', 'yes') == 'no':
            continue
        if 'debian.org' not in fields.get('uris', ''):
            continue
        s = ['Types: deb-src', 'URIs: ' + fields['uris'], 'Suites: ' + fields['suites'],
             'Components: ' + fields.get('components', 'main')]
        if 'signed-by' in fields:
            s.append('Signed-By: ' + fields['signed-by'])
        out.append('\n'.join(s))
for path in ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list')):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        parts = line.split('#')[0].split()
        if len(parts) >= 3 and parts[0] == 'deb' and 'debian.org' in line:
            rest = parts[1:]
            opts = rest.pop(0)[1:-1] if rest[0].startswith('[') else ''
            s = ['Types: deb-src', 'URIs: ' + rest[0], 'Suites: ' + rest[1],
                 'Components: ' + ' '.join(rest[2:])]
            m = re.search(r'signed-by=(\S+)', opts)
            if m:
                s.append('Signed-By: ' + m.group(1))
            out.append('\n'.join(s))
if not out:
    sys.exit('no Debian archive found in /etc/apt sources')
open(sys.argv[1], 'w').write('\n\n'.join(out) + '\n')
EOF
  APTOPTS=(-o "Dir::Etc::SourceList=$APT/kite-src.sources" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "Debug::NoLocking=1")
  run apt apt-get "${APTOPTS[@]}" update
  # Only the pristine orig tarballs are used; a missing .dsc/.debian.tar of a newer
  # security revision (seen on snapshot mirrors) is tolerated if the orig tarball arrived.
  (cd "$DL" && apt-get "${APTOPTS[@]}" source --download-only python3.11 zlib bzip2 xz-utils >>"$LOGS/apt.log" 2>&1) \
    || say "apt-get source reported errors (see $LOGS/apt.log); checking the orig tarballs"
  # A security revision whose sources are missing from the mirror (seen for zlib: 404 on its
  # whole source package): take the same upstream tarball from the release suite instead.
  for pkg in python3.11 zlib bzip2 xz-utils; do
    if ! need_orig "${pkg}_*.orig.tar.*" >/dev/null; then
      say "no $pkg orig tarball yet; trying $pkg/bookworm"
      (cd "$DL" && apt-get "${APTOPTS[@]}" source --download-only "$pkg/bookworm" >>"$LOGS/apt.log" 2>&1) \
        || say "apt-get source $pkg/bookworm reported errors"
    fi
  done
fi
PY_ORIG=$(need_orig 'python3.11_3.11.2.orig.tar.*') || { say "missing python3.11 orig tarball in $DL"; exit 1; }
ZLIB_ORIG=$(need_orig 'zlib_*.orig.tar.*') || { say "missing zlib orig tarball in $DL"; exit 1; }
BZ2_ORIG=$(need_orig 'bzip2_*.orig.tar.*') || { say "missing bzip2 orig tarball in $DL"; exit 1; }
XZ_ORIG=$(need_orig 'xz-utils_*.orig.tar.*') || { say "missing xz-utils orig tarball in $DL"; exit 1; }
if [[ $PY_ORIG == *.tar.gz ]]; then
  echo "$PY_TGZ_SHA256  $PY_ORIG" | sha256sum -c --quiet - || { say "python orig tarball is not pristine Python-3.11.2.tgz"; exit 1; }
fi
say "sources: $(basename "$PY_ORIG") $(basename "$ZLIB_ORIG") $(basename "$BZ2_ORIG") $(basename "$XZ_ORIG")"

extract() {  # extract TARBALL DESTDIR: unpack, stripping the top-level directory
  rm -rf "$2" && mkdir -p "$2"
  tar -xf "$1" -C "$2" --strip-components=1
}

# ---------------------------------------------------------------- native build python
if [[ ! -f $NATIVE/.kite-stamp ]]; then
  say "building the native build python (pristine $PY_VERSION; log $CACHE/cpython-$PY_VERSION-buildpython.log)"
  rm -rf "$NATIVE"
  mkdir -p "$NATIVE"
  extract "$PY_ORIG" "$NATIVE/src"
  mkdir -p "$NATIVE/build"
  NLOG=$CACHE/cpython-$PY_VERSION-buildpython.log
  : >"$NLOG"
  if ! (cd "$NATIVE/build" && ../src/configure --without-ensurepip && make -j"$JOBS") >>"$NLOG" 2>&1; then
    tail -n 40 "$NLOG" >&2
    say "FAILED: native build python; full log: $NLOG"
    exit 1
  fi
  touch "$NATIVE/.kite-stamp"
fi
BUILDPY=$NATIVE/build/python
"$BUILDPY" -c 'import sys; assert sys.version.startswith("3.11.2"), sys.version'

# ---------------------------------------------------------------- C dependencies
CFLAGS_DEPS="-O2 -fPIC"   # PIC: they end up in a main module that side modules link against
if phase deps; then
  rm -rf "$DEPS"
  mkdir -p "$DEPS/include" "$DEPS/lib"

  say "building zlib"
  extract "$ZLIB_ORIG" "$WORK/zlib"
  (cd "$WORK/zlib" && CFLAGS="$CFLAGS_DEPS" run zlib emconfigure ./configure --static --prefix="$DEPS")
  (cd "$WORK/zlib" && run zlib emmake make -j"$JOBS" libz.a && run zlib emmake make install)

  say "building bzip2 (libbz2.a)"
  extract "$BZ2_ORIG" "$WORK/bzip2"
  (cd "$WORK/bzip2" && run bzip2 emmake make -j"$JOBS" libbz2.a CC=emcc AR=emar RANLIB=emranlib \
    CFLAGS="$CFLAGS_DEPS -D_FILE_OFFSET_BITS=64")
  cp "$WORK/bzip2/libbz2.a" "$DEPS/lib/"
  cp "$WORK/bzip2/bzlib.h" "$DEPS/include/"

  say "building xz (liblzma.a)"
  extract "$XZ_ORIG" "$WORK/xz"
  (cd "$WORK/xz" && CFLAGS="$CFLAGS_DEPS" run xz emconfigure ./configure --host=wasm32-unknown-emscripten \
    --prefix="$DEPS" --disable-shared --enable-static --disable-xz --disable-xzdec --disable-lzmadec \
    --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-threads --disable-nls)
  (cd "$WORK/xz/src/liblzma" && run xz emmake make -j"$JOBS" && run xz emmake make install)
  for f in libz.a libbz2.a liblzma.a; do [[ -f $DEPS/lib/$f ]] || { say "missing $DEPS/lib/$f"; exit 1; }; done
  done_phase deps
fi

# ---------------------------------------------------------------- CPython for wasm
SRC=$WORK/cpython
BLD=$WORK/build-wasm
if phase cpython-src; then
  say "unpacking pristine CPython $PY_VERSION and applying kite patches"
  extract "$PY_ORIG" "$SRC"
  for p in "$HERE"/patches/*.patch; do
    say "  patch $(basename "$p")"
    (cd "$SRC" && run patches patch -p1 --forward --no-backup-if-mismatch -i "$p")
  done
  done_phase cpython-src
fi

if phase cpython-configure; then
  say "configuring CPython for wasm32-emscripten (browser, dynamic linking, no pthreads)"
  rm -rf "$BLD"
  mkdir -p "$BLD"
  { cat "$SRC/Tools/wasm/config.site-wasm32-emscripten"
    cat <<'EOF'

# kite: Emscripten 3.1.6's clock_nanosleep ignores TIMER_ABSTIME, so time.sleep(x)
# would busy-wait for uptime + x; make CPython use nanosleep instead.
ac_cv_func_clock_nanosleep=no
ac_cv_lib_rt_clock_nanosleep=no
EOF
  } >"$WORK/config.site"
  # --enable-big-digits=30: wasm32 would default to 15-bit int digits (pointer size 4),
  # which makes every int above 32767 a multi-digit bignum; wasm has fast 64-bit
  # arithmetic, and Pyodide also uses 30-bit digits.
  # OPT: -O2 like Pyodide, no -g (keeps the archives small); configure adds -DNDEBUG
  # (no assertions) since --with-assertions is not given. Measured and not adopted (no gain
  # beyond noise on fib/int/str loops): -O3, -msign-ext -mnontrapping-fptoint -mbulk-memory
  # -mmutable-globals; -flto helped only the int loop (~10%) at the price of LTO in every
  # kernel link. See README.md.
  # --with-pymalloc: configure turns pymalloc off for Emscripten by default (so does Pyodide);
  # with it, small objects skip dlmalloc: int loop ~5-10% and str/dict loop ~13% faster.
  # PY_CALL_TRAMPOLINE: CPython calls METH_VARARGS functions, getters/setters and module init
  # functions through a JavaScript trampoline, which tolerates a function declared with fewer
  # parameters than its call passes. wasm's call_indirect traps on such a mismatch ("null function
  # or function signature mismatch"), and extensions have them: numpy 2.4.6's _get_castingimpl
  # (METH_VARARGS|METH_KEYWORDS, two parameters) killed the kernel in numpy's test suite.
  # Pyodide builds CPython the same way.
  (cd "$BLD" && CONFIG_SITE="$WORK/config.site" OPT="-fwrapv -O2 -Wall" CPPFLAGS="-DPY_CALL_TRAMPOLINE" \
    run configure emconfigure "$SRC/configure" \
      --host=wasm32-unknown-emscripten --build="$("$SRC/config.guess")" \
      --with-emscripten-target=browser --enable-wasm-dynamic-linking --disable-wasm-pthreads \
      --with-build-python="$BUILDPY" --disable-test-modules --without-ensurepip \
      --enable-big-digits=30 --with-pymalloc \
      ZLIB_CFLAGS="-I$DEPS/include" ZLIB_LIBS="-L$DEPS/lib -lz" \
      BZIP2_CFLAGS="-I$DEPS/include" BZIP2_LIBS="-L$DEPS/lib -lbz2" \
      LIBLZMA_CFLAGS="-I$DEPS/include" LIBLZMA_LIBS="-L$DEPS/lib -llzma" \
      LIBSQLITE3_CFLAGS="-DKITE_NO_SQLITE_PORT" LIBSQLITE3_LIBS="-lkite-no-sqlite-port")
  grep -E '^(OPT|CONFIGURE_CFLAGS|PY_CFLAGS|LINKFORSHARED)\s*=' "$BLD/Makefile" >>"$LOGS/configure.log"
  grep -q -- '-DNDEBUG' "$BLD/Makefile" || { say "NDEBUG missing from the CPython Makefile"; exit 1; }
  grep -q '^#define WITH_PYMALLOC 1' "$BLD/pyconfig.h" || { say "pymalloc is not enabled in pyconfig.h"; exit 1; }
  grep -Eq '^CCSHARED=.*-fPIC' "$BLD/Makefile" || { say "CPython is not compiled position-independent"; exit 1; }
  grep -q -- '-DPY_CALL_TRAMPOLINE' "$BLD/Makefile" || { say "PY_CALL_TRAMPOLINE is not set"; exit 1; }
  done_phase cpython-configure
fi

if phase cpython-make; then
  say "compiling CPython for wasm (make -j$JOBS; several minutes)"
  # MODULE_BINASCII_LDFLAGS empty: with dynamic linking python.js (a by-product link check)
  # would otherwise get libz twice (binascii and zlib both name it) and fail on duplicates.
  (cd "$BLD" && run make emmake make -j"$JOBS" MODULE_BINASCII_LDFLAGS=)
  done_phase cpython-make
fi

# ---------------------------------------------------------------- collect into the prefix
say "collecting the prefix"
rm -rf "$STAGE"
mkdir -p "$STAGE/lib"
# (the configured prefix is the default /usr/local; it only matters for python.js,
# which the build links as a by-product and a link check. Embedders set home=/.)
rm -rf "$WORK/inst"
(cd "$BLD" && run install make inclinstall DESTDIR="$WORK/inst")
mv "$WORK/inst/usr/local/include" "$STAGE/include"
[[ -f $STAGE/include/python3.11/pyconfig.h && -d $STAGE/include/python3.11/internal ]] \
  || { say "headers missing in $STAGE/include/python3.11"; exit 1; }

LIBS_IN_ORDER=(
  "$BLD/libpython3.11.a"
  "$BLD/Modules/_decimal/libmpdec/libmpdec.a"
  "$BLD/Modules/expat/libexpat.a"
  "$DEPS/lib/libz.a"
  "$DEPS/lib/libbz2.a"
  "$DEPS/lib/liblzma.a"
)
# any other archive the CPython build produced goes after libexpat
while IFS= read -r a; do
  case " ${LIBS_IN_ORDER[*]} " in *" $a "*) ;; *)
    say "  note: extra static library $a"
    LIBS_IN_ORDER=("${LIBS_IN_ORDER[@]:0:3}" "$a" "${LIBS_IN_ORDER[@]:3}") ;;
  esac
done < <(find "$BLD" -name '*.a' | sort)
: >"$STAGE/lib/kite-link-libs.txt"
for a in "${LIBS_IN_ORDER[@]}"; do
  [[ -f $a ]] || { say "missing $a"; exit 1; }
  cp "$a" "$STAGE/lib/"
  echo "$PREFIX/lib/$(basename "$a")" >>"$STAGE/lib/kite-link-libs.txt"
done

NM=$(command -v llvm-nm || command -v llvm-nm-14 || command -v emnm)
NM_OUT=$("$NM" "$STAGE/lib/libpython3.11.a" 2>/dev/null || true)  # no `nm | grep -q`: SIGPIPE + pipefail
if ! grep -Eq '[DdBbCc] Py_EMSCRIPTEN_SIGNAL_HANDLING$' <<<"$NM_OUT"; then
  say "Py_EMSCRIPTEN_SIGNAL_HANDLING is not defined in libpython3.11.a"; exit 1
fi
say "libpython3.11.a defines Py_EMSCRIPTEN_SIGNAL_HANDLING"

# built-in extension modules (all static on Emscripten)
sed -n 's/^ *{"\([A-Za-z0-9_.]*\)", *PyInit_.*/\1/p' "$BLD/Modules/config.c" | sort >"$STAGE/lib/kite-builtin-modules.txt"

SYSCONFIGDATA=$(find "$BLD/build" -name '_sysconfigdata_*.py' -print -quit)
[[ -n $SYSCONFIGDATA ]] || { say "no _sysconfigdata_*.py in $BLD/build"; exit 1; }

say "stdlib sources -> lib/python3.11, pyc bundle -> kite-stdlib.zip"
mkdir -p "$STAGE/lib/python3.11"
(cd "$SRC/Lib" && tar -cf - --exclude=__pycache__ --exclude=test --exclude=tests --exclude=idle_test \
  --exclude=site-packages . ) | tar -xf - -C "$STAGE/lib/python3.11"
cp "$SYSCONFIGDATA" "$STAGE/lib/python3.11/"
run stdlib "$BUILDPY" -I "$HERE/make_stdlib_zip.py" "$SRC/Lib" "$SYSCONFIGDATA" "$STAGE/kite-stdlib.zip"
tail -n 1 "$LOGS/stdlib.log" | sed 's/^/  /' >&2

{
  echo "CPython $PY_VERSION for wasm32-emscripten, built $(date -u +%FT%TZ) by wasm/cpython/build.sh ($KEY)"
  echo "emcc: $(emcc --version 2>/dev/null | head -1)"
  echo "patches: $(cd "$HERE/patches" && echo *.patch)"
} >"$STAGE/kite-build-info.txt"

cp -r "$LOGS" "$STAGE/build-logs"
rm -rf "$PREFIX"
# the paths in kite-link-libs.txt already name the final prefix
mv "$STAGE" "$PREFIX"
date -u +%FT%TZ >"$PREFIX/.kite-stamp"
if [[ ${KITE_KEEP_WORK:-0} != 1 ]]; then
  rm -rf "$WORK"   # several hundred MB; KITE_KEEP_WORK=1 keeps it for debugging
fi

say "built-in extension modules: $(tr '\n' ' ' <"$PREFIX/lib/kite-builtin-modules.txt")"
say "stdlib zip: $(du -h "$PREFIX/kite-stdlib.zip" | cut -f1) ($(stat -c %s "$PREFIX/kite-stdlib.zip") bytes)"
say "link libs: $(tr '\n' ' ' <"$PREFIX/lib/kite-link-libs.txt")"
say "done in $((SECONDS - T0)) s (build logs in $PREFIX/build-logs)"
echo "$PREFIX"
