// Interrupts through posix_interrupts: SIGINT from another thread (signal mode, as a client
// sends it), and interrupt_request through the core (message mode, the rule on header dates).
#include <chrono>
#include <csignal>
#include <thread>

#include <unistd.h>

#include "harness.hpp"
#include "iso_date.hpp"

using namespace kite;
using namespace kite::test;

namespace {

// Sends SIGINT to the process after `delay`, from another thread.
class delayed_interrupt {
public:
    explicit delayed_interrupt(std::chrono::milliseconds delay)
        : m_thread([delay] {
              std::this_thread::sleep_for(delay);
              kill(getpid(), SIGINT);
          }) {}
    ~delayed_interrupt() { m_thread.join(); }
private:
    std::thread m_thread;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(Interrupts, SleepInterrupted) {
    run("state = 'kept'");
    auto t0 = std::chrono::steady_clock::now();
    json reply;
    {
        delayed_interrupt irq(std::chrono::milliseconds(100));
        reply = run("import time\nprint('sleeping')\ntime.sleep(30)");
    }
    double elapsed = seconds_since(t0);
    EXPECT_EQ(reply["status"], "error");
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt");
    EXPECT_LT(elapsed, 1.0);
    EXPECT_GE(elapsed, 0.09);
    EXPECT_EQ(stream_text("stdout"), "sleeping\n");
    run("state");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "'kept'");
}

TEST(Interrupts, SleepValidation) {
    json r = run("import time\ntime.sleep('x')");
    EXPECT_EQ(r["ename"], "TypeError");
    EXPECT_EQ(r["evalue"], "'str' object cannot be interpreted as an integer");
    r = run("time.sleep(-1)");
    EXPECT_EQ(r["ename"], "ValueError");
    EXPECT_EQ(r["evalue"], "sleep length must be non-negative");
    r = run("time.sleep(float('nan'))");
    EXPECT_EQ(r["ename"], "ValueError");
    auto t0 = std::chrono::steady_clock::now();
    r = run("time.sleep(0.05); time.sleep(0); time.sleep(True)");
    EXPECT_EQ(r["status"], "ok");
    EXPECT_GE(seconds_since(t0), 1.04);
}

TEST(Interrupts, BusyLoopInterrupted) {
    auto t0 = std::chrono::steady_clock::now();
    json reply;
    {
        delayed_interrupt irq(std::chrono::milliseconds(100));
        reply = run("n = 0\nwhile True:\n    n += 1");
    }
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt");
    EXPECT_LT(seconds_since(t0), 1.0);
    run("n > 0");
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "True");
}

TEST(Interrupts, CustomHandlerCalledAndSleepResumes) {
    run("import signal, time\nhits = []\nsignal.signal(signal.SIGINT, lambda s, f: hits.append(s))");
    auto t0 = std::chrono::steady_clock::now();
    json reply;
    {
        delayed_interrupt irq(std::chrono::milliseconds(100));
        reply = run("time.sleep(0.4)\nlen(hits)");
    }
    double elapsed = seconds_since(t0);
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "1");
    EXPECT_GE(elapsed, 0.39);  // PEP 475: the handler returned, the sleep went on
    EXPECT_LT(elapsed, 1.0);
}

TEST(Interrupts, SigIgnHonoured) {
    run("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)");
    json reply;
    {
        delayed_interrupt irq(std::chrono::milliseconds(50));
        reply = run("time.sleep(0.2)\n'survived'");
    }
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "'survived'");
    run("signal.signal(signal.SIGINT, signal.default_int_handler)");
}

TEST(Interrupts, IdleSignalDoesNotLeak) {
    run("x = 1");
    kill(getpid(), SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    json reply = run("for i in range(100000): pass\nx + 1");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "2");
    // And the next interrupt still works.
    {
        delayed_interrupt irq(std::chrono::milliseconds(50));
        reply = run("import time\ntime.sleep(5)");
    }
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt");
}

TEST(Interrupts, SleepWithoutSignalIsNotBusy) {
    auto cpu0 = std::clock();
    run("import time\ntime.sleep(0.3)");
    double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    EXPECT_LT(cpu, 0.1);
}

// --- message mode: interrupt_request on control, aimed by header.date ---

namespace {

json control_interrupt(const std::string& date = "") {
    message m = request("interrupt_request", json::object(), "control", date);
    the_kernel().core.handle(m);
    return reply_to(m).content;
}

message execute_request(const std::string& code, const std::string& date = "") {
    return request("execute_request", {{"code", code}, {"stop_on_error", false}}, "shell", date);
}

}  // namespace

TEST(InterruptRequest, RepliesOkAndStopsTheRunningCell) {
    run("state = 'kept'");
    json reply;
    std::thread control([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        control_interrupt();
    });
    reply = handle(execute_request("import time\ntime.sleep(30)"));
    control.join();
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt") << reply.dump();
}

TEST(InterruptRequest, SentAfterTheCellButHandledFirstStopsIt) {
    // The execute_request (shell) and the interrupt_request (control) cross: the interrupt is
    // handled first, while idle, but it was sent after the cell, so the cell gets it.
    message cell = execute_request("import time\ntime.sleep(5)", iso_date());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_EQ(control_interrupt()["status"], "ok");
    auto t0 = std::chrono::steady_clock::now();
    json reply = handle(cell);
    EXPECT_EQ(reply["ename"], "KeyboardInterrupt") << reply.dump();
    EXPECT_LT(seconds_since(t0), 1.0);
}

TEST(InterruptRequest, WhileIdleDoesNotReachALaterCell) {
    run("x = 1");
    EXPECT_EQ(control_interrupt()["status"], "ok");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    json reply = run("import time\ntime.sleep(0.1)\nx + 1");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(of_type("execute_result")[0]["data"]["text/plain"], "2");
}

TEST(InterruptRequest, NeverReachesACompletion) {
    run("abc_value = 1");
    message cell = execute_request("1", iso_date(-1000000));  // sent before the interrupt
    control_interrupt();
    // A completion that runs between the interrupt and the cell: no KeyboardInterrupt there.
    json r = handle(request("complete_request", {{"code", "abc_"}, {"cursor_pos", 4}}));
    EXPECT_EQ(r["status"], "ok") << r.dump();
    EXPECT_EQ(handle(cell)["status"], "error");  // the stale-dated cell still gets it
    EXPECT_EQ(run("abc_value")["status"], "ok");
}

TEST(InterruptRequest, ParseDate) {
    auto us = [](const char* s) { return parse_iso_date(s); };
    ASSERT_TRUE(us("1970-01-01T00:00:00Z"));
    EXPECT_EQ(*us("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(*us("1970-01-01T00:00:01.5Z"), 1500000);
    EXPECT_EQ(*us("1970-01-01T01:00:00+01:00"), 0);
    EXPECT_EQ(*us("1970-01-01T00:00:00.000001+00:00"), 1);
    EXPECT_EQ(*us("1970-01-01 00:00:00.1234567"), 123456);
    EXPECT_EQ(*us("2026-12-01T10:22:30.123456Z") - *us("2026-12-01T10:22:30.123455Z"), 1);
    EXPECT_EQ(*us("2026-12-01T10:22:30.123456Z"), *us("2026-12-01T11:22:30.123456+01:00"));
    EXPECT_FALSE(us(""));
    EXPECT_FALSE(us("yesterday"));
    EXPECT_FALSE(us("2026-13-01T10:22:30Z"));
    EXPECT_FALSE(us("2026-12-01T10:22:30Zjunk"));
}
