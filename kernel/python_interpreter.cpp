#include "python_interpreter.hpp"

#include <stdexcept>

#include "kite_module.hpp"
#include "kite_python_sources.hpp"
#include "py_json.hpp"

namespace kite {
namespace {

// Holds the GIL for a scope, whichever thread the host calls from.
class gil_guard {
public:
    gil_guard() : m_state(PyGILState_Ensure()) {}
    ~gil_guard() { PyGILState_Release(m_state); }
    gil_guard(const gil_guard&) = delete;
    gil_guard& operator=(const gil_guard&) = delete;
private:
    PyGILState_STATE m_state;
};

json error_reply(const json& err) {
    return {{"status", "error"},
            {"ename", err.value("ename", "InternalError")},
            {"evalue", err.value("evalue", "")},
            {"traceback", err.value("traceback", json::array())}};
}

void check(PyStatus status, const char* what) {
    if (PyStatus_Exception(status)) {
        std::string msg = std::string("kite: ") + what + ": ";
        if (status.func) msg += std::string(status.func) + ": ";
        msg += status.err_msg ? status.err_msg : "failed";
        throw std::runtime_error(msg);
    }
}

[[noreturn]] void throw_python_error(const std::string& what) {
    json err = py::fetch_error();
    std::string detail;
    for (const auto& line : err["traceback"]) detail += "\n" + line.get<std::string>();
    throw std::runtime_error("kite: " + what + ": " + err["ename"].get<std::string>() + ": " +
                             err["evalue"].get<std::string>() + detail);
}

// Makes `import kite...` find the embedded helper sources: `_kite.sources` maps module names to
// (filename, is_package, source); kite/_importer.py, run here, serves them from sys.meta_path.
void install_embedded_sources() {
    py::ref sources(PyDict_New());
    if (!sources) throw_python_error("cannot create the source table");
    const embedded::python_source* importer = nullptr;
    for (const auto& s : embedded::python_sources) {
        py::ref entry(Py_BuildValue("(sOs)", s.filename, s.is_package ? Py_True : Py_False, s.source));
        if (!entry || PyDict_SetItemString(sources.get(), s.module, entry.get()) < 0)
            throw_python_error(std::string("cannot register ") + s.module);
        if (std::string(s.module) == "kite._importer") importer = &s;
    }
    if (!importer) throw std::runtime_error("kite: kite/_importer.py is not embedded");
    py::ref mod(PyImport_ImportModule("_kite"));
    if (!mod || PyObject_SetAttrString(mod.get(), "sources", sources.get()) < 0)
        throw_python_error("cannot import _kite");
    py::ref globals(PyDict_New());
    py::ref name(PyUnicode_FromString("kite._importer"));
    if (!globals || !name || PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) < 0 ||
        PyDict_SetItemString(globals.get(), "__name__", name.get()) < 0)
        throw_python_error("cannot prepare the importer");
    py::ref code(Py_CompileString(importer->source, importer->filename, Py_file_input));
    if (!code) throw_python_error("cannot compile kite/_importer.py");
    py::ref result(PyEval_EvalCode(code.get(), globals.get(), globals.get()));
    if (!result) throw_python_error("cannot run kite/_importer.py");
}

}  // namespace

python_interpreter::python_interpreter(output_channel& output, interrupt_source& interrupts,
                                       python_config config)
    : interpreter(output, interrupts), m_config(std::move(config)) {}

python_interpreter::~python_interpreter() {
    if (!m_configured || !Py_IsInitialized()) return;
    {
        gil_guard gil;
        if (detail::flush_streams() < 0) PyErr_Clear();
    }
    detail::set_module_host(nullptr, nullptr);
    detail::set_url_fetcher(nullptr);
    detail::set_extension_preloader(nullptr);
}

void python_interpreter::configure_impl() {
    if (m_configured) return;
    if (Py_IsInitialized())
        throw std::logic_error("kite: CPython is already initialised in this process; "
                               "only one python_interpreter can be configured per process");
    detail::set_module_host(&output(), &interrupts());
    detail::set_url_fetcher(m_config.fetcher);
    detail::set_extension_preloader(m_config.preloader);
    if (PyImport_AppendInittab("_kite", &detail::init_kite_module) < 0)
        throw std::runtime_error("kite: cannot register the _kite module");

    // UTF-8 mode: the isolated config under a C/POSIX locale (wasm always, containers often) would
    // otherwise make the filesystem and open() encoding ASCII, so open("é.txt") fails.
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1;
    PyStatus pre = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(pre))
        throw std::runtime_error(std::string("kite: cannot pre-initialise CPython: ") +
                                 (pre.err_msg ? pre.err_msg : "unknown error"));

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    struct clear_config {
        PyConfig* c;
        ~clear_config() { PyConfig_Clear(c); }
    } clear{&config};
    // SIGINT must raise KeyboardInterrupt (default_int_handler), not kill the process.
    config.install_signal_handlers = 1;
    config.use_environment = m_config.use_environment ? 1 : 0;
    config.user_site_directory = 0;
    config.parse_argv = 0;
    if (!m_config.home.empty()) {
        check(PyConfig_SetBytesString(&config, &config.home, m_config.home.c_str()), "home");
    }
#ifdef KITE_NATIVE_PYTHON_EXECUTABLE
    else {
        check(PyConfig_SetBytesString(&config, &config.program_name, KITE_NATIVE_PYTHON_EXECUTABLE),
              "program_name");
    }
#endif
    std::vector<char*> argv;
    static char empty[] = "";
    for (auto& a : m_config.argv) argv.push_back(const_cast<char*>(a.c_str()));
    if (argv.empty()) argv.push_back(empty);
    check(PyConfig_SetBytesArgv(&config, static_cast<Py_ssize_t>(argv.size()), argv.data()), "argv");
    check(Py_InitializeFromConfig(&config), "cannot initialise CPython");

    if (m_config.recursion_limit > 0) Py_SetRecursionLimit(m_config.recursion_limit);
    install_embedded_sources();
    py::ref kernel(PyImport_ImportModule("kite.kernel"));
    if (!kernel) throw_python_error("cannot import kite.kernel");
    py::ref done(PyObject_CallMethod(kernel.get(), "setup", nullptr));
    if (!done) throw_python_error("kite.kernel.setup() failed");
    m_configured = true;
    // From now on every entry point takes the GIL itself (hosts may call from any thread;
    // Python signal handlers still run only on this, the initialising, thread).
    PyEval_SaveThread();
}

json python_interpreter::call_kernel(const char* function, const json& args) {
    if (!m_configured)
        return error_reply({{"ename", "RuntimeError"},
                            {"evalue", "kite: configure() was not called before a request"}});
    gil_guard gil;
    py::ref kernel(PyImport_ImportModule("kite.kernel"));
    py::ref fn(kernel ? PyObject_GetAttrString(kernel.get(), function) : nullptr);
    py::ref pyargs(fn ? py::to_python(args) : nullptr);
    py::ref tuple(pyargs ? PyList_AsTuple(pyargs.get()) : nullptr);
    py::ref result(tuple ? PyObject_Call(fn.get(), tuple.get(), nullptr) : nullptr);
    if (!result) {
        json err = py::fetch_error();
        if (detail::flush_streams() < 0) PyErr_Clear();
        return error_reply(err);
    }
    return py::from_python(result.get());
}

json python_interpreter::execute_request_impl(int execution_count, const std::string& code,
                                              bool silent, bool store_history,
                                              const json& user_expressions, bool allow_stdin) {
    return call_kernel("execute", json::array({code, silent, store_history,
                                               user_expressions.is_object() ? user_expressions : json::object(),
                                               allow_stdin, execution_count}));
}

json python_interpreter::complete_request_impl(const std::string& code, int cursor_pos) {
    return call_kernel("complete", json::array({code, cursor_pos}));
}

json python_interpreter::inspect_request_impl(const std::string& code, int cursor_pos,
                                              int detail_level) {
    return call_kernel("inspect", json::array({code, cursor_pos, detail_level}));
}

json python_interpreter::is_complete_request_impl(const std::string& code) {
    return call_kernel("is_complete", json::array({code}));
}

json python_interpreter::kernel_info_request_impl() {
    return call_kernel("kernel_info", json::array());
}

json python_interpreter::history_request_impl(const json& content) {
    return call_kernel("history", json::array({content}));
}

json python_interpreter::comm_info_request_impl(const json& content) {
    return call_kernel("comm_info", json::array({content}));
}

void python_interpreter::comm_message_impl(const message& msg) {
    if (!m_configured) return;
    gil_guard gil;
    // kite.comm.handle(msg_type, msg) with msg as ipykernel hands it to comm handlers: a dict of
    // header, parent_header, metadata, content and buffers (a list of memoryviews).
    json parts = {{"header", msg.header}, {"parent_header", msg.parent_header},
                  {"metadata", msg.metadata}, {"content", msg.content}};
    py::ref dict(py::to_python(parts));
    py::ref buffers(dict ? PyList_New(0) : nullptr);
    for (const auto& b : msg.buffers) {
        if (!buffers) break;
        py::ref bytes(PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size())));
        py::ref view(bytes ? PyMemoryView_FromObject(bytes.get()) : nullptr);
        if (!view || PyList_Append(buffers.get(), view.get()) < 0) buffers = py::ref();
    }
    py::ref mod(buffers ? PyImport_ImportModule("kite.comm") : nullptr);
    py::ref result;
    if (mod && PyDict_SetItemString(dict.get(), "buffers", buffers.get()) == 0)
        result = py::ref(PyObject_CallMethod(mod.get(), "handle", "sO", msg.msg_type().c_str(), dict.get()));
    if (!result) {
        json err = py::fetch_error();
        output().publish("stream", {{"name", "stderr"},
                                    {"text", "kite: " + msg.msg_type() + " failed: " + err.value("ename", "") +
                                                 ": " + err.value("evalue", "") + "\n"}});
    }
    if (detail::flush_streams() < 0) PyErr_Clear();
}

void python_interpreter::shutdown_request_impl(bool restart) {
    call_kernel("shutdown", json::array({restart}));
}

}  // namespace kite
