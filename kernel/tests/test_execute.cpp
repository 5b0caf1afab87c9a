// execute_request: results, streams, display, errors, input.
#include <chrono>
#include <thread>

#include "harness.hpp"

using namespace kite;
using namespace kite::test;

TEST(Execute, ExpressionResult) {
    json reply = run("x = 40\nx + 2");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(reply["execution_count"], 1);
    EXPECT_EQ(reply["payload"], json::array());
    EXPECT_EQ(reply["user_expressions"], json::object());
    auto results = of_type("execute_result");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0]["data"]["text/plain"], "42");
    EXPECT_EQ(results[0]["execution_count"], 1);
    EXPECT_EQ(results[0]["metadata"], json::object());
}

TEST(Execute, SemicolonSuppressesResult) {
    EXPECT_EQ(run("1 + 1;")["status"], "ok");
    EXPECT_TRUE(of_type("execute_result").empty());
    EXPECT_EQ(run("1 + 1;  # a comment")["status"], "ok");
    EXPECT_TRUE(of_type("execute_result").empty());
    run("'a;b'");
    ASSERT_EQ(of_type("execute_result").size(), 1u);
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "'a;b'");
}

TEST(Execute, NoneAndStatementsGiveNoResult) {
    run("None");
    EXPECT_TRUE(of_type("execute_result").empty());
    run("y = 3");
    EXPECT_TRUE(of_type("execute_result").empty());
}

TEST(Execute, CountsHistoryVariables) {
    EXPECT_EQ(run("10")["execution_count"], 1);
    EXPECT_EQ(run("1/0")["execution_count"], 2);  // errors count too, like ipykernel
    EXPECT_EQ(run("20", true)["execution_count"], 2);  // silent: no increment
    EXPECT_EQ(run("30", false, false)["execution_count"], 2);  // store_history false
    json reply = run("(_, _1, Out[1], In[2], _i1, len(In))");
    EXPECT_EQ(reply["execution_count"], 3);
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "(10, 10, 10, '1/0', '10', 4)");
    run("_");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"],
              "(10, 10, 10, '1/0', '10', 4)");
}

TEST(Execute, SilentPublishesNoResultButStreams) {
    json reply = run("print('hi')\n5", true);
    EXPECT_EQ(reply["status"], "ok");
    EXPECT_TRUE(of_type("execute_result").empty());
    EXPECT_EQ(stream_text("stdout"), "hi\n");
}

TEST(Execute, MainNamespacePersists) {
    run("def f(a):\n    return a * 2\nimport __main__");
    json reply = run("f(21), __name__, __main__.f is f");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "(42, '__main__', True)");
}

TEST(Execute, PrettyContainers) {
    run("{'b': 1, 'a': 2}");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "{'b': 1, 'a': 2}");
    run("list(range(40))");
    std::string text = of_type("execute_result")[0]["data"]["text/plain"];
    EXPECT_NE(text.find("0,\n 1,"), std::string::npos) << text;
}

TEST(Execute, TopLevelAwait) {
    json reply = run("import asyncio\nasync def g():\n    await asyncio.sleep(0)\n    return 7\nawait g()");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "7");
}

TEST(Execute, UserExpressions) {
    run("a = 5");
    json reply = run("b = 6", false, true, {{"sum", "a + b"}, {"bad", "nope"}, {"html", "__import__('kite.display').display.HTML('<b>x</b>')"}});
    ASSERT_EQ(reply["status"], "ok");
    auto& ue = reply["user_expressions"];
    EXPECT_EQ(ue["sum"]["status"], "ok");
    EXPECT_EQ(ue["sum"]["data"]["text/plain"], "11");
    EXPECT_EQ(ue["sum"]["metadata"], json::object());
    EXPECT_EQ(ue["bad"]["status"], "error");
    EXPECT_EQ(ue["bad"]["ename"], "NameError");
    EXPECT_TRUE(ue["bad"]["traceback"].is_array());
    EXPECT_EQ(ue["html"]["data"]["text/html"], "<b>x</b>");
}

// --- streams ---

TEST(Streams, OrderAndBatching) {
    json reply = run(
        "import sys\n"
        "print('a')\n"               // leading edge: published at once
        "for i in range(1000): print(i)\n"  // batched
        "print('err', file=sys.stderr)\n"
        "print('b')\n"
        "display('shown')\n"         // flushes before
        "print('c')\n"
        "1");
    ASSERT_EQ(reply["status"], "ok");
    std::vector<std::string> seq;
    std::string all;
    for (auto& m : the_kernel().out.messages) {
        if (m.msg_type == "stream") {
            seq.push_back(m.content["name"].get<std::string>());
            all += m.content["text"].get<std::string>();
        } else {
            seq.push_back(m.msg_type);
        }
    }
    // Far fewer messages than prints, and everything in order.
    EXPECT_LT(seq.size(), 20u);
    std::string expected = "a\n";
    for (int i = 0; i < 1000; ++i) expected += std::to_string(i) + "\n";
    expected += "err\nb\nc\n";
    EXPECT_EQ(all, expected);
    EXPECT_EQ(seq.front(), "stdout");
    EXPECT_EQ(seq.back(), "execute_result");
    auto pos = [&](const std::string& t) { return std::find(seq.begin(), seq.end(), t) - seq.begin(); };
    EXPECT_LT(pos("stderr"), pos("display_data"));
    auto texts = of_type("stream");
    EXPECT_EQ(texts.back()["text"], "c\n");  // after the display, before the result
    EXPECT_EQ(of_type("display_data")[0]["data"]["text/plain"], "'shown'");
}

TEST(Streams, LeadingEdgeBeforeLongWork) {
    // The first print goes out before the loop runs, not at the end.
    run("import time\nprint('start')\nt = time.monotonic()\nwhile time.monotonic() - t < 0.2: pass\nprint('end')");
    auto streams = of_type("stream");
    ASSERT_GE(streams.size(), 2u);
    EXPECT_EQ(streams[0]["text"], "start\n");
}

TEST(Streams, LargeOutputSplitsAt64KiB) {
    run("import sys\nfor i in range(20): sys.stdout.write('x' * 10000)");
    auto streams = of_type("stream");
    size_t total = 0;
    for (auto& s : streams) {
        total += s["text"].get<std::string>().size();
        EXPECT_LE(s["text"].get<std::string>().size(), 64u * 1024 + 10000);
    }
    EXPECT_EQ(total, 200000u);
    EXPECT_GE(streams.size(), 3u);
}

TEST(Streams, SleepFlushesFirst) {
    run("import time\nprint('x')\nprint('y')\ntime.sleep(0.01)\nprint('z')");
    auto streams = of_type("stream");
    std::string all;
    for (auto& s : streams) all += s["text"].get<std::string>();
    EXPECT_EQ(all, "x\ny\nz\n");
    ASSERT_GE(streams.size(), 2u);
    EXPECT_EQ(streams.back()["text"], "z\n");
}

TEST(Streams, DunderStdoutDoesNotCrash) {
    json reply = run("import sys\nsys.__stdout__.write('')\nsys.__stderr__.write('')\nsys.stdout.isatty(), sys.stdout.writable()");
    EXPECT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "(False, True)");
}

// --- display ---

TEST(Display, MimeBundlesAndMetadata) {
    json reply = run(
        "class R:\n"
        "    def _repr_html_(self): return '<i>r</i>'\n"
        "    def _repr_png_(self): return b'\\x89PNG', {'width': 3}\n"
        "    def _repr_json_(self): return {'k': [1, 2]}\n"
        "    def _repr_markdown_(self): return None\n"
        "    def __repr__(self): return 'R()'\n"
        "R()");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    json data = of_type("execute_result")[0]["data"];
    EXPECT_EQ(data["text/html"], "<i>r</i>");
    EXPECT_EQ(data["image/png"], "iVBORw==");
    EXPECT_EQ(data["application/json"], json({{"k", {1, 2}}}));
    EXPECT_EQ(data["text/plain"], "R()");
    EXPECT_FALSE(data.contains("text/markdown"));
    EXPECT_EQ(of_type("execute_result")[0]["metadata"]["image/png"]["width"], 3);
}

TEST(Display, ReprMimebundleWithIncludeExclude) {
    run("class M:\n"
        "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        return {'text/html': '<b>m</b>', 'text/plain': 'M!'}, {'text/html': {'isolated': True}}\n"
        "display(M())\ndisplay(M(), exclude=['text/html'])");
    auto d = of_type("display_data");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0]["data"]["text/plain"], "M!");
    EXPECT_EQ(d[0]["data"]["text/html"], "<b>m</b>");
    EXPECT_EQ(d[0]["metadata"]["text/html"]["isolated"], true);
    EXPECT_FALSE(d[1]["data"].contains("text/html"));
    EXPECT_EQ(d[0]["transient"], json::object());
}

TEST(Display, BrokenReprKeepsOtherOutput) {
    json reply = run(
        "class B:\n"
        "    def _repr_html_(self): raise ValueError('boom')\n"
        "    def _repr_markdown_(self): return '*ok*'\n"
        "print('before')\n"
        "display(B())\n"
        "print('after')");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    auto d = of_type("display_data");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_FALSE(d[0]["data"].contains("text/html"));
    EXPECT_EQ(d[0]["data"]["text/markdown"], "*ok*");
    std::string err = stream_text("stderr");
    EXPECT_NE(err.find("_repr_html_"), std::string::npos) << err;
    EXPECT_NE(err.find("boom"), std::string::npos) << err;
    EXPECT_EQ(stream_text("stdout"), "before\nafter\n");
}

TEST(Display, BrokenPlainRepr) {
    json reply = run("class C:\n    def __repr__(self): raise RuntimeError('no repr')\nC()");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    std::string plain = of_type("execute_result")[0]["data"]["text/plain"];
    EXPECT_NE(plain.find("C object at"), std::string::npos) << plain;
    EXPECT_NE(stream_text("stderr").find("no repr"), std::string::npos);
}

TEST(Display, HandlesUpdateAndClear) {
    json reply = run(
        "from IPython.display import update_display, clear_output\n"
        "h = display('one', display_id=True)\n"
        "h.update('two')\n"
        "display('x', display_id='fixed')\n"
        "update_display('y', display_id='fixed')\n"
        "h.display('three')\n"
        "clear_output(wait=True)\n"
        "type(h).__name__");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    std::vector<std::string> expected = {"display_data", "update_display_data", "display_data",
                                         "update_display_data", "display_data", "clear_output",
                                         "execute_result"};
    EXPECT_EQ(types(), expected);
    auto& msgs = the_kernel().out.messages;
    std::string id = msgs[0].content["transient"]["display_id"];
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(msgs[1].content["transient"]["display_id"], id);
    EXPECT_EQ(msgs[1].content["data"]["text/plain"], "'two'");
    EXPECT_EQ(msgs[2].content["transient"]["display_id"], "fixed");
    EXPECT_EQ(msgs[3].content["data"]["text/plain"], "'y'");
    EXPECT_EQ(msgs[4].content["transient"]["display_id"], id);
    EXPECT_EQ(msgs[5].content["wait"], true);
    EXPECT_EQ(msgs[6].content["data"]["text/plain"], "'DisplayHandle'");
}

TEST(Display, RichClassesAndIPythonShim) {
    json reply = run(
        "from IPython.display import display, HTML, Markdown, SVG, JSON, Latex, Image, clear_output\n"
        "import IPython\n"
        "display(HTML('<p>h</p>'), Markdown('# m'), SVG('<svg/>'), Latex('$x$'), JSON({'a': 1}))\n"
        "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\nrest', width=10))\n"
        "display({'text/plain': 'raw!', 'text/html': '<u>raw</u>'}, raw=True)\n"
        "type(IPython.get_ipython()).__name__");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    auto d = of_type("display_data");
    ASSERT_EQ(d.size(), 7u);
    EXPECT_EQ(d[0]["data"]["text/html"], "<p>h</p>");
    EXPECT_EQ(d[1]["data"]["text/markdown"], "# m");
    EXPECT_EQ(d[2]["data"]["image/svg+xml"], "<svg/>");
    EXPECT_EQ(d[3]["data"]["text/latex"], "$x$");
    EXPECT_EQ(d[4]["data"]["application/json"], json({{"a", 1}}));
    EXPECT_EQ(d[4]["metadata"]["application/json"]["expanded"], false);
    EXPECT_TRUE(d[5]["data"].contains("image/png"));
    EXPECT_EQ(d[5]["metadata"]["image/png"]["width"], 10);
    EXPECT_EQ(d[6]["data"]["text/html"], "<u>raw</u>");
    auto shell = of_type("execute_result");  // get_ipython(): kite's shell, named as ipykernel's
    ASSERT_EQ(shell.size(), 1u);
    EXPECT_EQ(shell[0]["data"]["text/plain"], "'ZMQInteractiveShell'");
}

TEST(Display, KiteDisplayModule) {
    json reply = run("import kite.display as kd\nkd.display is display");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "True");
}

// --- errors ---

TEST(Errors, TracebackHidesKiteFrames) {
    run("def inner():\n    return 1/0\n");
    json reply = run("x = 1\ninner()");
    ASSERT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "ZeroDivisionError");
    EXPECT_EQ(reply["evalue"], "division by zero");
    EXPECT_EQ(reply["execution_count"], 2);
    auto errs = of_type("error");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0]["traceback"], reply["traceback"]);
    std::string tb = joined(reply["traceback"]);
    EXPECT_EQ(tb.find("<kite/"), std::string::npos) << tb;
    EXPECT_EQ(tb.find("runner"), std::string::npos) << tb;
    EXPECT_NE(tb.find("<cell-2>"), std::string::npos) << tb;
    EXPECT_NE(tb.find("<cell-1>"), std::string::npos) << tb;
    EXPECT_NE(tb.find("return 1/0"), std::string::npos) << tb;  // source lines via linecache
    EXPECT_NE(tb.find("inner()"), std::string::npos) << tb;
    EXPECT_EQ(reply["traceback"].back(), "ZeroDivisionError: division by zero");
    EXPECT_EQ(types().back(), "error");
}

TEST(Errors, LibraryFramesBelowUserCodeShown) {
    json reply = run("import json\njson.loads('{bad')");
    ASSERT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "JSONDecodeError");
    std::string tb = joined(reply["traceback"]);
    EXPECT_NE(tb.find("json/decoder.py"), std::string::npos) << tb;
}

TEST(Errors, SyntaxErrorShowsLineAndCaret) {
    json reply = run("a = 1\nx = 1 2\n");
    ASSERT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "SyntaxError");
    std::string tb = joined(reply["traceback"]);
    EXPECT_NE(tb.find("x = 1 2"), std::string::npos) << tb;
    EXPECT_NE(tb.find("^"), std::string::npos) << tb;
    EXPECT_NE(tb.find("line 2"), std::string::npos) << tb;
    EXPECT_EQ(tb.find("kite"), std::string::npos) << tb;
    EXPECT_EQ(reply["execution_count"], 1);
}

TEST(Errors, OutputBeforeErrorIsKept) {
    json reply = run("print('partial')\nraise KeyError('k')");
    EXPECT_EQ(reply["ename"], "KeyError");
    std::vector<std::string> expected = {"stream", "error"};  // one stream: whole lines
    EXPECT_EQ(types(), expected);
}

TEST(Errors, SystemExitDoesNotExit) {
    json reply = run("import sys\nsys.exit(3)");
    EXPECT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "SystemExit");
    EXPECT_EQ(run("1")["status"], "ok");
}

TEST(Errors, ChainedExceptionsHideKiteFrames) {
    json reply = run("try:\n    {}['a']\nexcept KeyError as e:\n    raise ValueError('v') from e");
    std::string tb = joined(reply["traceback"]);
    EXPECT_NE(tb.find("KeyError"), std::string::npos);
    EXPECT_NE(tb.find("direct cause"), std::string::npos);
    EXPECT_EQ(tb.find("<kite/"), std::string::npos) << tb;
}

// --- input ---

TEST(Input, ValueAndPassword) {
    kernel& k = the_kernel();
    k.out.answers = {{"alice\n", 0, true}, {"secret", 0, true}};
    json reply = run("print('x')\nname = input('Name: ')\nimport getpass\npw = getpass.getpass()\n(name, pw)");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "('alice', 'secret')");
    ASSERT_EQ(k.out.prompts.size(), 2u);
    EXPECT_EQ(k.out.prompts[0], std::make_pair(std::string("Name: "), false));
    EXPECT_EQ(k.out.prompts[1], std::make_pair(std::string("Password: "), true));
    EXPECT_EQ(types().front(), "stream");  // flushed before asking
}

TEST(Input, NotAllowed) {
    json reply = run("input('?')", false, true, json::object(), false);
    ASSERT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "StdinNotImplementedError");
    EXPECT_EQ(reply["evalue"], "raw_input was called, but this frontend does not support input requests.");
    EXPECT_TRUE(the_kernel().out.prompts.empty());
}

TEST(Input, HostUnsupported) {
    the_kernel().out.answers = {{"", 0, false}};
    json reply = run("import getpass\ngetpass.getpass()");
    EXPECT_EQ(reply["ename"], "StdinNotImplementedError");
    EXPECT_NE(reply["evalue"].get<std::string>().find("getpass was called"), std::string::npos);
}

TEST(Input, Interrupted) {
    the_kernel().out.answers = {{"", SIGINT, true}};
    json reply = run("x = 1\ny = input()");
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt");
    run("x");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "1");
}

TEST(Input, HandlerReturnsSoAskAgain) {
    the_kernel().out.answers = {{"", SIGINT, true}, {"second", 0, true}};
    json reply = run("import signal\ncalls = []\nsignal.signal(signal.SIGINT, lambda s, f: calls.append(s))\n"
                     "v = input()\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n(v, len(calls))");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "('second', 1)");
    EXPECT_EQ(the_kernel().out.prompts.size(), 2u);
}

TEST(Streams, OtherThreadsOnlyBuffer) {
    json reply = run("import threading\nt = threading.Thread(target=lambda: print('from thread'))\n"
                     "t.start(); t.join()\nprint('main')");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(stream_text("stdout"), "from thread\nmain\n");
}
