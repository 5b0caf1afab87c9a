"""Removes from kite.js the JavaScript wrappers Emscripten 3.1.6 writes for every wasm export
(`var _PyList_New=Module["_PyList_New"]=function(){...}`), for the exports that only side modules
use: CPython's C API and the C library functions of main-module-exports.rsp. Side modules do not
need them (the dynamic linker resolves their imports from the wasm exports themselves), and the
~2,400 wrappers made kite.js 4x larger (198 KB -> 839 KB) and its parse ~35 ms slower at every
start. A wrapper that any other code in kite.js names is kept.

    strip_export_wrappers.py kite.js main-module-exports.rsp
"""
import re
import sys


def main():
    js_path, rsp_path = sys.argv[1:3]
    names = [line.split("=", 1)[1].strip() for line in open(rsp_path) if line.startswith("--export=")]
    js = open(js_path, encoding="utf-8").read()
    # every identifier use, counted once over the whole file
    uses = {}
    for m in re.finditer(r"[A-Za-z_$][\w$]*", js):
        uses[m.group()] = uses.get(m.group(), 0) + 1
    def count(text, ident):
        return len(re.findall(r"(?<![\w$])%s(?![\w$])" % re.escape(ident), text))

    removed = 0
    for name in names:
        js_name = "_" + name
        function = ('var %s=Module["%s"]=function(){return(%s=Module["%s"]=Module["asm"]["%s"])'
                    '.apply(null,arguments)};' % (js_name, js_name, js_name, js_name, name))
        data = re.search(r'var %s=Module\["%s"\]=\d+;' % (re.escape(js_name), re.escape(js_name)), js)
        wrapper = function if function in js else data.group() if data else None
        # removable when the wrapper is the only place kite.js names it
        if wrapper and uses.get(js_name, 0) == count(wrapper, js_name):
            js = js.replace(wrapper, "", 1)
            removed += 1
    open(js_path, "w", encoding="utf-8").write(js)
    print("kite.js: removed %d export wrappers only side modules would use" % removed)


if __name__ == "__main__":
    main()
