// Conversions between nlohmann::json and Python objects, and a small owning reference.
// Internal to the core; call with the GIL held.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>
#include <utility>

#include "host_services.hpp"

namespace kite::py {

// Owns one strong reference.
class ref {
public:
    ref() = default;
    explicit ref(PyObject* p) : m_p(p) {}  // steals
    ref(const ref&) = delete;
    ref& operator=(const ref&) = delete;
    ref(ref&& o) noexcept : m_p(std::exchange(o.m_p, nullptr)) {}
    ref& operator=(ref&& o) noexcept { std::swap(m_p, o.m_p); return *this; }
    ~ref() { Py_XDECREF(m_p); }
    PyObject* get() const { return m_p; }
    PyObject* release() { return std::exchange(m_p, nullptr); }
    explicit operator bool() const { return m_p != nullptr; }
private:
    PyObject* m_p = nullptr;
};

// New reference, or nullptr with a Python exception set.
PyObject* to_python(const json& value);
// UTF-8 text to str; invalid bytes become U+FFFD. New reference or nullptr.
PyObject* to_python(const std::string& text);
// Never fails: objects JSON cannot hold are converted with str(); bytes are decoded as UTF-8
// (with replacement); nesting deeper than 200 levels is cut.
json from_python(PyObject* obj);
// The current Python exception as {ename, evalue, traceback}, clearing it.
json fetch_error();

}  // namespace kite::py
