// Interrupts through posix_interrupts: SIGINT from another thread, as a host's control channel
// sends it.
#include <chrono>
#include <csignal>
#include <thread>

#include "harness.hpp"

using namespace kite;
using namespace kite::test;

namespace {

// Sends SIGINT to the process after `delay`, from another thread.
class delayed_interrupt {
public:
    explicit delayed_interrupt(std::chrono::milliseconds delay)
        : m_thread([delay] {
              std::this_thread::sleep_for(delay);
              posix_interrupts::interrupt_main();
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
    posix_interrupts::interrupt_main();
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
