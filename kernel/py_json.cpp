#include "py_json.hpp"

#include <cmath>

namespace kite::py {

PyObject* to_python(const std::string& text) {
    return PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
}

PyObject* to_python(const json& value) {
    switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
        Py_RETURN_NONE;
    case json::value_t::boolean:
        return PyBool_FromLong(value.get<bool>());
    case json::value_t::number_integer:
        return PyLong_FromLongLong(value.get<long long>());
    case json::value_t::number_unsigned:
        return PyLong_FromUnsignedLongLong(value.get<unsigned long long>());
    case json::value_t::number_float:
        return PyFloat_FromDouble(value.get<double>());
    case json::value_t::string:
        return to_python(value.get_ref<const std::string&>());
    case json::value_t::binary:
        return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(value.get_binary().data()),
                                         static_cast<Py_ssize_t>(value.get_binary().size()));
    case json::value_t::array: {
        ref list(PyList_New(static_cast<Py_ssize_t>(value.size())));
        if (!list) return nullptr;
        Py_ssize_t i = 0;
        for (const auto& item : value) {
            PyObject* o = to_python(item);
            if (!o) return nullptr;
            PyList_SET_ITEM(list.get(), i++, o);
        }
        return list.release();
    }
    case json::value_t::object: {
        ref dict(PyDict_New());
        if (!dict) return nullptr;
        for (auto it = value.begin(); it != value.end(); ++it) {
            ref v(to_python(it.value()));
            if (!v) return nullptr;
            ref k(to_python(it.key()));
            if (!k || PyDict_SetItem(dict.get(), k.get(), v.get()) < 0) return nullptr;
        }
        return dict.release();
    }
    }
    Py_RETURN_NONE;
}

namespace {

std::string utf8_of(PyObject* str) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(str, &size);
    if (data) return std::string(data, static_cast<size_t>(size));
    PyErr_Clear();  // lone surrogates
    ref bytes(PyUnicode_AsEncodedString(str, "utf-8", "replace"));
    if (!bytes) {
        PyErr_Clear();
        return "?";
    }
    return std::string(PyBytes_AS_STRING(bytes.get()), static_cast<size_t>(PyBytes_GET_SIZE(bytes.get())));
}

std::string str_of(PyObject* obj) {
    ref s(PyObject_Str(obj));
    if (!s) {
        PyErr_Clear();
        return std::string("<unprintable ") + Py_TYPE(obj)->tp_name + " object>";
    }
    return utf8_of(s.get());
}

json convert(PyObject* obj, int depth) {
    if (depth > 200) return "...";
    if (obj == Py_None) return nullptr;
    if (PyBool_Check(obj)) return obj == Py_True;
    if (PyLong_Check(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred())) return v;
        PyErr_Clear();
        unsigned long long u = PyLong_AsUnsignedLongLong(obj);
        if (!PyErr_Occurred()) return u;
        PyErr_Clear();
        return str_of(obj);  // beyond 64 bits: keep every digit
    }
    if (PyFloat_Check(obj)) return PyFloat_AS_DOUBLE(obj);
    if (PyUnicode_Check(obj)) return utf8_of(obj);
    if (PyBytes_Check(obj) || PyByteArray_Check(obj)) {
        ref s(PyObject_CallMethod(obj, "decode", "ss", "utf-8", "replace"));
        if (!s) {
            PyErr_Clear();
            return str_of(obj);
        }
        return utf8_of(s.get());
    }
    if (PyDict_Check(obj)) {
        json out = json::object();
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(obj, &pos, &k, &v)) {
            Py_INCREF(k);
            Py_INCREF(v);  // a str() below may run code that mutates the dict
            ref key(k), val(v);
            out[PyUnicode_Check(k) ? utf8_of(k) : str_of(k)] = convert(v, depth + 1);
        }
        return out;
    }
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        ref seq(PySequence_Fast(obj, ""));
        if (!seq) {
            PyErr_Clear();
            return json::array();
        }
        json out = json::array();
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
        for (Py_ssize_t i = 0; i < n; ++i)
            out.push_back(convert(PySequence_Fast_GET_ITEM(seq.get(), i), depth + 1));
        return out;
    }
    return str_of(obj);
}

}  // namespace

json from_python(PyObject* obj) {
    if (!obj) return nullptr;
    return convert(obj, 0);
}

json fetch_error() {
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    ref t(type), v(value), b(tb);
    json err = {{"ename", "InternalError"}, {"evalue", ""}, {"traceback", json::array()}};
    if (!t) return err;
    ref name(PyObject_GetAttrString(t.get(), "__name__"));
    if (name) err["ename"] = str_of(name.get());
    PyErr_Clear();
    if (v) err["evalue"] = str_of(v.get());
    ref tbmod(PyImport_ImportModule("traceback"));
    if (tbmod) {
        ref lines(PyObject_CallMethod(tbmod.get(), "format_exception", "OOO", t.get(),
                                      v ? v.get() : Py_None, b ? b.get() : Py_None));
        if (lines) {
            ref joined(PyUnicode_Join(ref(PyUnicode_FromString("")).get(), lines.get()));
            if (joined) {
                std::string text = utf8_of(joined.get());
                json tbl = json::array();
                size_t start = 0;
                while (start < text.size()) {
                    size_t nl = text.find('\n', start);
                    if (nl == std::string::npos) nl = text.size();
                    tbl.push_back(text.substr(start, nl - start));
                    start = nl + 1;
                }
                err["traceback"] = tbl;
            }
        }
    }
    PyErr_Clear();
    return err;
}

}  // namespace kite::py
